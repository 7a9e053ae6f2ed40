package dev.skep.election;

import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --quorum majority}: a node is elected only with a majority of the membership (discovered peers and members
 * heard of, itself included) fresh and ready, and promotes itself only once a majority backs it, each node backing
 * one candidate at a time; a leader that no longer surely has a majority following it (for
 * {@link ElectionSettings#leaderLeaseMs()}) steps down and fences its redis; the proxy's writes wait until a
 * majority holds them ({@link #syncReplicas}). Consistency first: the minority side of a partition never leads.
 * Confined to the control thread, as {@link Election} is.
 */
final class MajorityGuard implements LeaderGuard {
    private final ElectionSettings settings;
    private final Election election;
    private final MemberView members;
    private final Outbox out;
    /**
     * The candidate this node backs in the election under way (null: none), and since when. A proposing node names
     * it in its status's {@code leader} field; a candidate promotes only once a majority of the membership backs it.
     * A node backs one candidate at a time and keeps backing it while it is still a live, proposing candidate, for
     * at most a peer timeout and a proposal window: so two candidates cannot both count the same node, as they could
     * if each decided from its own view of a node that was merely proposing: two majorities would overlap, and
     * acknowledged writes could be lost (ElectionSimulationTest, hostile majority schedules).
     */
    private Endpoint backing;
    private long backingSince;
    /** When we last sent a status naming each other candidate as the one we back. */
    private final Map<Endpoint, Long> namedAt = new HashMap<>();
    /** When this node last became leader (the majority that elected it has a lease to confirm it). */
    private long promotedAt;

    MajorityGuard(ElectionSettings settings, Election election, MemberView members, Outbox out) {
        this.settings = settings;
        this.election = election;
        this.members = members;
        this.out = out;
    }

    private static int majorityOf(int n) {
        return n / 2 + 1;
    }

    private int majority() {
        return majorityOf(members.membershipSize());
    }

    /**
     * Late statuses are dropped ({@link MemberView#stale}), only here where it is safe: a node starved of CPU sees
     * every message late and would take the live leader for silent; under a majority it then merely cannot lead,
     * without a majority it would elect itself alone.
     */
    @Override
    public boolean admits(NodeStatus s, long now) {
        return !members.stale(s, now);
    }

    @Override
    public Endpoint named(Endpoint leader, boolean proposing) {
        return proposing ? backing : leader;
    }

    @Override
    public void sending(NodeStatus s, long now) {
        if (s.leader() != null && !s.leader().equals(settings.self())
                && (s.state() == NodeState.PROPOSING || s.state() == NodeState.PROMOTING)) {
            namedAt.put(s.leader(), now);
        }
    }

    /** Not on the minority side of a partition: it must not elect a second master. */
    @Override
    public boolean mayDecide(long now) {
        return members.discoveryAnswered() && members.freshReady(now) >= majority();
    }

    @Override
    public void ranked(Endpoint best, long now) {
        if (backing != null && !backing.equals(best) && backingViable(now)
                && now - backingSince < settings.peerTimeoutMs() + settings.proposalWindowMs()) {
            return; // promised: not to another candidate while this one may still be promoting with our backing
        }
        if (best.equals(backing)) {
            return;
        }
        namedAt.values().removeIf(at -> now - at > backingHeldMs());
        for (Map.Entry<Endpoint, Long> named : namedAt.entrySet()) {
            if (!named.getKey().equals(best)) {
                // A status of ours naming that candidate may still reach it, or sit in its view, and count there: a
                // candidate we stopped hearing may well hear us (a one-way loss). Back nobody until it cannot.
                if (backing != null) {
                    backing = null;
                    out.changed();
                }
                return;
            }
        }
        backing = best;
        backingSince = now;
        out.changed();
    }

    /**
     * How long a candidate may count a status of ours that names it: it counts what it heard in the last heartbeat and
     * a half ({@link #backers}), and hears a status at most a peer timeout later than the fastest (older ones are
     * ignored as stale, {@link MemberView#stale}); half a heartbeat more for the fastest delivery itself.
     */
    private long backingHeldMs() {
        return settings.peerTimeoutMs() + 2 * settings.heartbeatMs();
    }

    private boolean backingViable(long now) {
        if (backing.equals(settings.self())) {
            return election.state() == NodeState.PROPOSING || election.state() == NodeState.PROMOTING;
        }
        Member m = members.get(backing);
        return m != null && members.live(m, now)
                && (m.status().state() == NodeState.PROPOSING || m.status().state() == NodeState.PROMOTING);
    }

    /** A majority must back us, each backing one candidate at a time: two winners cannot both have one. */
    @Override
    public boolean mayPromote(long now) {
        return settings.self().equals(backing) && backers(now) >= majority();
    }

    /** Nodes, itself included, whose latest status (heard within a heartbeat and a half) backs this node. */
    private int backers(long now) {
        int n = 1;
        for (Member m : members.all()) {
            NodeStatus s = m.status();
            if (now - m.heardAt() <= settings.heartbeatMs() * 3 / 2 && settings.self().equals(s.leader())
                    && (s.state() == NodeState.PROPOSING || s.state() == NodeState.PROMOTING)) {
                n++;
            }
        }
        return n;
    }

    @Override
    public boolean mayTakeOver(long now) {
        return members.freshReady(now) >= majority();
    }

    @Override
    public long epochFloor() {
        return 0;
    }

    @Override
    public void promote(Effect.Promote promote, long now) {
        out.add(promote);
    }

    @Override
    public String promotion() {
        return "promoting local redis";
    }

    @Override
    public void promotionAbandoned() {
    }

    @Override
    public void electionOver() {
        backing = null;
    }

    /** A majority fences a leader that steps down, so the fence comes off as soon as it leads. */
    @Override
    public boolean isLeader(long now) {
        promotedAt = now;
        return true;
    }

    @Override
    public StepDown check(long now) {
        int heard = supporters(now);
        int n = members.membershipSize();
        // just promoted: the majority that elected us has not yet said it follows us
        if (heard < majorityOf(n) && now - promotedAt >= settings.leaderLeaseMs()) {
            return new StepDown("only " + heard + " of " + n + " nodes surely follow it, no majority "
                    + "(--quorum majority)", "no majority: clients writing to this redis directly must stop too");
        }
        return null;
    }

    /**
     * Until when {@code m} is known to follow this leader: it last heard us {@code leaderHeardAgoMs} before
     * it sent its status, so it cannot give up on us before {@code peerTimeout} after that, and cannot elect
     * anyone before another half heartbeat. Counted from the arrival, less half a heartbeat for the message's
     * own delay: valid while one-way delays stay under a heartbeat.
     */
    private long supportUntil(Member m) {
        NodeStatus s = m.status();
        if (s.state() != NodeState.FOLLOWING || !settings.self().equals(s.leader()) || s.epoch() != election.epoch()
                || s.leaderHeardAgoMs() < 0) {
            return Long.MIN_VALUE;
        }
        return m.heardAt() - s.leaderHeardAgoMs() + settings.leaderLeaseMs();
    }

    /** Nodes, itself included, that surely still follow this leader at {@code now}. */
    private int supporters(long now) {
        int n = 1;
        for (Member m : members.all()) {
            if (supportUntil(m) > now) {
                n++;
            }
        }
        return n;
    }

    @Override
    public void notLeader(String cause, long now) {
    }

    @Override
    public void tick(long now) {
    }

    @Override
    public boolean batonPassesNow(long offset, long now) {
        return true;
    }

    /** The time by which fewer than a majority would still surely follow this leader. */
    @Override
    public long leaseExpiresAt() {
        if (election.state() != NodeState.LEADING) {
            return Long.MAX_VALUE;
        }
        List<Long> until = new ArrayList<>();
        for (Member m : members.all()) {
            long u = supportUntil(m);
            if (u != Long.MIN_VALUE) {
                until.add(u);
            }
        }
        int needed = majority() - 1; // besides ourselves
        if (needed <= 0) {
            return Long.MAX_VALUE;
        }
        if (until.size() < needed) {
            return Math.max(promotedAt + settings.leaderLeaseMs(), 0);
        }
        until.sort(Comparator.reverseOrder());
        return Math.max(until.get(needed - 1), promotedAt + settings.leaderLeaseMs());
    }

    /** The replicas that must confirm each write for a majority to hold it. */
    @Override
    public int syncReplicas() {
        return majority() - 1;
    }

    @Override
    public void detached(Endpoint lost) {
        out.add(Effect.FenceWrites.fence("detached from lost leader " + lost));
    }
}
