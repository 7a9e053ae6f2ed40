package dev.skep.app;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisDataException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * ACL users through the proxy, on a real 3-node hive whose redis servers know users: a client that authenticates
 * as a user gets that user's rights and redis's own error texts (-WRONGPASS, -NOPERM), its plain requests still go
 * over shared connections (one set per user, not one connection per client), and it keeps its user across a
 * failover. With {@code --redis-user} the agent and replication use a user of their own.
 */
class AclIT {
    private static final Duration ELECTION = Duration.ofSeconds(15);
    private static final String[] USERS = {
        "--requirepass", "hivepw",
        "--user", "alice", "on", ">alicepw", "~app:*", "+@all", "-flushall", "-flushdb",
        // the agent's least rights, as docs/security.md and the chart give them
        "--user", "skep", "on", ">skeppw", "resetchannels", "-@all", "+ping", "+info", "+config|set", "+replicaof",
        "+client|pause", "+client|unpause", "+acl|setuser", "+psync", "+replconf", "+sync"};
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    private static Jedis jedis(int port) {
        return new Jedis(new HostAndPort("127.0.0.1", port), DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(2000).socketTimeoutMillis(10_000).build());
    }

    private static String error(Runnable r) {
        return catchThrowableOfType(r::run, JedisDataException.class).getMessage();
    }

    @Test
    void aUserGetsItsRightsAndRedisOwnErrorsAndSharedConnectionsOfItsOwnAcrossAFailover() throws Exception {
        hive = HiveFixture.startWithRedis(3, "hivepw", "", USERS);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        HiveFixture.Node other = hive.nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        int port = other.config.proxyPort();

        // the errors redis gives alice directly, word for word
        String directNoPerm;
        String directWrongPass;
        try (Jedis direct = jedis(leader.redis.port())) {
            directWrongPass = error(() -> direct.auth("alice", "nope"));
            direct.auth("alice", "alicepw");
            directNoPerm = error(() -> direct.set("other:1", "x"));
        }

        List<Jedis> sessions = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Jedis j = jedis(port);
                sessions.add(j);
                assertThat(j.auth("alice", "alicepw")).isEqualTo("OK");
                assertThat(j.set("app:" + i, "v" + i)).isEqualTo("OK");
            }
            Jedis alice = sessions.get(0);
            assertThat(error(() -> alice.set("other:1", "x"))).isEqualTo(directNoPerm);
            assertThat(error(alice::flushAll)).startsWith("NOPERM");
            assertThat(alice.get("app:3")).isEqualTo("v3");
            try (Jedis wrong = jedis(port)) {
                assertThat(error(() -> wrong.auth("alice", "nope"))).isEqualTo(directWrongPass);
                assertThat(error(() -> wrong.get("app:1"))).startsWith("NOAUTH"); // still not authenticated
                assertThat(wrong.auth("alice", "alicepw")).isEqualTo("OK"); // a failure is not remembered
            }
            // 20 clients as alice, a handful of connections as alice on the master: shared, one set per user
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(connectionsAs(leader, "alice")).isBetween(1, 4));
            // the hive password still works for clients of the default user, on the proxy's own connections
            try (Jedis plain = jedis(port)) {
                plain.auth("hivepw");
                assertThat(plain.get("app:3")).isEqualTo("v3");
                assertThat(plain.set("other:1", "y")).isEqualTo("OK");
            }

            leader.redis.kill9();
            HiveFixture.Node next = hive.awaitLeaderOtherThan(leader, ELECTION);
            await().atMost(ELECTION).ignoreExceptions().untilAsserted(() ->
                    assertThat(sessions.get(1).set("app:after", "1")).isEqualTo("OK"));
            Jedis again = sessions.get(2);
            await().atMost(ELECTION).ignoreExceptions().until(() -> again.ping().equals("PONG"));
            assertThat(error(() -> again.set("other:2", "x"))).startsWith("NOPERM"); // still alice, on the new master
            assertThat(connectionsAs(next, "alice")).isBetween(1, 4);
        } finally {
            sessions.forEach(Jedis::close);
        }
    }

    @Test
    void lettuceHelloWithAUserStaysThatUserThroughTheWritePort() {
        hive = HiveFixture.startWithRedis(3, "hivepw", "", USERS);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        RedisClient client = RedisClient.create();
        RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(leader.config.proxyPort())
                .withAuthentication("alice", "alicepw").withTimeout(Duration.ofSeconds(10)).build();
        try (StatefulRedisConnection<String, String> c = client.connect(uri)) {
            assertThat(c.sync().set("app:l", "1")).isEqualTo("OK");
            assertThat(c.sync().aclWhoami()).isEqualTo("alice");
            assertThat(catchThrowableOfType(() -> c.sync().set("other:l", "1"),
                    io.lettuce.core.RedisCommandExecutionException.class).getMessage()).startsWith("NOPERM");
        } finally {
            client.shutdown();
        }
        // a wrong password in HELLO: redis's own text, the session still unauthenticated, the failure not remembered
        String directWrong;
        try (Jedis direct = jedis(leader.redis.port())) {
            directWrong = error(() -> direct.sendCommand(Protocol.Command.HELLO, "3", "AUTH", "alice", "nope"));
        }
        try (Jedis wrong = jedis(leader.config.proxyPort())) {
            assertThat(error(() -> wrong.sendCommand(Protocol.Command.HELLO, "3", "AUTH", "alice", "nope")))
                    .startsWith("WRONGPASS").isEqualTo(directWrong);
            assertThat(error(() -> wrong.get("app:l"))).startsWith("NOAUTH");
            assertThat(wrong.auth("alice", "alicepw")).isEqualTo("OK");
            assertThat(wrong.get("app:l")).isEqualTo("1");
        }
    }

    @Test
    void withItsOwnUserTheAgentAndReplicationAuthenticateAsItAndClientsAuthenticateToRedis() throws Exception {
        hive = HiveFixture.startWithRedis(3, "skeppw", "skep", USERS);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        for (HiveFixture.Node n : hive.nodes) {
            assertThat(n.redis.jedis().configGet("masteruser").get("masteruser")).isEqualTo("skep");
            if (n != leader) {
                assertThat(HiveFixture.infoField(n.redis.jedis().info("replication"), "master_link_status"))
                        .isEqualTo("up");
            }
        }
        assertThat(connectionsAs(leader, "skep")).isPositive(); // the agent's control connection
        try (Jedis client = jedis(leader.config.proxyPort())) {
            // the proxy holds no password of its own now: redis itself asks for one
            assertThat(error(() -> client.get("app:1"))).startsWith("NOAUTH");
            assertThat(client.auth("hivepw")).isEqualTo("OK"); // redis's default user
            assertThat(client.aclWhoAmI()).isEqualTo("default");
            assertThat(client.set("k", "v")).isEqualTo("OK");
        }
        try (Jedis alice = jedis(leader.config.proxyPort())) {
            alice.auth("alice", "alicepw");
            assertThat(alice.aclWhoAmI()).isEqualTo("alice");
        }
    }

    /** How many of {@code n}'s redis's clients are authenticated as {@code user}. */
    private static int connectionsAs(HiveFixture.Node n, String user) {
        return (int) Arrays.stream(n.redis.jedis().clientList().split("\n"))
                .filter(l -> l.contains(" user=" + user + " ")).count();
    }
}
