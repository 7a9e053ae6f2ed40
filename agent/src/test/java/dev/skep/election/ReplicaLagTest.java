package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Replicas further behind the master than --max-lag-ms are not offered for reads. */
class ReplicaLagTest {
    private static final Endpoint A = new Endpoint("10.0.0.1", 7380);
    private static final Endpoint A_REDIS = new Endpoint("10.0.0.1", 6379);
    private static final Endpoint B = new Endpoint("10.0.0.2", 7380);
    private static final Endpoint B_REDIS = new Endpoint("10.0.0.2", 6379);
    private static final Endpoint C = new Endpoint("10.0.0.3", 7380);
    private static final Endpoint C_REDIS = new Endpoint("10.0.0.3", 6379);
    private static final long EPOCH = 5;

    @Test
    void theLeadersOffsetsTellHowManyMillisecondsAReplicaIsBehind() {
        LeaderOffsets offsets = new LeaderOffsets();
        assertThat(offsets.lagMs(0, 0)).as("nothing known").isEqualTo(Long.MAX_VALUE);
        offsets.add(1000, 100);
        offsets.add(1250, 200);
        offsets.add(1500, 300);
        offsets.add(1750, 300); // idle: the time 300 was first reached stays 1500
        assertThat(offsets.lagMs(300, 1800)).as("has everything").isZero();
        assertThat(offsets.lagMs(200, 1800)).as("behind since the leader passed 200 at 1500").isEqualTo(300);
        assertThat(offsets.lagMs(150, 1800)).as("behind since 1250").isEqualTo(550);
        assertThat(offsets.lagMs(50, 1800)).as("behind every sample").isEqualTo(800);
    }

    @Test
    void aReplicaThatFallsBehindLeavesTheTopologyAndComesBackWhenItCatchesUp() {
        Election b = new Election(new ElectionSettings(B, B_REDIS, 8080, 250, 750, 3, 1000), 0);
        b.handle(new ElectionEvent.ProbeSucceeded(replicaOfA(0), 0));
        long now = 0;
        long cOffset = 0;
        for (int step = 0; step <= 12; step++) { // 3 s: the master writes 1000 bytes every heartbeat
            now = step * 250L;
            long masterOffset = 1000L * step;
            if (step <= 2) {
                cOffset = masterOffset; // C keeps up for half a second, then stalls
            }
            b.handle(new ElectionEvent.PeerStatusReceived(status(A, A_REDIS, NodeState.LEADING, RedisRole.MASTER,
                    masterOffset, now), now));
            b.handle(new ElectionEvent.PeerStatusReceived(status(C, C_REDIS, NodeState.FOLLOWING, RedisRole.REPLICA,
                    cOffset, now), now));
            b.handle(new ElectionEvent.ProbeSucceeded(replicaOfA(masterOffset), now));
            if (step == 2) {
                assertThat(b.topology().replicas()).as("both in step").containsExactly(B_REDIS, C_REDIS);
            }
        }
        assertThat(b.state()).isEqualTo(NodeState.FOLLOWING);
        assertThat(b.topology().master()).isEqualTo(A_REDIS);
        assertThat(b.topology().replicas()).as("C is 2.5 s behind").containsExactly(B_REDIS);

        now += 250;
        b.handle(new ElectionEvent.PeerStatusReceived(status(C, C_REDIS, NodeState.FOLLOWING, RedisRole.REPLICA,
                12_000, now), now));
        assertThat(b.topology().replicas()).as("C caught up").containsExactly(B_REDIS, C_REDIS);
    }

    private static RedisSnapshot replicaOfA(long offset) {
        return new RedisSnapshot("run-b", 2, "7.0.15", RedisRole.REPLICA, A_REDIS.host(), A_REDIS.port(), true, false,
                offset, 10, 0);
    }

    private static NodeStatus status(Endpoint node, Endpoint redis, NodeState state, RedisRole role, long offset,
            long now) {
        Endpoint leader = state == NodeState.LEADING || state == NodeState.FOLLOWING ? A : null;
        return new NodeStatus(node, redis, 8080, state, EPOCH, leader, 0, offset, false, role, role == RedisRole.REPLICA,
                "run-" + node.host(), 1, now);
    }
}
