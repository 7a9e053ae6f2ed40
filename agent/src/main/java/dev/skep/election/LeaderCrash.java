package dev.skep.election;

import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

/**
 * A follower's fast path to the death of its leader's whole node, from the crash's own evidence rather than its
 * silence: the leader's agent closed its peer connection, our redis's replication link is down in a probe since, and
 * every other live member has told us its link is down too ({@link MemberView#goneWithItsRedis}). Only without a
 * quorum or a Lease: a majority's leader counts on its followers for a peer timeout, and a Lease is held for its
 * duration, whatever the evidence. Pure, and confined to the control thread, as {@link Election} is
 * (ElectionPeerRulesTest, ElectionSimulationTest).
 */
final class LeaderCrash {
    private final MemberView members;
    private final Outbox out;
    private final boolean counts;
    /** The leader's agent closed its connection: the next probe's link state is told at once. */
    private boolean linkReportDue;

    LeaderCrash(ElectionSettings settings, MemberView members, Outbox out) {
        this.members = members;
        this.out = out;
        this.counts = settings.quorum() == Quorum.NONE && !settings.leaseElection();
    }

    /**
     * The connection {@code node} opened to us ended. When it is our leader's, our redis is probed at once, and what
     * its link says is told to the others with that probe ({@link #linkReportDue()}).
     */
    void peerClosed(Endpoint node, NodeState state, Endpoint leader, long now) {
        members.connectionClosed(node, now);
        if (counts && state == NodeState.FOLLOWING && node.equals(leader)) {
            linkReportDue = true;
            out.add(new Effect.Probe("leader " + node + "'s agent closed its connection"));
        }
    }

    /** Whether the probe that just answered is to be told at once (its link state since the close); cleared. */
    boolean linkReportDue() {
        boolean due = linkReportDue;
        linkReportDue = false;
        return due;
    }

    /**
     * While following: when the leader's node is gone with its redis, it is no longer live, and the election starts
     * without waiting for the peer timeout.
     */
    void check(NodeState state, Endpoint leader, boolean ownLinkUp, long ownProbedAt, long now) {
        if (counts && state == NodeState.FOLLOWING && leader != null
                && members.goneWithItsRedis(leader, !ownLinkUp, ownProbedAt, now)) {
            members.markGone(leader);
            out.record("leader-gone", "leader " + leader + "'s agent closed its connection and every follower's "
                    + "replication link is down: its node is gone");
        }
    }
}
