package dev.skep.election;

import dev.skep.redis.ProbeFailure;
import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rules of the default mode ({@code --quorum none}, {@code --election peers}), one short scripted scenario each:
 * events fed to one node's {@link Election}, its peers' statuses written by hand, and the effects and state asserted.
 * ElectionSimulationTest checks the same rules as invariants over random schedules; these say them by example.
 */
class ElectionPeerRulesTest {
    private static final Endpoint A = new Endpoint("10.0.0.1", 7380);
    private static final Endpoint B = new Endpoint("10.0.0.2", 7380);
    private static final Endpoint C = new Endpoint("10.0.0.3", 7380);
    private static final long HB = 250;
    private static final long PEER_TIMEOUT = 3 * HB;
    private static final int REDIS_FAILURES = 3;
    private static final long BUSY_GRACE = 10_000;

    @Test
    void aJoiningNodeFollowsAnExistingLeaderBeforeItProposes() {
        Node a = new Node(A);
        a.probe(master("run-a", 0));
        a.at(HB).tick();
        assertThat(a.election.state()).as("listening for a leader first").isEqualTo(NodeState.ALONE);

        a.at(2 * HB).hear(leading(B, 7, 500));
        assertThat(a.election.state()).isEqualTo(NodeState.FOLLOWING);
        assertThat(a.election.leader()).isEqualTo(B);
        assertThat(a.election.epoch()).isEqualTo(7);
        assertThat(a.effects).contains(new Effect.Follow(redisOf(B), "leader " + B + " of epoch 7"));
        assertThat(a.seen).as("never proposed").noneMatch(e -> e instanceof Effect.Record r && r.kind().equals("election"));
    }

    @Test
    void aMemberThatStartedOrCameBackIsToldThisNodesStatusAtOnceNotAtTheNextTick() {
        Node a = leader(A);
        long epoch = a.election.epoch();
        a.later(1).hear(justStarted(B, a.now));
        assertThat(a.effects).as("B's agent has just started: told at once")
                .anyMatch(e -> e instanceof Effect.Broadcast b && b.status().state() == NodeState.LEADING);

        a.later(HB / 5).hear(sentAt(status(B, NodeState.FOLLOWING, epoch, A, 0, 100), a.now));
        assertThat(a.effects).as("taken: B is a replica now").anyMatch(e -> e instanceof Effect.PublishTopology t
                && t.topology().replicas().contains(redisOf(B)));
        assertThat(a.effects).as("a routine status: nothing new to tell").noneMatch(e -> e instanceof Effect.Broadcast);
        a.later(HB).hear(sentAt(status(B, NodeState.FOLLOWING, epoch, A, 0, 100), a.now));
        assertThat(a.effects).noneMatch(e -> e instanceof Effect.Broadcast);

        a.later(PEER_TIMEOUT + 1).hear(sentAt(status(B, NodeState.FOLLOWING, epoch, A, 0, 100), a.now));
        assertThat(a.effects).as("silent for longer than a peer timeout, then back")
                .anyMatch(e -> e instanceof Effect.Broadcast);

        a.later(HB / 5).hear(justStarted(B, a.now));
        assertThat(a.effects).as("restarted within a peer timeout: its redis's run id is gone from its status")
                .anyMatch(e -> e instanceof Effect.Broadcast);
        a.later(HB / 5).hear(justStarted(B, a.now));
        assertThat(a.effects).as("once per restart, not per status").noneMatch(e -> e instanceof Effect.Broadcast);
    }

    @Test
    void aNodeWhoseRedisCannotLoadTheLeadersFullSyncDoesNotReplicateItAndSaysWhyOnce() {
        Node a = new Node(A);
        RedisSnapshot valkey = new RedisSnapshot("run-a", 1, "valkey 8.1.1", RedisRole.MASTER, null, 0, false, false, 0,
                0, 0);
        a.probe(valkey);
        a.at(2 * HB).hear(withRedisVersion(leading(B, 7, 500), "redis 8.0.2"));
        String why = "local valkey 8.1.1 cannot replicate the master's redis 8.0.2: a full sync sends RDB format 12 and "
                + "valkey 8.1.1 loads up to 11 (run the same server on every node, or upgrade the replicas first)";
        assertThat(a.election.state()).isEqualTo(NodeState.FOLLOWING);
        assertThat(a.effects).as("not pointed at a master whose sync would fail for ever")
                .noneMatch(e -> e instanceof Effect.Follow);
        assertThat(a.effects).contains(new Effect.Record("incompatible-master", why + "; not replicating leader " + B));
        assertThat(a.election.notReadyReason()).isEqualTo(why);

        a.later(HB).probe(valkey);
        a.later(HB).hear(withRedisVersion(leading(B, 7, 600), "redis 8.0.2"));
        assertThat(a.seen.stream().filter(e -> e instanceof Effect.Follow)).isEmpty();
        assertThat(a.seen.stream().filter(e -> e instanceof Effect.Record r && r.kind().equals("incompatible-master")))
                .as("said once").hasSize(1);

        // the leader's redis is replaced by one ours can load (a Valkey, or a Redis up to 7.2): replicated at once
        a.later(HB).hear(withRedisVersion(leading(B, 7, 700), "redis 7.0.15"));
        a.later(HB).probe(valkey);
        assertThat(a.effects).contains(new Effect.Follow(redisOf(B), "local redis is not replicating leader " + B));
        assertThat(a.election.notReadyReason()).isEqualTo("local redis is not yet in sync with leader " + B);
    }

    @Test
    void aHandoverPrefersTheReplicaThatHasRunForAWhileOverOneJustStartedEvenWithMoreData() {
        Node a = leader(A);
        long epoch = a.election.epoch();
        // B has followed for a while; C is the pod a rollout has just started (less than Handover.SETTLED_MS ago)
        a.later(HB).hear(status(B, NodeState.FOLLOWING, epoch, A, 0, 100));
        while (a.now < Handover.SETTLED_MS) {
            a.later(HB).hear(status(B, NodeState.FOLLOWING, epoch, A, 0, 100));
        }
        a.hear(status(C, NodeState.FOLLOWING, epoch, A, 0, 100));
        a.later(HB).hear(status(C, NodeState.FOLLOWING, epoch, A, 0, 101));
        a.hear(status(B, NodeState.FOLLOWING, epoch, A, 0, 100));
        a.feed(new ElectionEvent.HandoverRequested(null, "SIGTERM", a.now));
        assertThat(a.effects).anyMatch(e -> e instanceof Effect.Record r && r.kind().equals("handover")
                && r.message().contains("handing over to " + B));

        // both settled: the one with more data
        Node a2 = leader(A);
        long epoch2 = a2.election.epoch();
        a2.later(HB).hear(status(B, NodeState.FOLLOWING, epoch2, A, 0, 100));
        a2.hear(status(C, NodeState.FOLLOWING, epoch2, A, 0, 100));
        long start = a2.now;
        while (a2.now < start + Handover.SETTLED_MS) {
            a2.later(HB).hear(status(B, NodeState.FOLLOWING, epoch2, A, 0, 100));
            a2.hear(status(C, NodeState.FOLLOWING, epoch2, A, 0, 101));
        }
        a2.feed(new ElectionEvent.HandoverRequested(null, "SIGTERM", a2.now));
        assertThat(a2.effects).anyMatch(e -> e instanceof Effect.Record r && r.kind().equals("handover")
                && r.message().contains("handing over to " + C));
    }

    @Test
    void aNodeWithNoLeaderToFollowProposesOnlyOnceItHasListenedForAPeerTimeout() {
        Node a = new Node(A);
        a.probe(master("run-a", 100));
        a.at(PEER_TIMEOUT - 1).tick();
        assertThat(a.election.state()).isEqualTo(NodeState.ALONE);

        a.at(PEER_TIMEOUT).tick();
        assertThat(a.election.state()).isEqualTo(NodeState.PROPOSING);
        assertThat(a.effects).contains(new Effect.Record("election", "no live leader: proposing with offset 100"));
    }

    @Test
    void theHighestReplicationOffsetWinsWhateverTheStartOrTheAddress() {
        // A proposes first and has the lowest address, B has the most data
        assertThat(promotes(A, 100, proposing(B, 300, PEER_TIMEOUT + 100), proposing(C, 200, PEER_TIMEOUT + 50)))
                .isFalse();
        assertThat(promotes(B, 300, proposing(A, 100, PEER_TIMEOUT - 100), proposing(C, 200, PEER_TIMEOUT - 50)))
                .isTrue();
    }

    @Test
    void atEqualOffsetsTheEarliestElectionStartWins() {
        // each node under test starts proposing at PEER_TIMEOUT
        assertThat(promotes(B, 300, proposing(A, 300, PEER_TIMEOUT + 10))).as("B started first").isTrue();
        assertThat(promotes(A, 300, proposing(B, 300, PEER_TIMEOUT - 10))).as("B started first").isFalse();
    }

    @Test
    void atEqualOffsetsAndStartsTheLowestAddressWins() {
        assertThat(promotes(A, 300, proposing(B, 300, PEER_TIMEOUT), proposing(C, 300, PEER_TIMEOUT))).isTrue();
        assertThat(promotes(B, 300, proposing(A, 300, PEER_TIMEOUT), proposing(C, 300, PEER_TIMEOUT))).isFalse();
        assertThat(promotes(C, 300, proposing(A, 300, PEER_TIMEOUT), proposing(B, 300, PEER_TIMEOUT))).isFalse();
    }

    @Test
    void aLeaderThatHearsOfAHigherEpochStepsDownAtOnceAndFollowsIt() {
        Node a = leader(A);
        long ours = a.election.epoch();

        a.later(HB).hear(leading(B, ours + 1, 500));
        assertThat(a.election.state()).as("on that one status").isEqualTo(NodeState.FOLLOWING);
        assertThat(a.election.leader()).isEqualTo(B);
        assertThat(a.effects).contains(new Effect.Record("stepped-down", "gave up leadership of epoch " + ours
                + ": leader " + B + " has epoch " + (ours + 1)));
        assertThat(a.effects).contains(new Effect.Follow(redisOf(B), "leader " + B + " of epoch " + (ours + 1)));
        assertThat(a.election.topology().master()).isEqualTo(redisOf(B));
    }

    @Test
    void aLeaderThatHearsItsOwnEpochLedByALowerAddressStepsDown() {
        Node c = leader(C);
        c.later(HB).hear(leading(B, c.election.epoch(), 500));
        assertThat(c.election.state()).isEqualTo(NodeState.FOLLOWING);
        assertThat(c.election.leader()).isEqualTo(B);
    }

    @Test
    void aLeaderThatHearsAPeerHasSeenAHigherEpochStepsDownEvenWithoutHearingThatLeader() {
        Node a = leader(A);
        long ours = a.election.epoch();
        a.later(HB).hear(status(C, NodeState.FOLLOWING, ours + 5, B, 0, 400));
        assertThat(a.election.state()).isNotEqualTo(NodeState.LEADING);
        assertThat(a.effects).contains(new Effect.Record("stepped-down", "gave up leadership of epoch " + ours
                + ": a peer has seen epoch " + (ours + 5) + " > " + ours));
    }

    @Test
    void aLeaderWhoseRedisFailsRedisFailuresProbesInARowStepsDownAndAnnouncesIt() {
        Node a = leader(A);
        for (int i = 1; i < REDIS_FAILURES; i++) {
            a.later(HB).feed(new ElectionEvent.ProbeFailed("connection refused", a.now));
            assertThat(a.election.state()).as("after " + i + " failure(s)").isEqualTo(NodeState.LEADING);
        }
        a.later(HB).feed(new ElectionEvent.ProbeFailed("connection refused", a.now));
        assertThat(a.election.state()).isEqualTo(NodeState.NOT_READY);
        String cause = "local redis probe failed " + REDIS_FAILURES + " times in a row: connection refused";
        assertThat(a.effects).contains(new Effect.Record("stepped-down", "gave up leadership of epoch "
                + a.election.epoch() + ": " + cause), new Effect.Record("not-ready", cause));
        assertThat(a.effects).as("told to its peers at once").anyMatch(e -> e instanceof Effect.Broadcast b
                && b.status().state() == NodeState.NOT_READY);
        assertThat(a.election.topology().master()).as("its proxies stop sending writes to its redis").isNull();
    }

    @Test
    void aLeaderWhoseRedisRefusesConnectionsIsDownOnTheFirstRefusal() {
        Node a = leader(A);
        a.later(5).feed(new ElectionEvent.ProbeFailed("connect failed: Connection refused", ProbeFailure.Kind.GONE,
                a.now));
        assertThat(a.election.state()).as("nothing listens on its port: the process died").isEqualTo(NodeState.NOT_READY);
        assertThat(a.effects).contains(new Effect.Record("not-ready",
                "local redis is gone (its port refuses connections): connect failed: Connection refused"));
        assertThat(a.effects).as("told to its peers at once").anyMatch(e -> e instanceof Effect.Broadcast b
                && b.status().state() == NodeState.NOT_READY);
    }

    @Test
    void aRedisThatNeverAnsweredIsNotGoneWhenItRefusesItIsStarting() {
        Node a = new Node(A);
        a.feed(new ElectionEvent.ProbeFailed("connect failed: Connection refused", ProbeFailure.Kind.GONE, a.now));
        assertThat(a.election.state()).as("one failure of " + REDIS_FAILURES).isNotEqualTo(NodeState.NOT_READY);
    }

    @Test
    void aFollowerElectsAtOnceWhenItsLeadersAgentClosedItsConnectionAndEveryFollowersLinkIsDown() {
        Node a = follower(A, B, 7, 400);
        a.hear(status(C, NodeState.FOLLOWING, 7, B, 0, 400));
        a.later(HB / 5).feed(new ElectionEvent.PeerClosed(B, a.now));
        assertThat(a.effects).as("our link, as our redis sees it now").contains(
                new Effect.Probe("leader " + B + "'s agent closed its connection"));
        a.later(1).probe(linkDown(B, runOf(A), 400));
        assertThat(a.effects).as("told at once").anyMatch(e -> e instanceof Effect.Broadcast b && !b.status().linkUp());
        assertThat(a.election.state()).as("C's link may still be up").isEqualTo(NodeState.FOLLOWING);

        a.later(1).hear(withLinkDown(status(C, NodeState.FOLLOWING, 7, B, 0, 400), a.now));
        assertThat(a.effects).contains(new Effect.Record("leader-gone", "leader " + B + "'s agent closed its "
                + "connection and every follower's replication link is down: its node is gone"));
        assertThat(a.election.state()).isNotEqualTo(NodeState.FOLLOWING);
        assertThat(a.effects).as("its redis stops replicating the dead one").anyMatch(e -> e instanceof Effect.Detach);
    }

    @Test
    void aClosedConnectionIsNotEnoughWhileAFollowersLinkIsUp() {
        Node a = follower(A, B, 7, 400);
        a.hear(status(C, NodeState.FOLLOWING, 7, B, 0, 400));
        a.later(HB / 5).feed(new ElectionEvent.PeerClosed(B, a.now));
        a.later(1).probe(linkDown(B, runOf(A), 400));
        a.later(1).hear(status(C, NodeState.FOLLOWING, 7, B, a.now, 400)); // C's redis still streams from B's
        assertThat(a.election.state()).as("B's agent died, its redis lives").isEqualTo(NodeState.FOLLOWING);

        Node b = follower(A, B, 7, 400);
        b.later(HB / 5).feed(new ElectionEvent.PeerClosed(B, b.now));
        b.later(1).probe(replicaOf(B, runOf(A), 400));
        assertThat(b.election.state()).as("our own link is up").isEqualTo(NodeState.FOLLOWING);
    }

    @Test
    void aNodeWhoseRedisRestartedFollowsTheLeaderAndRanksLastUntilItHasResynced() {
        Node a = follower(A, B, 7, 400);
        // its redis restarts (a new run_id) with data of its own from disk, a master of nothing, at a higher offset
        a.later(HB).probe(master("run-a2", 450));
        assertThat(a.election.tainted()).isTrue();
        assertThat(a.effects).anyMatch(e -> e instanceof Effect.Record r && r.kind().equals("redis-restarted"));
        assertThat(a.effects).as("replicates the leader again before anything else")
                .contains(new Effect.Follow(redisOf(B), "local redis is not replicating leader " + B));

        // the leader falls silent before that resync; C, with less data but untainted, proposes
        long silentFrom = a.now;
        while (a.now < silentFrom + PEER_TIMEOUT + 3 * HB) {
            a.later(HB / 5).hear(proposing(C, 300, silentFrom + PEER_TIMEOUT));
            a.probe(master("run-a2", 450));
            a.tick();
        }
        assertThat(a.seen).as("C ranks first: untainted").noneMatch(e -> e instanceof Effect.Promote);
        assertThat(a.election.state()).isEqualTo(NodeState.PROPOSING);
        assertThat(a.election.status(a.now).tainted()).as("so that every node ranks it last").isTrue();
    }

    @Test
    void aNodeWhoseRedisRestartedIsFitToLeadAgainOnceItsRedisIsInSyncWithTheLeader() {
        Node a = follower(A, B, 7, 500);
        a.later(HB).probe(master("run-a2", 0));
        assertThat(a.election.tainted()).isTrue();
        a.later(HB).probe(replicaOf(B, "run-a2", 500));
        assertThat(a.election.tainted()).isFalse();
        assertThat(a.effects).contains(new Effect.Record("resynced", "local redis resynced from leader " + B
                + " (500 keys)"));
    }

    @Test
    void aBusyRedisIsNotADeadOne() {
        Node a = leader(A);
        long busyFrom = a.now;
        while (a.now - busyFrom < BUSY_GRACE - HB) { // a long script: every probe times out, the process runs
            a.later(HB).feed(new ElectionEvent.ProbeFailed("BUSY Redis is busy running a script", true, a.now));
            a.tick();
            assertThat(a.election.state()).isEqualTo(NodeState.LEADING);
        }
        assertThat(a.seen).noneMatch(e -> e instanceof Effect.Record r && r.kind().equals("not-ready"));
        assertThat(a.seen).filteredOn(e -> e instanceof Effect.Record r && r.kind().equals("redis-busy")).hasSize(1);

        a.later(HB).probe(master(runOf(A), 100));
        assertThat(a.effects).anyMatch(e -> e instanceof Effect.Record r && r.kind().equals("redis-busy")
                && r.message().startsWith("local redis answers again after"));
        assertThat(a.election.state()).isEqualTo(NodeState.LEADING);
    }

    // ---- scenarios ----

    /**
     * Whether {@code self}, its redis at {@code offset}, promotes itself once its proposal (from {@link #PEER_TIMEOUT},
     * when it has listened long enough) meets {@code others}' proposals.
     */
    private static boolean promotes(Endpoint self, long offset, NodeStatus... others) {
        Node n = new Node(self);
        n.probe(master(runOf(self), offset));
        n.at(PEER_TIMEOUT).tick();
        assertThat(n.election.state()).isEqualTo(NodeState.PROPOSING);
        n.later(HB / 5);
        for (NodeStatus other : others) {
            n.hear(other);
        }
        n.later(HB / 2).tick(); // every live member has proposed: decided half a heartbeat after its own proposal
        return n.seen.stream().anyMatch(e -> e instanceof Effect.Promote);
    }

    /** A node that elected itself alone (no peer known) and leads. */
    private static Node leader(Endpoint self) {
        Node n = new Node(self);
        n.probe(master(runOf(self), 100));
        Effect.Promote promote = null;
        while (promote == null && n.now < 5_000) {
            n.later(HB / 2).tick();
            promote = n.effects.stream().filter(e -> e instanceof Effect.Promote).map(e -> (Effect.Promote) e)
                    .findFirst().orElse(null);
        }
        assertThat(promote).isNotNull();
        n.feed(new ElectionEvent.PromotionFinished(promote.epoch(), true, "ok", n.now));
        n.probe(master(runOf(self), 100));
        assertThat(n.election.state()).isEqualTo(NodeState.LEADING);
        return n;
    }

    /** A node whose redis replicates {@code leader}'s, in sync at {@code offset}, leading {@code epoch}. */
    private static Node follower(Endpoint self, Endpoint leader, long epoch, long offset) {
        Node n = new Node(self);
        n.probe(replicaOf(leader, runOf(self), offset));
        n.later(HB).hear(leading(leader, epoch, offset));
        n.probe(replicaOf(leader, runOf(self), offset));
        assertThat(n.election.state()).isEqualTo(NodeState.FOLLOWING);
        assertThat(n.election.tainted()).isFalse();
        return n;
    }

    /** One node's election, fed by hand; {@code effects} are those of the last event, {@code seen} all of them. */
    private static final class Node {
        final Election election;
        final List<Effect> effects = new ArrayList<>();
        final List<Effect> seen = new ArrayList<>();
        long now;

        Node(Endpoint self) {
            election = new Election(new ElectionSettings(self, redisOf(self), 8080, HB, PEER_TIMEOUT, REDIS_FAILURES,
                    Long.MAX_VALUE, 5000, Quorum.NONE, 0, BUSY_GRACE), 0);
        }

        Node at(long t) {
            now = t;
            return this;
        }

        Node later(long ms) {
            return at(now + ms);
        }

        void feed(ElectionEvent event) {
            effects.clear();
            effects.addAll(election.handle(event));
            seen.addAll(effects);
        }

        void tick() {
            feed(new ElectionEvent.Tick(now));
        }

        void probe(RedisSnapshot snapshot) {
            feed(new ElectionEvent.ProbeSucceeded(snapshot, now));
        }

        void hear(NodeStatus status) {
            feed(new ElectionEvent.PeerStatusReceived(status, now));
        }
    }

    // ---- statuses and snapshots ----

    private static String runOf(Endpoint node) {
        return "run-" + node.host();
    }

    private static Endpoint redisOf(Endpoint node) {
        return new Endpoint(node.host(), 6379);
    }

    private static NodeStatus status(Endpoint node, NodeState state, long epoch, Endpoint leader, long since,
            long offset) {
        RedisRole role = state == NodeState.FOLLOWING ? RedisRole.REPLICA : RedisRole.MASTER;
        return new NodeStatus(node, redisOf(node), 8080, state, epoch, leader, since, offset, false, role,
                role == RedisRole.REPLICA, runOf(node), 2, since > 0 ? since : 1);
    }

    private static NodeStatus sentAt(NodeStatus s, long sentAt) {
        return new NodeStatus(s.node(), s.redis(), s.httpPort(), s.state(), s.epoch(), s.leader(), s.since(), s.offset(),
                s.tainted(), s.redisRole(), s.linkUp(), s.redisRunId(), s.redisProcessId(), sentAt);
    }

    /** The first status of an agent that has just started: alone, its redis not probed yet (no run id). */
    private static NodeStatus justStarted(Endpoint node, long sentAt) {
        return new NodeStatus(node, redisOf(node), 8080, NodeState.ALONE, 0, null, 0, 0, false, RedisRole.UNKNOWN,
                false, "", 0, sentAt);
    }

    private static NodeStatus leading(Endpoint node, long epoch, long offset) {
        return status(node, NodeState.LEADING, epoch, node, 0, offset);
    }

    private static NodeStatus withRedisVersion(NodeStatus s, String redisVersion) {
        return new NodeStatus(s.node(), s.redis(), s.httpPort(), s.state(), s.epoch(), s.leader(), s.since(), s.offset(),
                s.tainted(), s.redisRole(), s.linkUp(), s.redisRunId(), s.redisProcessId(), s.sentAtMillis(),
                s.handoverTo(), s.handoverOffset(), s.masterSinceOffset(), s.leaderHeardAgoMs(), s.replId(), s.dataEpoch(),
                s.replId2(), s.histories(), "0.2.0", redisVersion);
    }

    /** A replica of {@code leader}'s redis whose link to it is down. */
    private static RedisSnapshot linkDown(Endpoint leader, String runId, long offset) {
        Endpoint r = redisOf(leader);
        return new RedisSnapshot(runId, 1, "7.0.15", RedisRole.REPLICA, r.host(), r.port(), false, false, offset,
                offset, 0, true, 60);
    }

    private static NodeStatus withLinkDown(NodeStatus s, long sentAt) {
        return new NodeStatus(s.node(), s.redis(), s.httpPort(), s.state(), s.epoch(), s.leader(), s.since(), s.offset(),
                s.tainted(), s.redisRole(), false, s.redisRunId(), s.redisProcessId(), sentAt);
    }

    private static NodeStatus proposing(Endpoint node, long offset, long since) {
        return status(node, NodeState.PROPOSING, 0, null, since, offset);
    }

    private static RedisSnapshot master(String runId, long offset) {
        return new RedisSnapshot(runId, 1, "7.0.15", RedisRole.MASTER, null, 0, false, false, offset, offset, 0);
    }

    private static RedisSnapshot replicaOf(Endpoint leader, String runId, long offset) {
        Endpoint r = redisOf(leader);
        return new RedisSnapshot(runId, 1, "7.0.15", RedisRole.REPLICA, r.host(), r.port(), true, false, offset,
                offset, 0, true, 60);
    }
}
