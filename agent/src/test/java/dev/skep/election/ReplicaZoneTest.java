package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --availability-zone}: the topology names the replicas of this node's zone (its own redis, and peers that said
 * the same zone, compared without case), which its read port prefers; with no zone, none.
 */
class ReplicaZoneTest {
    private static final Endpoint A = new Endpoint("10.0.0.1", 7380);
    private static final Endpoint A_REDIS = new Endpoint("10.0.0.1", 6379);
    private static final Endpoint B = new Endpoint("10.0.0.2", 7380);
    private static final Endpoint B_REDIS = new Endpoint("10.0.0.2", 6379);
    private static final Endpoint C = new Endpoint("10.0.0.3", 7380);
    private static final Endpoint C_REDIS = new Endpoint("10.0.0.3", 6379);
    private static final Endpoint D = new Endpoint("10.0.0.4", 7380);
    private static final Endpoint D_REDIS = new Endpoint("10.0.0.4", 6379);
    private static final long EPOCH = 5;

    @Test
    void theTopologyNamesTheReplicasOfThisNodesZone() {
        Election b = follower("eu-west-1a");
        assertThat(b.topology().replicas()).containsExactly(B_REDIS, C_REDIS, D_REDIS);
        assertThat(b.topology().nearReplicas()).as("its own redis and C, whose zone differs only in case")
                .containsExactly(B_REDIS, C_REDIS);
        assertThat(b.status(1000).zone()).as("told to peers").isEqualTo("eu-west-1a");
    }

    @Test
    void withoutAZoneNoReplicaIsNearer() {
        Election b = follower("");
        assertThat(b.topology().replicas()).containsExactly(B_REDIS, C_REDIS, D_REDIS);
        assertThat(b.topology().nearReplicas()).isEmpty();
    }

    /** B follows A (zone a); C says zone EU-WEST-1A, D says eu-west-1b, A eu-west-1a (a master, not a replica). */
    private static Election follower(String zone) {
        Election b = new Election(new ElectionSettings(B, B_REDIS, 8080, 250, 750, 3, Long.MAX_VALUE,
                ElectionSettings.DEFAULT_HANDOVER_TIMEOUT_MS, Quorum.NONE, 0, ElectionSettings.DEFAULT_BUSY_GRACE_MS,
                zone), 0);
        long now = 250;
        b.handle(new ElectionEvent.ProbeSucceeded(new RedisSnapshot("run-b", 2, "redis 7.0.15", RedisRole.REPLICA,
                A_REDIS.host(), A_REDIS.port(), true, false, 100, 10, 0), now));
        for (Map.Entry<Endpoint, String> peer : Map.of(A, "eu-west-1a", C, "EU-WEST-1A", D, "eu-west-1b").entrySet()) {
            Endpoint node = peer.getKey();
            boolean leads = node.equals(A);
            Endpoint redis = new Endpoint(node.host(), 6379);
            b.handle(new ElectionEvent.PeerStatusReceived(new NodeStatus(node, redis, 8080,
                    leads ? NodeState.LEADING : NodeState.FOLLOWING, EPOCH, A, 0, 100, false,
                    leads ? RedisRole.MASTER : RedisRole.REPLICA, !leads, "run-" + node.host(), 1, now, null, -1, 0,
                    -1, "", 0, "", Map.of(), "", "redis 7.0.15", peer.getValue()), now));
        }
        b.handle(new ElectionEvent.ProbeSucceeded(new RedisSnapshot("run-b", 2, "redis 7.0.15", RedisRole.REPLICA,
                A_REDIS.host(), A_REDIS.port(), true, false, 100, 10, 0), now));
        assertThat(b.state()).isEqualTo(NodeState.FOLLOWING);
        return b;
    }
}
