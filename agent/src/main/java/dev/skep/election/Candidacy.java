package dev.skep.election;

import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;

import java.util.ArrayList;
import java.util.List;

/**
 * This node's part in an election (invariant 3): its proposal, fixed while it stands so that every node ranks it
 * from the same values (when it started proposing, its offset, its data epoch), the decision, and the promotion it
 * won. Every node decides alike from alike views: once every live ready member has proposed, or the proposal window
 * has passed, it ranks them all ({@link Candidate#BEST_FIRST}) and only the first may promote itself. A member that
 * has not proposed still counts, with its current offset: a node never promotes over a member that has more data, it
 * waits for that member to propose instead. A planned handover's successor is promoted without an election. Pure,
 * and confined to the control thread, as {@link Election} is.
 */
final class Candidacy {
    private final ElectionSettings settings;
    private final MemberView members;
    private final LocalData data;
    private final LeaderGuard guard;
    private final Outbox out;
    /** When this node started proposing (the earlier start wins at equal data). */
    private long since;
    private long offset;
    /**
     * The data epoch this node proposed with: fixed for the proposal, as its offset is, so that every node ranks
     * it from the same value (learning a higher one meanwhile, from a peer's status, must not make two winners).
     */
    private long dataEpoch;
    /** The epoch of the promotion won, and the least offset it needs (a handover's final offset). */
    private long pendingEpoch;
    private long minOffset;
    /** Our redis's offset when it became master of the epoch we lead (told to peers while leading). */
    private long masterSinceOffset;

    Candidacy(ElectionSettings settings, MemberView members, LocalData data, LeaderGuard guard, Outbox out) {
        this.settings = settings;
        this.members = members;
        this.data = data;
        this.guard = guard;
        this.out = out;
    }

    long pendingEpoch() {
        return pendingEpoch;
    }

    long masterSinceOffset() {
        return masterSinceOffset;
    }

    /** The promotion won was confirmed: our redis ({@code local}, as last probed) is the master of that epoch. */
    void promoted(RedisSnapshot local) {
        masterSinceOffset = Math.max(minOffset, local == null ? 0 : local.replOffset());
    }

    long since() {
        return since;
    }

    long offset() {
        return offset;
    }

    long dataEpoch() {
        return dataEpoch;
    }

    /** Proposes from {@code now} with the local redis's {@code offset} and its data epoch. */
    void propose(long now, long offset) {
        this.since = now;
        this.offset = offset;
        this.dataEpoch = data.epoch();
    }

    /**
     * The epoch of the next leadership, past {@code heard} (the highest this node heard of). The wall clock keeps
     * epochs increasing even when every agent that knew the last one restarted (agents keep no disk state); one more
     * than the highest heard keeps them increasing under skew.
     */
    private long nextEpoch(long heard, long now) {
        return Math.max(Math.max(heard, guard.epochFloor()) + 1, now);
    }

    /**
     * A planned handover's successor: {@code from}, its leader, hands over and our redis ({@code local}) has its data.
     * Returns the promotion to the next epoch; what our status shows meanwhile is the data we take over with.
     */
    Effect.Promote takeOver(NodeStatus from, RedisSnapshot local, long heard, long now) {
        long epoch = nextEpoch(heard, now);
        pendingEpoch = epoch;
        minOffset = from.handoverOffset();
        offset = Math.max(from.handoverOffset(), local.replOffset());
        dataEpoch = data.epoch();
        out.record("election", "leader " + from.node() + " hands over at offset " + from.handoverOffset()
                + ": promoting local redis for epoch " + epoch);
        return new Effect.Promote(epoch, local.runId(), from.handoverOffset(), "handover from " + from.node()
                + " for epoch " + epoch);
    }

    /**
     * The local redis now holds {@code offset}: below the proposal, its data was replaced (a full sync); above it
     * ({@code mayRise}, while proposing), it still replicates a master that takes writes, writes a leader we do not
     * hear may have acknowledged with our redis's confirmation (WAIT counts it). Either way we propose what it has;
     * with more, as a new proposal from {@code now}, as for {@link #newerData}: a node that ranked our old one may have
     * decided already, and we wait to hear it. Returns whether the proposal changed.
     */
    boolean track(long offset, boolean mayRise, long now) {
        if (offset == this.offset || (offset > this.offset && !mayRise)) {
            return false;
        }
        if (offset > this.offset) {
            since = now;
        }
        this.offset = offset;
        return true;
    }

    /**
     * Learnt (from a peer) that our data is newer than we proposed it as: propose again, so that every node ranks
     * the new value from then on, rather than decide on the old one.
     */
    void newerData(long now) {
        if (data.epoch() > dataEpoch) {
            dataEpoch = data.epoch();
            since = now;
        }
    }

    /**
     * The promotion of our redis ({@code local}) to the next epoch when this node has won the election at {@code now};
     * null while it has not (yet).
     */
    Effect.Promote decide(long now, RedisSnapshot local, long heard) {
        int ranked = won(now);
        if (ranked == 0) {
            return null;
        }
        long epoch = nextEpoch(heard, now);
        pendingEpoch = epoch;
        minOffset = offset;
        out.record("election", "won the election for epoch " + epoch + " among " + ranked + " ready node(s) (offset "
                + offset + "): " + guard.promotion());
        return new Effect.Promote(epoch, local.runId(), offset, "won the election for epoch " + epoch);
    }

    /**
     * Whether this node won the election at {@code now}: ranked first among the live ready members, and allowed to
     * promote itself by its guard. Returns how many nodes were ranked, 0 when it did not win (yet).
     */
    private int won(long now) {
        List<Candidate> pool = new ArrayList<>();
        pool.add(new Candidate(settings.self(), data.tainted(), dataEpoch, offset, since));
        boolean everyoneProposed = true;
        // Whether every proposal in the pool, ours included, is younger than the proposal window by a heartbeat and
        // of our data epoch: then the decision needs no wait (below).
        long youngFor = settings.proposalWindowMs() - settings.heartbeatMs();
        boolean freshProposals = now - since <= youngFor;
        for (Member m : members.all()) {
            NodeStatus s = m.status();
            if (!members.live(m, now) || s.state() == NodeState.NOT_READY) {
                continue;
            }
            if (s.state() == NodeState.PROMOTING) {
                return 0; // someone has decided already: wait for its announcement
            }
            if (s.redisRunId().isEmpty()) {
                // A member that just started and has not yet told us what its redis holds: it may hold
                // the most data. Bounded: its first probe answers, or its failures make it NOT_READY.
                return 0;
            }
            if (s.state() == NodeState.FOLLOWING) {
                // A live peer still hears a leader we do not (yet): a node that just (re)started and whose
                // first messages are slow, or a one-way loss. Electing now would make a second leader.
                return 0;
            }
            if (s.dataEpoch() == 0 && s.offset() > 0 && !s.replId().isEmpty() && data.names(s.replId())
                    && now - members.firstHeard(s.node(), now) < settings.proposalWindowMs()) {
                // Its agent does not know yet which epoch its data is from (it restarted), but we do: it learns from
                // the statuses of those whose redis carries the same history. Ranked now, its data would count as
                // older than it is. Bounded: when nobody carries that history any more, it never learns.
                return 0;
            }
            everyoneProposed &= s.state() == NodeState.PROPOSING;
            Candidate c = Candidate.of(s, data.knownEpoch(s));
            // a proposal of another data epoch than ours may be about to change: its agent may still be learning
            // which epoch its redis's data is from (reliable schedule 28571752 of 5000: decided on the older one)
            freshProposals &= proposingFor(m, now) <= youngFor && c.dataEpoch() == dataEpoch;
            pool.add(c);
        }
        if (!everyoneProposed && now - since < settings.proposalWindowMs()) {
            return 0;
        }
        if (!(everyoneProposed && freshProposals && members.knowsOthers()) && now - since < settings.heartbeatMs() / 2) {
            // Deciding on every live ready member's proposal needs no wait (when there are others to hear from at
            // all: discovery may not have answered yet, and all proposals are of our data epoch): every node that
            // ranks the same proposals picks the same winner, and none of them can have decided without ours (it
            // waits for every proposal, or for the proposal window, which none of these is near the end of). Otherwise
            // let our proposal reach the others, and statuses already in flight (a PROMOTING peer that decided at
            // the end of its window, from a view in which we had not proposed) reach us: nodes decide alike only
            // from alike views.
            return 0;
        }
        if (members.unheardPeer(now) != null) {
            return 0;
        }
        if (pool.size() == 1 && members.young(now) && members.knowsOthers()) {
            // A young agent never elects itself alone while it knows of other nodes: a restarted agent whose
            // cold JVM falls behind its messages takes the live leader for silent, and its newer epoch would
            // discard that leader's writes.
            return 0;
        }
        if (!guard.mayDecide(now)) {
            return 0;
        }
        pool.sort(Candidate.BEST_FIRST);
        guard.ranked(pool.get(0).node(), now);
        if (!pool.get(0).node().equals(settings.self()) || (data.tainted() && someoneKnownHasMoreData())) {
            return 0;
        }
        return guard.mayPromote(now) ? pool.size() : 0;
    }

    /**
     * How long member {@code m} has been proposing, as far as its last status tells: how long before sending it had
     * proposed (both on its clock, so skew cancels out) plus how long ago it arrived (on ours), the transit aside.
     */
    private static long proposingFor(Member m, long now) {
        NodeStatus s = m.status();
        return Math.max(0, s.sentAtMillis() - s.since()) + Math.max(0, now - m.heardAt());
    }

    /**
     * Invariant 2 when we cannot hear everyone: a restarted redis waits for any member still remembered
     * (not purged) that reported more data, rather than lead with less; it is forgotten after
     * {@link ElectionSettings#purgeAfterMs()}.
     */
    private boolean someoneKnownHasMoreData() {
        for (Member m : members.all()) {
            if (!m.status().tainted() && m.status().offset() > offset) {
                return true;
            }
        }
        return false;
    }
}
