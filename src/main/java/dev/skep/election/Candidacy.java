package dev.skep.election;

import java.util.ArrayList;
import java.util.List;

/**
 * This node's part in an election (invariant 3): its proposal, fixed while it stands so that every node ranks it
 * from the same values (when it started proposing, its offset, its data epoch), and the decision. Every node
 * decides alike from alike views: once every live ready member has proposed, or the proposal window has passed, it
 * ranks them all ({@link Candidate#BEST_FIRST}) and only the first may promote itself. A member that has not
 * proposed still counts, with its current offset: a node never promotes over a member that has more data, it waits
 * for that member to propose instead. Pure, and confined to the control thread, as {@link Election} is.
 */
final class Candidacy {
    private final ElectionSettings settings;
    private final MemberView members;
    private final LocalData data;
    private final LeaderGuard guard;
    /** When this node started proposing (the earlier start wins at equal data). */
    private long since;
    private long offset;
    /**
     * The data epoch this node proposed with: fixed for the proposal, as its offset is, so that every node ranks
     * it from the same value (learning a higher one meanwhile, from a peer's status, must not make two winners).
     */
    private long dataEpoch;

    Candidacy(ElectionSettings settings, MemberView members, LocalData data, LeaderGuard guard) {
        this.settings = settings;
        this.members = members;
        this.data = data;
        this.guard = guard;
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

    /** A handover's successor: what its status shows while promoting is the data it takes over with. */
    void takeOver(long offset) {
        this.offset = offset;
        this.dataEpoch = data.epoch();
    }

    /** The local redis's data was replaced (a full sync) and is below the proposal: propose what it has. */
    boolean lower(long offset) {
        if (offset >= this.offset) {
            return false;
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
     * Whether this node won the election at {@code now}: ranked first among the live ready members, and allowed to
     * promote itself by its guard. Returns how many nodes were ranked, 0 when it did not win (yet).
     */
    int won(long now) {
        if (now - since < settings.heartbeatMs() / 2) {
            // Let our proposal reach the others, and statuses already in flight (a PROMOTING peer) reach
            // us, before deciding: nodes decide alike only from alike views.
            return 0;
        }
        List<Candidate> pool = new ArrayList<>();
        pool.add(new Candidate(settings.self(), data.tainted(), dataEpoch, offset, since));
        boolean everyoneProposed = true;
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
            pool.add(Candidate.of(s, data.knownEpoch(s)));
        }
        if (!everyoneProposed && now - since < settings.proposalWindowMs()) {
            return 0;
        }
        if (members.unheardPeer(now) != null) {
            return 0;
        }
        if (pool.size() == 1 && members.young(now) && members.knowsOthers()) {
            // A young agent never elects itself alone while it knows of other nodes: a restarted agent whose
            // cold JVM falls behind its messages takes the live leader for silent, and its newer epoch would
            // discard that leader's writes (seen in bench/chaos: 161 148 bytes in a handover round).
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
