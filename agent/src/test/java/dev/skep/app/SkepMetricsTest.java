package dev.skep.app;

import dev.skep.http.CannedHiveStatus;
import dev.skep.metrics.SkepMetrics;
import dev.skep.redis.RedisRole;
import dev.skep.status.HiveEvent;
import dev.skep.status.NodeState;
import dev.skep.support.PrometheusText;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link SkepMetrics} alone, fed by hand: what the lead's handover and the election's events do to it. */
class SkepMetricsTest {
    @Test
    void everyElectionStateAndRedisRoleHasItsSeries() {
        assertThat(SkepMetrics.STATES).containsExactlyInAnyOrderElementsOf(
                Arrays.stream(NodeState.values()).map(Enum::name).toList());
        assertThat(SkepMetrics.ROLES).containsExactlyInAnyOrderElementsOf(
                Arrays.stream(RedisRole.values()).map(Enum::name).toList());
    }

    @Test
    void boundCountersSurviveAGarbageCollection() throws Exception {
        try (SkepMetrics metrics = new SkepMetrics(() -> null)) {
            java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong(41);
            metrics.bindPeerMessages(() -> sent.get() + 1, () -> 7, () -> 0);
            // function meters hold their object weakly: the lambdas above must be kept by the metrics
            for (int i = 0; i < 3; i++) {
                System.gc(); // a full collection, synchronous with the JDK's collectors by default
            }
            PrometheusText m = PrometheusText.parse(metrics.scrape());
            assertThat(m.value("skep_peer_messages_sent_total")).isEqualTo(42);
            assertThat(m.value("skep_peer_messages_received_total")).isEqualTo(7);
        }
    }

    @Test
    void handoverPausesElectionsAndLeaderChangesAreCounted() {
        try (SkepMetrics metrics = new SkepMetrics(() -> CannedHiveStatus.threeNodes(true, ""))) {
            metrics.handoverPause(Duration.ofMillis(30));
            metrics.handoverPause(Duration.ofMillis(300));
            metrics.onEvent(new HiveEvent(0, "n", "leader-lost", "leader 127.0.0.1:7014 of epoch 3 lost: now NOT_READY"));
            metrics.onEvent(new HiveEvent(0, "n", "election", "no live leader: proposing with offset 1200"));
            Endpoint leader = Endpoint.parse("127.0.0.1:7014");
            Endpoint master = Endpoint.parse("127.0.0.1:7010");
            metrics.onTopology(Topology.NONE, new Topology(3, leader, master, List.of()));
            metrics.onTopology(Topology.NONE, new Topology(3, leader, master, List.of(Endpoint.parse("127.0.0.1:7000"))));
            metrics.onTopology(Topology.NONE, new Topology(4, null, null, List.of()));

            PrometheusText m = PrometheusText.parse(metrics.scrape());
            assertThat(m.value("skep_handover_pause_seconds_count")).isEqualTo(2);
            assertThat(m.value("skep_handover_pause_seconds_sum")).isCloseTo(0.33, org.assertj.core.data.Offset.offset(1e-9));
            assertThat(m.value("skep_handover_pause_seconds_bucket", "le", "0.05")).isEqualTo(1);
            assertThat(m.value("skep_handover_pause_seconds_bucket", "le", "+Inf")).isEqualTo(2);
            assertThat(m.value("skep_elections_total", "cause", "leader_redis_down")).isEqualTo(1);
            assertThat(m.value("skep_events_total", "kind", "leader-lost")).isEqualTo(1);
            assertThat(m.value("skep_leader_changes_total")).as("one leadership, epoch 3").isEqualTo(1);
            // the canned status: this node follows, a member is gone, lag known for two of three
            assertThat(m.value("skep_node_state", "state", "following")).isEqualTo(1);
            assertThat(m.value("skep_redis_role", "role", "replica")).isEqualTo(1);
            assertThat(m.value("skep_members_alive")).isEqualTo(2);
            assertThat(m.samples("skep_replication_offset_bytes")).hasSize(3);
            assertThat(m.samples("skep_replication_lag_bytes")).hasSize(2);
            assertThat(m.value("skep_replication_offset_bytes", "node", "127.0.0.1:7024")).isEqualTo(900);
        }
    }
}
