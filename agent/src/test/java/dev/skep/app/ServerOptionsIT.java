package dev.skep.app;

import dev.skep.config.ServerOptions;
import dev.skep.status.HiveStatus;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import dev.skep.support.RedisServerFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.skep.app.HiveFixture.infoField;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the agent asks of its server on request: {@code --availability-zone} (the read port prefers its zone's
 * replicas, falling back to the others; Valkey 8.1 is told the zone) and {@code --dual-channel-replication} (Valkey
 * 8: set on every node; a server without it leaves the node not ready, saying so).
 */
class ServerOptionsIT {
    private static final Duration WITHIN = Duration.ofSeconds(15);
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    private static java.util.function.IntFunction<ServerOptions> zones(String... zones) {
        return i -> new ServerOptions(false, zones[i]);
    }

    /**
     * Leader in zone a, replicas in b and a: the leader's read port (zone a) sends every read session to the zone-a
     * replica, node 1's (zone b) to its own redis; with the zone-a replica down, the leader's falls back to zone b.
     */
    @Test
    void theReadPortPrefersTheReplicasOfItsOwnZoneAndFallsBackToTheOthers() {
        List<Path> defaults = Arrays.asList(null, null, null);
        hive = HiveFixture.startServers(defaults, zones("zone-a", "zone-b", "ZONE-A"));
        HiveFixture.Node leader = hive.node(0);
        HiveFixture.Node inB = hive.node(1);
        HiveFixture.Node inA = hive.node(2);
        await().atMost(WITHIN).until(() -> leader.agent.topology().current().replicas().size() == 2
                && inB.agent.topology().current().replicas().size() == 2);
        assertThat(leader.agent.topology().current().nearReplicas()).containsExactly(inA.redis.endpoint());

        assertThat(servedBy(leader, 6)).as("zone a's read port: zone a's replica only")
                .isEqualTo(Map.of(inA.redis.port(), 6));
        assertThat(servedBy(inB, 6)).as("zone b's read port: its own redis only").isEqualTo(Map.of(inB.redis.port(), 6));

        inA.redis.kill9();
        await().atMost(WITHIN).until(() -> !leader.agent.topology().current().replicas().contains(inA.redis.endpoint()));
        assertThat(servedBy(leader, 4)).as("no zone-a replica: zone b's").isEqualTo(Map.of(inB.redis.port(), 4));
    }

    @Test
    void withoutZonesReadsSpreadOverEveryReplica() {
        hive = HiveFixture.startServers(Arrays.asList(null, null, null));
        HiveFixture.Node leader = hive.node(0);
        await().atMost(WITHIN).until(() -> leader.agent.topology().current().replicas().size() == 2);
        assertThat(leader.agent.topology().current().nearReplicas()).isEmpty();
        // spread evenly per event loop (each loop counts its own sessions): both replicas serve some
        assertThat(servedBy(leader, 8).keySet()).containsExactlyInAnyOrder(hive.node(1).redis.port(),
                hive.node(2).redis.port());
    }

    /**
     * Redis 7.0 has no dual-channel replication: the node that asked for it is not ready and says why. The PATH's
     * redis 7.0.15 whatever {@code SKEP_SERVER_BIN} says (under a Valkey one the option would be taken).
     */
    @Test
    void dualChannelReplicationOnAServerWithoutItLeavesTheNodeNotReadySayingWhy() {
        Path redis7 = RedisServerFixture.pathServer();
        hive = HiveFixture.startServers(List.of(redis7, redis7), i -> new ServerOptions(i == 1, ""));
        HiveFixture.Node asked = hive.node(1);
        await().atMost(WITHIN).untilAsserted(() -> {
            HiveStatus s = asked.status();
            assertThat(s.ready()).isFalse();
            assertThat(s.readyReason()).contains("--dual-channel-replication: the local " + asked.redis.version()
                    + " refused CONFIG SET dual-channel-replication-enabled yes").contains("Valkey 8.0 and later");
        });
        assertThat(hive.node(0).status().ready()).isTrue();
    }

    /** Valkey 8.1: both options reach the server on every node, and the hive replicates as usual. */
    @Test
    @Needs(Need.OTHER_SERVERS)
    void valkeyTakesDualChannelReplicationAndTheZone() {
        Path valkey = RedisServerFixture.builtServer("valkey-8.1.1");
        hive = HiveFixture.startServers(List.of(valkey, valkey), i -> new ServerOptions(true, "zone-" + i));
        for (HiveFixture.Node n : hive.nodes) {
            await().atMost(WITHIN).untilAsserted(() -> {
                assertThat(n.redis.jedis().configGet("dual-channel-replication-enabled"))
                        .containsEntry("dual-channel-replication-enabled", "yes");
                assertThat(n.redis.jedis().configGet("availability-zone"))
                        .containsEntry("availability-zone", "zone-" + n.index);
                assertThat(n.status().ready()).as("%s ready (%s)", n, n.status().readyReason()).isTrue();
            });
        }
        hive.node(0).redis.jedis().set("k", "v");
        await().atMost(WITHIN).until(() -> "v".equals(hive.node(1).redis.jedis().get("k")));
        assertThat(infoField(hive.node(1).redis.jedis().info("replication"), "master_link_status")).isEqualTo("up");
    }

    /** The redis ports that served {@code sessions} new read sessions of {@code node}'s read port (INFO's tcp_port). */
    private static Map<Integer, Integer> servedBy(HiveFixture.Node node, int sessions) {
        Map<Integer, Integer> served = new TreeMap<>();
        List<Jedis> open = new ArrayList<>(); // held open, so that each counts for the spread as a live session
        try {
            for (int i = 0; i < sessions; i++) {
                Jedis j = new Jedis("127.0.0.1", node.config.readPort());
                open.add(j);
                served.merge(Integer.parseInt(infoField(j.info("server"), "tcp_port")), 1, Integer::sum);
            }
        } finally {
            open.forEach(Jedis::close);
        }
        return served;
    }
}
