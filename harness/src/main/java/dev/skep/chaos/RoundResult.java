package dev.skep.chaos;

import java.util.Map;

/**
 * What one round measured.
 *
 * @param round          its number (from 1)
 * @param kind           the fault
 * @param node           the node hit (the master's at the time)
 * @param what           what was done, as printed ("kill -9 redis pid 1234")
 * @param acks           writes acknowledged during the round (from its start to the end of its check)
 * @param firstWriteMs   fault to the first acknowledged write sent after it, the slowest writer's; -1 when
 *                       some writer had none
 * @param firstWriteElsewhereMs the same, over the writers that were on another node's write port than the faulted
 *                       node's when the fault hit (in a partition: the majority side's clients)
 * @param longestStallMs longest time a writer went without an acknowledgement
 * @param errors         error replies, and failed connections whose request is in the hive (or cannot be told)
 * @param closedNotApplied failed connections whose request is not in the hive: closed between two requests
 *                       (a stopping agent's clients), or in a crash a write lost with the master
 * @param errorKinds     those errors by kind (first words), with counts
 * @param lostKeys       acknowledged SETs found missing after this round (not found missing before)
 * @param lostIncrements acknowledged INCRs found missing after this round
 * @param twoMastersMs   longest time two redis servers accepted writes at once
 * @param twoRoutedMs    the same, counting only servers an agent was sending clients to
 * @param twoProvenMs    the longest time two redis servers were proven to accept writes at once (a lower bound:
 *                       the first two are upper bounds exact to a poll period; see {@link MasterWatch})
 * @param convergedMs    fault to a hive with one master replicated by all and named by every agent; -1 if not
 * @param leaders        the leader changes from the fault to the settled hive (new epochs)
 * @param masterAfter    the settled master's node after the round
 */
record RoundResult(int round, FaultKind kind, int node, String what, long acks, long firstWriteMs,
                   long firstWriteElsewhereMs, long longestStallMs,
                   long errors, long closedNotApplied, Map<String, Integer> errorKinds, long lostKeys, long lostIncrements, long twoMastersMs,
                   long twoRoutedMs, long twoProvenMs, long convergedMs, LeaderWatch.Changes leaders, int masterAfter) {
    long lost() {
        return lostKeys + lostIncrements;
    }

    /** New epochs during the round; -1 when unknown (no agent answered when it began). */
    long leaderChanges() {
        return leaders.count();
    }

    /** The settled master after the round is on the node that was master when the fault hit. */
    boolean masterKept() {
        return masterAfter == node;
    }
}
