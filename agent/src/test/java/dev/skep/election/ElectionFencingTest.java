package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pure part of issue 14's safety rules: every redis of the hive but the leader's is fenced, a leader fences
 * the redis of members whose agents went silent while it was a master, and a busy redis (alive, not answering)
 * costs no leadership until the busy grace has passed, while a redis that is down still does after
 * {@code --redis-failures} probes.
 */
class ElectionFencingTest {
    private static final Endpoint A = new Endpoint("10.0.0.1", 7380);
    private static final Endpoint A_REDIS = new Endpoint("10.0.0.1", 6379);
    private static final Endpoint B = new Endpoint("10.0.0.2", 7380);
    private static final Endpoint B_REDIS = new Endpoint("10.0.0.2", 6379);
    private static final long HB = 250;
    private static final long GRACE = 10_000;
    private static final ElectionSettings SETTINGS = new ElectionSettings(A, A_REDIS, 8080, HB, 750, 3, Long.MAX_VALUE,
            5000, Quorum.NONE, 0, GRACE);

    private final Election a = new Election(SETTINGS, 0);
    private final List<Effect> effects = new ArrayList<>();
    private long now;

    @Test
    void aRedisThatIsAMasterTheNodeDoesNotLeadIsFencedAndTheLeaderLiftsAFenceOnItsOwn() {
        handle(new ElectionEvent.PeersDiscovered(Set.of(B), now));
        handle(new ElectionEvent.ProbeSucceeded(master(100, false), now));
        assertThat(a.state()).isEqualTo(NodeState.ALONE);
        assertThat(effects).as("a fresh redis is a master: until this node leads it, it takes no write")
                .contains(Effect.FenceWrites.fence("local redis is a master that this node does not lead (ALONE)"));

        handle(new ElectionEvent.ProbeSucceeded(master(100, true), now));
        assertThat(effects).as("fenced as wanted: nothing more to do").noneMatch(e -> e instanceof Effect.FenceWrites);

        lead();
        handle(new ElectionEvent.ProbeSucceeded(master(200, true), now));
        assertThat(effects).as("the leader's redis must take writes").anyMatch(e -> e instanceof Effect.FenceWrites f
                && f.minReplicas() == 0);
        handle(new ElectionEvent.ProbeSucceeded(master(200, false), now));
        assertThat(effects).noneMatch(e -> e instanceof Effect.FenceWrites);
    }

    @Test
    void aFenceRedisRefusesIsNotAskedForAgainEveryHeartbeat() {
        handle(new ElectionEvent.PeersDiscovered(Set.of(B), now));
        int asked = 0;
        for (int i = 0; i < 20; i++) { // 5 s of probes of a redis that never shows the fence (CONFIG renamed)
            now += HB;
            handle(new ElectionEvent.ProbeSucceeded(master(100, false), now));
            asked += (int) effects.stream().filter(e -> e instanceof Effect.FenceWrites).count();
        }
        assertThat(asked).isBetween(1, 2);
    }

    @Test
    void theLeaderFencesTheRedisOfAMemberWhoseAgentWentSilentWhileItWasAMaster() {
        handle(new ElectionEvent.PeersDiscovered(Set.of(B), now));
        handle(new ElectionEvent.ProbeSucceeded(replica(100), now));
        // B leads epoch 7 with its redis a master for a while; then its agent falls silent (killed, stuck)
        while (now < 20_000) {
            handle(new ElectionEvent.PeerStatusReceived(leaderStatus(B, B_REDIS, 7, now), now));
            handle(new ElectionEvent.ProbeSucceeded(replica(100), now));
            handle(new ElectionEvent.Tick(now));
            now += HB;
        }
        assertThat(a.state()).isEqualTo(NodeState.FOLLOWING);
        Effect.Promote promote = null;
        long silentFrom = now;
        while (promote == null && now < silentFrom + 10_000) {
            now += HB / 5;
            List<Effect> both = new ArrayList<>(a.handle(new ElectionEvent.Tick(now)));
            both.addAll(a.handle(new ElectionEvent.ProbeSucceeded(a.state() == NodeState.FOLLOWING ? replica(100)
                    : master(100, true), now)));
            promote = both.stream().filter(e -> e instanceof Effect.Promote).map(e -> (Effect.Promote) e)
                    .findFirst().orElse(null);
            effects.clear();
            effects.addAll(both);
        }
        assertThat(promote).as("A is elected once B is silent").isNotNull();
        assertThat(effects).as("B's redis is fenced as A's is promoted, not after")
                .anyMatch(e -> e instanceof Effect.FenceOrphans f && f.redis().equals(List.of(B_REDIS)));
        handle(new ElectionEvent.PromotionFinished(promote.epoch(), true, "ok", now));
        assertThat(a.state()).isEqualTo(NodeState.LEADING);
        now += HB;
        handle(new ElectionEvent.Tick(now));
        assertThat(effects).as("and every heartbeat while its agent stays silent")
                .anyMatch(e -> e instanceof Effect.FenceOrphans f && f.redis().equals(List.of(B_REDIS)));

        // B's agent is back, following A: its own agent looks after its redis from now on
        handle(new ElectionEvent.PeerStatusReceived(new NodeStatus(B, B_REDIS, 8080, NodeState.FOLLOWING,
                promote.epoch(), A, 0, 100, false, RedisRole.MASTER, false, "run-b", 2, now), now));
        now += HB;
        handle(new ElectionEvent.Tick(now));
        assertThat(effects).noneMatch(e -> e instanceof Effect.FenceOrphans);
    }

    @Test
    void aBusyRedisCostsNoLeadershipWithinTheGraceAndDoesPastIt() {
        lead();
        long busyFrom = now;
        while (now - busyFrom < GRACE - HB) { // a long script: every probe times out, the process runs
            now += HB;
            handle(new ElectionEvent.ProbeFailed("no reply to PING in time (process 812 state R: busy, not dead)",
                    true, now));
            handle(new ElectionEvent.Tick(now));
            assertThat(a.state()).as("busy for " + (now - busyFrom) + " ms").isEqualTo(NodeState.LEADING);
        }
        handle(new ElectionEvent.ProbeSucceeded(master(300, false), now));
        assertThat(effects).anyMatch(e -> e instanceof Effect.Record r && r.kind().equals("redis-busy")
                && r.message().startsWith("local redis answers again after"));

        busyFrom = now;
        while (a.state() == NodeState.LEADING && now - busyFrom < 2 * GRACE) {
            now += HB;
            handle(new ElectionEvent.ProbeFailed("no reply to PING in time", true, now));
        }
        assertThat(a.state()).isEqualTo(NodeState.NOT_READY);
        assertThat(now - busyFrom).as("gave up once the grace had passed").isBetween(GRACE, GRACE + HB);
        assertThat(effects).anyMatch(e -> e instanceof Effect.Record r && r.kind().equals("not-ready")
                && r.message().contains("past --busy-grace-ms"));
    }

    @Test
    void aRedisThatIsDownOrStoppedStillCostsLeadershipAfterTheUsualFailures() {
        lead();
        for (int i = 1; i <= 3; i++) {
            now += HB / 3;
            handle(new ElectionEvent.ProbeFailed("no reply to PING in time (process 812 state T: stopped)", false, now));
            assertThat(a.state()).isEqualTo(i < 3 ? NodeState.LEADING : NodeState.NOT_READY);
        }
    }

    /** Makes {@code a} the leader of a hive of one (B discovered but never heard, past the young-agent wait). */
    private void lead() {
        if (a.state() == NodeState.LEADING) {
            return;
        }
        Effect.Promote promote = null;
        while (promote == null && now < 60_000) {
            now += HB;
            List<Effect> both = new ArrayList<>(a.handle(new ElectionEvent.Tick(now)));
            both.addAll(a.handle(new ElectionEvent.ProbeSucceeded(master(100, true), now)));
            promote = both.stream().filter(e -> e instanceof Effect.Promote).map(e -> (Effect.Promote) e)
                    .findFirst().orElse(null);
        }
        assertThat(promote).isNotNull();
        handle(new ElectionEvent.PromotionFinished(promote.epoch(), true, "ok", now));
        assertThat(a.state()).isEqualTo(NodeState.LEADING);
    }

    private static NodeStatus leaderStatus(Endpoint node, Endpoint redis, long epoch, long sentAt) {
        return new NodeStatus(node, redis, 8080, NodeState.LEADING, epoch, node, 0, 100, false, RedisRole.MASTER,
                false, "run-b", 2, sentAt);
    }

    private static RedisSnapshot master(long offset, boolean fenced) {
        return new RedisSnapshot("run-a", 1, "7.0.15", RedisRole.MASTER, null, 0, false, false, offset, 10, 0, fenced, 60);
    }

    private static RedisSnapshot replica(long offset) {
        return new RedisSnapshot("run-a", 1, "7.0.15", RedisRole.REPLICA, B_REDIS.host(), B_REDIS.port(), true, false,
                offset, 10, 0, true, 60);
    }

    private void handle(ElectionEvent event) {
        effects.clear();
        effects.addAll(a.handle(event));
    }
}
