package dev.skep.election;

import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.Comparator;

/**
 * One node as the election ranks it (invariants 2 and 3): a redis with data (offset above 0) before an
 * empty one, whatever else is known (an agent restarted with its redis cannot know it restarted); then
 * untainted before tainted (a restarted redis that has not resynced); then the latest data epoch (the epoch
 * whose history the data ends with: offsets of diverged histories are not comparable, and a deposed leader's
 * unacknowledged writes must not outrank a later epoch's acknowledged ones, as Raft ranks a log's last term
 * before its length); then the highest replication offset, then the earliest election start, then the lowest
 * address. {@link #BEST_FIRST} sorts the winner first; every node computes the same order from the same
 * messages.
 *
 * @param since when it started proposing; {@link Long#MAX_VALUE} for a member that has not proposed yet
 */
public record Candidate(Endpoint node, boolean tainted, long dataEpoch, long offset, long since) {

    /** A candidate whose data epoch is unknown (tests). */
    public Candidate(Endpoint node, boolean tainted, long offset, long since) {
        this(node, tainted, 0, offset, since);
    }

    public static final Comparator<Candidate> BEST_FIRST = Comparator
            .comparing((Candidate c) -> c.offset() == 0)
            .thenComparing(Candidate::tainted)
            .thenComparing(Comparator.comparingLong(Candidate::dataEpoch).reversed())
            .thenComparing(Comparator.comparingLong(Candidate::offset).reversed())
            .thenComparingLong(Candidate::since)
            .thenComparing(Candidate::node);

    /**
     * {@code s} ranked with what the ranking node knows of its data: {@code knownEpoch}, when not null, is the epoch
     * of the leader whose history {@code s}'s replication id names. An agent that restarted reports data epoch 0
     * (and a redis that resynced while it was down, tainted) until it hears a status naming that id; the node that
     * ranks it may have heard one, and ranks it as it will rank itself once it does.
     */
    static Candidate of(NodeStatus s, Long knownEpoch) {
        boolean proposing = s.state() == NodeState.PROPOSING || s.state() == NodeState.PROMOTING;
        boolean known = knownEpoch != null && s.offset() > 0;
        return new Candidate(s.node(), s.tainted() && !known, known ? Math.max(knownEpoch, s.dataEpoch()) : s.dataEpoch(),
                s.offset(), proposing ? s.since() : Long.MAX_VALUE);
    }
}
