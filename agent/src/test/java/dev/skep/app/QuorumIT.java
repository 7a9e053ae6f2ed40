package dev.skep.app;

import dev.skep.status.NodeState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * {@code --quorum majority} in a hive of real agents: a leader that no longer hears a majority (the other
 * agents are gone, as they would be behind a partition) stops leading, its proxy stops forwarding writes,
 * and its redis refuses direct writes; the majority keeps failing over as usual. Partitions with real
 * network isolation are in the network-namespace tests.
 */
class QuorumIT {
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    @Test
    void leaderThatLosesItsMajorityStepsDownAndFencesItsRedis() {
        hive = HiveFixture.start(3, "", "majority");
        HiveFixture.Node leader = hive.awaitLeader(Duration.ofSeconds(10));
        try (Jedis through = new Jedis(new HostAndPort("127.0.0.1", leader.config.proxyPort()),
                DefaultJedisClientConfig.builder().socketTimeoutMillis(10_000).build())) {
            assertThat(through.set("k", "1")).isEqualTo("OK");

            for (HiveFixture.Node n : hive.nodes) {
                if (n != leader) {
                    n.stopAgent(); // silent, as behind a partition (their redis stay up and replicating)
                }
            }
            await().atMost(Duration.ofMillis(HiveFixture.PEER_TIMEOUT_MS * 4L))
                    .until(() -> leader.status().state() != NodeState.LEADING);
            assertThat(leader.status().events()).anySatisfy(e -> assertThat(e.message()).contains("no majority"));
            // clients writing to the redis directly are fenced too
            await().atMost(Duration.ofSeconds(2)).untilAsserted(() ->
                    assertThatThrownBy(() -> leader.redis.jedis().set("direct", "x"))
                            .isInstanceOf(JedisDataException.class).hasMessageContaining("NOREPLICAS"));
            // and no node elects itself with one of three
            assertThat(leader.status().state()).isNotEqualTo(NodeState.LEADING);
        }
    }

    @Test
    void majorityFailsOverWhenTheMastersRedisDiesAndTheNewMasterTakesWrites() {
        hive = HiveFixture.start(3, "", "majority");
        HiveFixture.Node old = hive.awaitLeader(Duration.ofSeconds(10));
        old.redis.kill9();
        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(5));
        try (Jedis through = new Jedis(new HostAndPort("127.0.0.1", next.config.proxyPort()),
                DefaultJedisClientConfig.builder().socketTimeoutMillis(10_000).build())) {
            assertThat(through.set("after", "1")).isEqualTo("OK"); // min-replicas-to-write was lifted (0)
        }
        assertThat(next.redis.jedis().configGet("min-replicas-to-write")).containsEntry("min-replicas-to-write", "0");
    }
}
