package dev.skep.election;

import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

/**
 * The leader's side of a planned handover (invariant 5), at most one at a time: the leader holds new writes (its
 * topology says so, and so do its followers'), pauses writes on its redis once what was sent has been answered,
 * waits until the successor's redis has everything, then tells the successor (through its status) that it may take
 * over; the successor promotes itself under a new epoch, and the old leader follows it like any deposed leader, then
 * resumes its redis's clients. Past {@code --handover-timeout-ms} it is abandoned and writes resume where they were;
 * once the successor was told, this node must not lead on, and steps down. Under {@code --election lease} the Lease
 * is handed to the successor before it is told. This object holds the handover's state and deadlines and emits its
 * effects; leadership itself changes only in {@link Election}. Pure, and confined to the control thread, as
 * {@link Election} is.
 */
final class Handover {
    private final ElectionSettings settings;
    private final MemberView members;
    private final ReplicaHealth health;
    private final Outbox out;
    /** An agent heard for this long is past its start (JIT, first syncs): successors younger than this rank lower. */
    static final long SETTLED_MS = 10_000;
    /** The successor; null: no handover under way. */
    private Endpoint to;
    private Endpoint successorRedis;
    private long startedAt;
    private long deadline;
    /** -1 while the successor catches up; then our final offset, which the successor has reached (it was told). */
    private long offset = -1;
    /** {@code --election lease}: writes paused at this offset and the successor has it; the Lease is being handed. */
    private long leaseOffset = -1;
    /** The PrepareHandover effect was emitted (after the followers heard that writes are held). */
    private boolean prepared;
    /** Writes stay paused on our redis until it follows a leader (a handover ended after the baton passed). */
    private boolean resumeAfterFollow;

    Handover(ElectionSettings settings, MemberView members, ReplicaHealth health, Outbox out) {
        this.settings = settings;
        this.members = members;
        this.health = health;
        this.out = out;
    }

    boolean underWay() {
        return to != null;
    }

    /** The successor of the handover under way; null when none. */
    Endpoint to() {
        return to;
    }

    /** What a leader's status says of it: -1, or the offset the successor may take over with. */
    long statusOffset() {
        return to != null ? offset : -1;
    }

    /** Whether the handover waits for the successor to catch up (the baton has not passed). */
    private boolean awaitingCatchUp() {
        return to != null && offset < 0;
    }

    /** The successor was told it may take over, or is being handed the Lease: it may lead any moment. */
    boolean passingOn() {
        return offset >= 0 || leaseOffset >= 0;
    }

    /** {@code --election lease}: the Lease is being handed to the successor. */
    boolean handingLease() {
        return leaseOffset >= 0;
    }

    /**
     * Whether {@code a} is a better successor than {@code b} (both in-sync replicas): the one whose agent has been
     * heard the longer, up to {@link #SETTLED_MS}; then the one with more data; then the lower address. A rolling
     * upgrade stops the leader moments after a new pod became ready; that pod's agent is a JVM still warming up,
     * and on a starved node (measured on a real kubelet at a load average of 44 on 2 cores) it fell silent past
     * the peer timeout right after taking over, another node elected itself, and with {@code --quorum none} what
     * the new leader had acknowledged was discarded. A replica that has run for a while is the safer heir.
     */
    private boolean prefer(NodeStatus a, NodeStatus b, long now) {
        long ageA = Math.min(SETTLED_MS, now - members.firstHeard(a.node(), now));
        long ageB = Math.min(SETTLED_MS, now - members.firstHeard(b.node(), now));
        if (ageA != ageB) {
            return ageA > ageB;
        }
        if (a.offset() != b.offset()) {
            return a.offset() > b.offset();
        }
        return a.node().compareTo(b.node()) < 0;
    }

    /**
     * An operator asks this node, leading {@code epoch} (or not: {@code state}), to hand over: to {@code e.to()}, or
     * to the in-sync replica with the most data. Refused unless this node leads, no handover is under way and the
     * successor is an in-sync replica ({@link ReplicaHealth#inSync}).
     */
    void request(ElectionEvent.HandoverRequested e, NodeState state, Endpoint leader, long epoch, RedisSnapshot redis,
            long now) {
        if (state != NodeState.LEADING) {
            refuse("this node does not lead (it is " + state + (leader == null ? "" : ", leader " + leader) + ")");
            return;
        }
        if (to != null) {
            refuse("a handover to " + to + " is already under way");
            return;
        }
        NodeStatus successor = null;
        for (Member m : members.all()) {
            NodeStatus s = m.status();
            boolean inSync = health.inSync(m, epoch, now);
            if (e.to() != null) {
                if (s.node().equals(e.to())) {
                    if (!inSync) {
                        refuse(e.to() + " is not an in-sync replica of this leader (it is " + s.state()
                                + (s.leader() == null ? "" : " of " + s.leader()) + ", epoch " + s.epoch()
                                + (s.epoch() == epoch ? "" : " (ours " + epoch + ")") + ", link "
                                + (s.linkUp() ? "up" : "down") + (s.tainted() ? ", resyncing" : "")
                                + (members.live(m, now) ? "" : ", silent") + ")");
                        return;
                    }
                    successor = s;
                }
            } else if (inSync && (successor == null || prefer(s, successor, now))) {
                successor = s;
            }
        }
        if (successor == null) {
            refuse(e.to() != null ? e.to() + " is not a member of this hive" : "no in-sync replica to hand over to");
            return;
        }
        to = successor.node();
        startedAt = now;
        deadline = now + settings.handoverTimeoutMs();
        offset = -1;
        out.changed();
        successorRedis = successor.redis();
        prepared = false;
        out.record("handover", e.cause() + ": handing over to " + successor.node() + " (offset " + successor.offset()
                + "): new writes held, pausing writes once those sent are answered");
        prepareWhenHeld(redis, now);
    }

    /**
     * Pauses the master once every live follower has heard that writes are held (each says how long ago it
     * last heard us: after the handover began), so that no write port still sends it writes that could only
     * fail once it is paused and demoted; at most a heartbeat after the start, whatever was heard.
     */
    void prepareWhenHeld(RedisSnapshot redis, long now) {
        if (to == null || prepared) {
            return;
        }
        if (now - startedAt < settings.heartbeatMs()) {
            for (Member m : members.all()) {
                NodeStatus s = m.status();
                if (members.live(m, now) && s.state() == NodeState.FOLLOWING && settings.self().equals(s.leader())
                        && (s.leaderHeardAgoMs() < 0 || m.heardAt() - s.leaderHeardAgoMs() < startedAt)) {
                    return; // that follower's write port may not hold writes yet
                }
            }
        }
        prepared = true;
        out.add(new Effect.PrepareHandover(successorRedis, redis == null ? "" : redis.runId(),
                settings.handoverDrainMs(), deadline, "handover to " + to));
    }

    private void refuse(String why) {
        out.record("handover-refused", why);
        out.add(new Effect.HandoverDone(false, why, null, 0, 0));
    }

    /**
     * The outcome of the PrepareHandover effect: writes paused and the successor caught up with our final offset, or
     * not (writes were resumed). A caught-up successor gets the baton when its guard says ({@link
     * LeaderGuard#batonPassesNow}).
     */
    void caughtUp(ElectionEvent.HandoverCaughtUp e, NodeState state, LeaderGuard guard, long now) {
        if (!awaitingCatchUp()) {
            if (e.ok()) {
                out.add(new Effect.ResumeWrites("handover no longer under way")); // abandoned meanwhile
            }
            return;
        }
        if (!e.ok()) {
            end(false, "successor " + to + " did not catch up: " + e.detail(), null, 0, state, now);
            return;
        }
        if (guard.batonPassesNow(e.offset(), now)) {
            passBaton(e.offset());
        }
    }

    /** Tells the successor (through our status) that it may take over: it has everything up to {@code offset}. */
    private void passBaton(long offset) {
        this.offset = offset;
        out.changed();
        out.record("handover", "writes paused at offset " + offset + " and " + to + " has all of it: it may take over");
    }

    /** {@code --election lease}: writes are paused at {@code offset}, which the successor has: the Lease goes first. */
    void handLease(long offset) {
        leaseOffset = offset;
    }

    /** {@code --election lease}: the Lease is the successor's now: it may take over. */
    void leaseHanded() {
        long at = leaseOffset;
        leaseOffset = -1;
        passBaton(at);
    }

    /** {@code --election lease}: the Lease surely stayed ours; the handover ends as if it had never been passed on. */
    void leaseKept() {
        leaseOffset = -1;
    }

    /**
     * A handover whose deadline passed. Before the successor was told it may take over, abandoning is safe.
     * After, it may have promoted itself already, unheard: this node must not lead on, and this returns why it
     * steps down (null: it need not); a normal election (or the successor's announcement) decides. A successor
     * silent for a peer timeout after it was told (its agent stopped too, as when {@code skep up} stops every
     * agent at once) is treated as the deadline passing: waiting longer cannot make it answer, and the outcome is
     * the same.
     */
    String checkDeadline(NodeState state, long now) {
        if (to == null) {
            return null;
        }
        boolean silent = offset >= 0 && !members.isLive(to, now);
        if (now <= deadline && !silent) {
            return null;
        }
        if (offset < 0) {
            if (now > deadline + settings.peerTimeoutMs()) {
                abandon("no answer from the local redis while waiting for " + to, state, now);
            }
            return null; // PrepareHandover reports its own timeout
        }
        Endpoint successor = to;
        end(false, silent ? "successor " + successor + " went silent after it was told to take over"
                : "successor " + successor + " did not take over within " + settings.handoverTimeoutMs() + " ms",
                null, 0, state, now);
        return "handed over to " + successor + ", which " + (silent ? "went silent" : "has not announced itself");
    }

    /** Before the baton passed, a successor gone silent (its agent stopping too) is not waited for. */
    void abandonIfSuccessorSilent(NodeState state, long now) {
        if (to != null && offset < 0 && !members.isLive(to, now)) {
            abandon("successor " + to + " went silent", state, now);
        }
    }

    /**
     * After the baton passed, the successor announces its new epoch while it is still claiming the Lease and
     * promoting: that is the handover going as planned, not a rival leader. This node (writes paused, the Lease
     * handed on) waits until the successor leads, and is then followed, or until the handover's deadline. Under
     * {@code --election lease} the claim may take a round trip or two (a 409 when the successor's view was one
     * version behind), long enough for this status to arrive first (LeaseRealApiServerIT).
     */
    boolean successorTakingOver(long highestEpochSeen) {
        if (to == null || offset < 0) {
            return false;
        }
        // the successor's own status, or that of a node already following it (which may arrive first)
        for (Member m : members.all()) {
            NodeStatus s = m.status();
            if (s.epoch() >= highestEpochSeen && (s.node().equals(to)
                    || (s.state() == NodeState.FOLLOWING && to.equals(s.leader())))) {
                return true;
            }
        }
        return false;
    }

    /** Ends a handover under way, if any. */
    void abandon(String why, NodeState state, long now) {
        if (to != null) {
            end(false, why, null, 0, state, now);
        }
    }

    /**
     * Sets the handover under way aside while this node steps down to follow {@code newLeader}: it ends in
     * {@link #endWith} once the Follow is out, so that writes resume only once our redis replicates the new leader.
     * Returns the successor (null: no handover was under way).
     */
    Endpoint setAside() {
        Endpoint successor = to;
        to = null;
        return successor;
    }

    /** Ends the handover to {@code successor}, set aside, now that this node follows {@code l}. */
    void endWith(Endpoint successor, NodeStatus l, NodeState state, long now) {
        if (successor == null) {
            return;
        }
        to = successor;
        end(l.node().equals(successor), "leader " + l.node() + " of epoch " + l.epoch() + " appeared", l.node(),
                l.epoch(), state, now);
    }

    /**
     * Ends the handover under way. Writes resume on our redis unless the successor may already lead, unheard, and
     * this node does not follow anyone yet: then they resume once it does ({@link #resumeOnFollow}).
     */
    void end(boolean ok, String detail, Endpoint newLeader, long newEpoch, NodeState state, long now) {
        long paused = now - startedAt;
        Endpoint successor = to;
        // once the Lease went to the successor, it may lead any moment: as after the baton passed
        boolean batonPassed = passingOn();
        to = null;
        offset = -1;
        leaseOffset = -1;
        out.changed();
        if (ok || state == NodeState.FOLLOWING || !batonPassed) {
            out.add(new Effect.ResumeWrites(ok ? "following " + newLeader : "handover abandoned"));
        } else {
            // The successor was told it may take over and may lead already, unheard: writes paused on our redis
            // must not run on it as a master; they resume once it follows whoever leads (they then fail there
            // with -READONLY, which a client can retry), or when the pause times out by itself.
            resumeAfterFollow = true;
        }
        if (ok) {
            out.record("handed-over", "handed over to " + newLeader + " (epoch " + newEpoch + "): writes were held "
                    + paused + " ms");
        } else {
            out.record("handover-abandoned", detail + (state == NodeState.LEADING && !batonPassed
                    ? ": writes resume on this master" : ""));
        }
        out.add(new Effect.HandoverDone(ok, ok ? "handed over to " + newLeader + " (epoch " + newEpoch + ")" : detail,
                ok ? newLeader : successor, newEpoch, paused));
    }

    /** This node now follows {@code leader}: writes left paused by a handover that ended resume. */
    void resumeOnFollow(Endpoint leader) {
        if (resumeAfterFollow) {
            resumeAfterFollow = false;
            out.add(new Effect.ResumeWrites("following " + leader + " after a handover"));
        }
    }
}
