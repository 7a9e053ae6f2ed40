package dev.skep.app;

import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import dev.skep.support.RedisServerFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import redis.clients.jedis.Jedis;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static dev.skep.app.HiveFixture.infoField;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A hive whose nodes run different servers (issue 19): the master's redis on one server, a follower's on another.
 * Where the follower's server cannot load the master's full sync (a newer RDB format than it reads), its agent
 * does not point it there (a sync that would fail for ever) and says why: not ready with the reason, one
 * {@code incompatible-master} event; where it can, the mixed hive replicates as any other. The pairs are the ones
 * measured for {@link dev.skep.redis.ServerVersion}: the PATH's redis 7.0.15 and {@code .ci/build-servers}' Redis
 * 8.0.2 and Valkey 8.1.1, whatever {@code SKEP_SERVER_BIN} says.
 */
@Needs(Need.OTHER_SERVERS)
class MixedFleetIT {
    private static final Duration WITHIN = Duration.ofSeconds(15);
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    private static Path server(String name) {
        return name.equals("redis-7.0.15") ? RedisServerFixture.pathServer() : RedisServerFixture.builtServer(name);
    }

    /** Master's server, follower's server: the follower cannot load the master's full sync. */
    static Stream<Arguments> refused() {
        return Stream.of(Arguments.of("redis-8.0.2", "valkey-8.1.1"), Arguments.of("valkey-8.1.1", "redis-7.0.15"),
                Arguments.of("redis-8.0.2", "redis-7.0.15"));
    }

    /** Master's server, follower's server: the follower loads the master's full sync. */
    static Stream<Arguments> allowed() {
        return Stream.of(Arguments.of("redis-7.0.15", "valkey-8.1.1"), Arguments.of("valkey-8.1.1", "redis-8.0.2"),
                Arguments.of("redis-7.0.15", "redis-8.0.2"));
    }

    @ParameterizedTest(name = "{0} master, {1} follower")
    @MethodSource("refused")
    void aFollowerThatCannotLoadTheMastersSyncIsNotPointedAtItAndSaysWhy(String master, String follower) {
        hive = HiveFixture.startServers(List.of(server(master), server(follower)));
        HiveFixture.Node leader = hive.node(0);
        HiveFixture.Node other = hive.node(1);
        assertThat(leader.redis.version()).isEqualTo(master.replace('-', ' '));
        assertThat(other.redis.version()).isEqualTo(follower.replace('-', ' '));

        await().atMost(WITHIN).untilAsserted(() -> {
            HiveStatus s = other.status();
            assertThat(s.state()).isEqualTo(NodeState.FOLLOWING);
            assertThat(s.leader()).isEqualTo(leader.peer());
            assertThat(s.ready()).isFalse();
            assertThat(s.readyReason()).startsWith("local " + follower.replace('-', ' ') + " cannot replicate the "
                    + "master's " + master.replace('-', ' '));
        });
        // for a while (20 heartbeats): still not replicating, and said once, not at every heartbeat
        long until = System.nanoTime() + Duration.ofMillis(20L * HiveFixture.HEARTBEAT_MS).toNanos();
        while (System.nanoTime() < until) {
            assertThat(other.redisRole()).as("%s's redis never pointed at the master", other).isEqualTo("master");
            assertThat(infoField(leader.redis.jedis().info("replication"), "connected_slaves")).isEqualTo("0");
            sleep(HiveFixture.HEARTBEAT_MS);
        }
        assertThat(incompatible(other)).hasSize(1).allSatisfy(e -> assertThat(e.message())
                .contains("not replicating leader " + leader.peer()));
        assertThat(other.status().ready()).isFalse();

        // the hive's clients are still served, through either node's write port
        try (Jedis viaOther = new Jedis("127.0.0.1", other.config.proxyPort())) {
            viaOther.set("written", "through the refused node");
        }
        assertThat(leader.redis.jedis().get("written")).isEqualTo("through the refused node");
        assertThat(leader.status().ready()).isTrue();
    }

    @ParameterizedTest(name = "{0} master, {1} follower")
    @MethodSource("allowed")
    void aFollowerThatLoadsTheMastersSyncReplicatesIt(String master, String follower) {
        hive = HiveFixture.startServers(List.of(server(master), server(follower)));
        HiveFixture.Node leader = hive.node(0);
        HiveFixture.Node other = hive.node(1);
        assertThat(other.redis.version()).isEqualTo(follower.replace('-', ' '));
        leader.redis.jedis().set("before", "the follower joined"); // in its full sync

        await().atMost(WITHIN).untilAsserted(() -> {
            String info = other.redis.jedis().info("replication");
            assertThat(infoField(info, "role")).isEqualTo("slave");
            assertThat(infoField(info, "master_port")).isEqualTo(Integer.toString(leader.redis.port()));
            assertThat(infoField(info, "master_link_status")).isEqualTo("up");
            HiveStatus s = other.status();
            assertThat(s.ready()).as("%s ready (%s)", other, s.readyReason()).isTrue();
        });
        // written before the follower's agent pointed its redis here (in the full sync) or just after (streamed
        // behind it): either way on the replica, at most a moment after its link is up
        await().atMost(WITHIN).until(() -> "the follower joined".equals(other.redis.jedis().get("before")));
        leader.redis.jedis().set("after", "streamed");
        await().atMost(WITHIN).until(() -> "streamed".equals(other.redis.jedis().get("after")));
        assertThat(incompatible(other)).isEmpty();
    }

    private static List<HiveEvent> incompatible(HiveFixture.Node n) {
        return n.status().events().stream().filter(e -> e.kind().equals("incompatible-master")).toList();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
