package dev.skep.up;

import dev.skep.redis.InfoParser;
import dev.skep.redis.RedisController;
import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.support.RedisServerFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * What a redis started with {@link LocalHive#FENCED_AT_BIRTH} (as {@code skep up}, the chart and the manifests start
 * it) does to the replicas of the master it replaces when it restarts empty, on real redis servers and no agent: the
 * replicas reconnect to it on their own within a second, before any agent can have seen the restart. Born a
 * replica of nowhere, it refuses them a sync and they keep their data; born only with {@code min-replicas-to-write}
 * (what Skep did before), it is a master that hands them its empty dataset.
 */
class FencedAtBirthIT {
    private static final int KEYS = 200;
    private final List<RedisServerFixture> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        servers.forEach(RedisServerFixture::close);
    }

    @Test
    void aMasterRestartedEmptyAsAReplicaOfNowhereLeavesItsReplicasTheirData() {
        RedisServerFixture master = start(LocalHive.FENCED_AT_BIRTH);
        RedisServerFixture replica = replicaWithData(master);

        master.restartEmpty(); // SIGKILL, then the same command again: what a supervisor or the kubelet does
        Jedis restarted = master.jedis();
        RedisSnapshot born = InfoParser.parse(restarted.info());
        assertThat(born.role()).isEqualTo(RedisRole.REPLICA);
        assertThat(born.masterPort()).isEqualTo(RedisController.NOWHERE.port());
        assertThat(born.fenced()).isTrue();
        // the replica's replication cron has asked it for a sync, twice, and was refused (-NOMASTERLINK)
        await().atMost(Duration.ofSeconds(10)).until(() -> psyncCalls(restarted) >= 2);
        assertThat(replica.jedis().dbSize()).isEqualTo(KEYS);
        assertThat(replica.jedis().get("k" + (KEYS - 1))).isEqualTo("v" + (KEYS - 1));
        assertThatThrownBy(() -> restarted.set("direct", "write")).isInstanceOf(JedisDataException.class)
                .hasMessageStartingWith("READONLY");
    }

    /** The contrast, so that the test above can tell: a master born fenced by min-replicas-to-write alone. */
    @Test
    void aMasterRestartedEmptyWithOnlyMinReplicasToWriteWipesItsReplicas() {
        RedisServerFixture master = start(List.of("--min-replicas-to-write",
                Integer.toString(RedisController.FENCED_MIN_REPLICAS), "--repl-diskless-sync-delay", "0"));
        master.jedis().configSet("min-replicas-to-write", "0");
        RedisServerFixture replica = replicaWithData(master);

        master.restartEmpty();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(replica.jedis().dbSize()).isZero());
        assertThatThrownBy(() -> master.jedis().set("direct", "write")).isInstanceOf(JedisDataException.class)
                .hasMessageStartingWith("NOREPLICAS");
    }

    private RedisServerFixture start(List<String> args) {
        RedisServerFixture s = RedisServerFixture.start(args.toArray(String[]::new));
        servers.add(s);
        return s;
    }

    /** Makes {@code master} one (as an agent's promotion does), gives it a replica and {@link #KEYS} keys. */
    private RedisServerFixture replicaWithData(RedisServerFixture master) {
        Jedis m = master.jedis();
        m.configSet("min-replicas-to-write", "0");
        m.replicaofNoOne();
        RedisServerFixture replica = start(List.of());
        replica.jedis().replicaof("127.0.0.1", master.port());
        for (int i = 0; i < KEYS; i++) {
            m.set("k" + i, "v" + i);
        }
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            assertThat(InfoParser.parse(replica.jedis().info()).linkUp()).isTrue();
            assertThat(replica.jedis().dbSize()).isEqualTo(KEYS);
        });
        return replica;
    }

    private static long psyncCalls(Jedis redis) {
        for (String line : redis.info("commandstats").split("\r?\n")) {
            if (line.startsWith("cmdstat_psync:calls=")) {
                return Long.parseLong(line.substring("cmdstat_psync:calls=".length(), line.indexOf(',')));
            }
        }
        return 0;
    }
}
