package dev.skep.app;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * A new hive password written to each node's password file (as the kubelet rewrites a mounted Secret, on each pod
 * a little apart) is rotated in under write load: every request of clients authenticated before, during and after
 * succeeds, no replication link breaks, both passwords work until every redis has the new one and the window has
 * passed, then only the new one. The same for the agent's own ACL user ({@code --redis-user}), as whom replicas
 * replicate: its password changes under the established links, under the same load.
 */
class PasswordRotationIT {
    private static final Duration ELECTION = Duration.ofSeconds(15);
    private static final long WINDOW_MS = 3000;
    @TempDir
    Path dir;
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    private static Jedis connect(int port, String password) {
        Jedis j = new Jedis(new HostAndPort("127.0.0.1", port), DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(2000).socketTimeoutMillis(10_000).build());
        j.auth(password);
        return j;
    }

    @Test
    void aRotatedPasswordReachesTheWholeHiveUnderLoadWithNoFailedRequestAndNoBrokenReplicationLink() throws Exception {
        hive = HiveFixture.startWithPasswordFiles(3, "old-pw", dir, WINDOW_MS);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        long fullSyncs = stat(leader, "old-pw", "sync_full");

        Load load = new Load(hive, leader, "old-pw"); // authenticated before the rotation

        // the Secret reaches the pods one after the other
        for (HiveFixture.Node n : hive.nodes) {
            Files.writeString(hive.passwordFile(n.index), "new-pw\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> hasEvent(n, "password-accepted"));
            // as soon as a node's redis has it, its proxy takes it from clients, next to the old one
            try (Jedis early = connect(n.config.proxyPort(), "new-pw")) {
                assertThat(early.get("counter")).isNotNull();
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> hive.nodes.stream().allMatch(n -> hasEvent(n,
                "password-switched")));
        // within the window the old password still opens new connections, through the proxy and to redis
        try (Jedis late = connect(hive.node(1).config.proxyPort(), "old-pw")) {
            assertThat(late.get("counter")).isNotNull();
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> hive.nodes.stream().allMatch(n -> hasEvent(n,
                "password-retired")));
        for (HiveFixture.Node n : hive.nodes) {
            try (Jedis direct = connect(n.redis.port(), "new-pw")) {
                assertThat(direct.configGet("masterauth").get("masterauth")).isEqualTo("new-pw");
            }
            try (Jedis j = new Jedis("127.0.0.1", n.config.proxyPort())) {
                assertThat(catchThrowableOfType(() -> j.auth("old-pw"), JedisDataException.class).getMessage())
                        .startsWith("WRONGPASS");
                assertThat(j.auth("new-pw")).isEqualTo("OK");
            }
            try (Jedis j = new Jedis("127.0.0.1", n.redis.port())) {
                assertThat(catchThrowableOfType(() -> j.auth("old-pw"), JedisDataException.class).getMessage())
                        .startsWith("WRONGPASS");
            }
        }
        hive.nodes.forEach(n -> n.redis.usePassword("new-pw"));
        load.stopAndAssertNothingBroke(leader, "new-pw", fullSyncs);
        // a failover after the rotation: the new master's replicas authenticate with the new password
        leader.redis.kill9();
        HiveFixture.Node next = hive.awaitLeaderOtherThan(leader, ELECTION);
        await().atMost(ELECTION).untilAsserted(() -> {
            for (HiveFixture.Node n : hive.nodes) {
                if (n != next && n != leader) {
                    try (Jedis direct = connect(n.redis.port(), "new-pw")) {
                        assertThat(HiveFixture.infoField(direct.info("replication"), "master_link_status"))
                                .isEqualTo("up");
                    }
                }
            }
        });
    }

    @Test
    void theAgentsOwnUsersPasswordIsRotatedUnderLoadWithNoFailedRequestAndNoBrokenReplicationLink() throws Exception {
        String[] users = {"--requirepass", "hivepw", "--user", "skep", "on", ">old-agent-pw", "resetchannels", "-@all",
            "+ping", "+info", "+config|set", "+replicaof", "+client|pause", "+client|unpause", "+acl|setuser", "+psync",
            "+replconf", "+sync"};
        hive = HiveFixture.startWithPasswordFiles(3, "old-agent-pw", dir, WINDOW_MS, "skep", users);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        long fullSyncs = stat(leader, "hivepw", "sync_full");
        try (Jedis w = connect(leader.config.proxyPort(), "hivepw")) {
            assertThat(w.set("before", "1")).isEqualTo("OK"); // clients use redis's default user: untouched
        }
        // under write load: replication authenticates as skep, whose password changes under its established links
        Load load = new Load(hive, leader, "hivepw");
        for (HiveFixture.Node n : hive.nodes) {
            Files.writeString(hive.passwordFile(n.index), "new-agent-pw\n");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> hive.nodes.stream().allMatch(n -> hasEvent(n,
                "password-retired")));
        load.stopAndAssertNothingBroke(leader, "hivepw", fullSyncs);
        for (HiveFixture.Node n : hive.nodes) {
            try (Jedis j = new Jedis("127.0.0.1", n.redis.port())) {
                assertThat(catchThrowableOfType(() -> j.auth("skep", "old-agent-pw"), JedisDataException.class)
                        .getMessage()).startsWith("WRONGPASS");
                assertThat(j.auth("skep", "new-agent-pw")).isEqualTo("OK");
            }
            assertThat(n.redis.jedis().configGet("masterauth").get("masterauth")).isEqualTo("new-agent-pw");
        }
        try (Jedis w = connect(leader.config.proxyPort(), "hivepw")) {
            assertThat(w.set("after", "1")).isEqualTo("OK");
        }
        // a failover afterwards: the replicas of the new master authenticate as skep with the new password
        leader.redis.kill9();
        HiveFixture.Node next = hive.awaitLeaderOtherThan(leader, ELECTION);
        await().atMost(ELECTION).untilAsserted(() -> {
            for (HiveFixture.Node n : hive.nodes) {
                if (n != next && n != leader) {
                    assertThat(HiveFixture.infoField(n.redis.jedis().info("replication"), "master_link_status"))
                            .isEqualTo("up");
                }
            }
        });
        try (Jedis w = connect(next.config.proxyPort(), "hivepw")) {
            assertThat(w.get("after")).isEqualTo("1");
        }
    }

    /**
     * Redis servers restarted in the middle of a rotation with only the new password (the chart's auth.rotation: the
     * container reads the mounted file at start), one after its agent had it accept the new password, one before its
     * agent saw the file change: neither agent can reach its redis with the old password until the hive switches,
     * then each takes its redis back, and the rotation completes on every node, those two included, whose redis
     * never had the old password to retire. Each agent keeps watching its redis (a refused AUTH does not end it).
     */
    @Test
    void redisServersRestartedMidRotationWithTheNewPasswordRejoinAndTheRotationCompletes() throws Exception {
        hive = HiveFixture.startWithPasswordFiles(3, "old-pw", dir, WINDOW_MS);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        try (Jedis w = connect(leader.config.proxyPort(), "old-pw")) {
            assertThat(w.set("k", "v")).isEqualTo("OK");
        }
        List<HiveFixture.Node> replicas = hive.nodes.stream().filter(n -> n != leader).toList();
        HiveFixture.Node afterAccept = replicas.get(0);
        HiveFixture.Node beforeAccept = replicas.get(1);
        Files.writeString(hive.passwordFile(afterAccept.index), "new-pw\n");
        await().atMost(Duration.ofSeconds(5)).until(() -> hasEvent(afterAccept, "password-accepted"));
        afterAccept.redis.restartEmpty("--requirepass", "new-pw");
        beforeAccept.redis.restartEmpty("--requirepass", "new-pw");
        Files.writeString(hive.passwordFile(beforeAccept.index), "new-pw\n");
        Files.writeString(hive.passwordFile(leader.index), "new-pw\n");

        await().atMost(Duration.ofSeconds(20)).until(() -> hive.nodes.stream().allMatch(n -> hasEvent(n,
                "password-retired")));
        hive.nodes.forEach(n -> n.redis.usePassword("new-pw"));
        HiveFixture.Node now = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(now);
        for (HiveFixture.Node n : hive.nodes) {
            assertThat(n.redis.jedis().configGet("masterauth")).containsEntry("masterauth", "new-pw");
            try (Jedis j = new Jedis("127.0.0.1", n.config.proxyPort())) {
                assertThat(catchThrowableOfType(() -> j.auth("old-pw"), JedisDataException.class).getMessage())
                        .startsWith("WRONGPASS");
                assertThat(j.auth("new-pw")).isEqualTo("OK");
                assertThat(j.get("k")).isEqualTo("v");
            }
        }
        for (HiveFixture.Node n : replicas) {
            assertThat(n.redis.jedis().get("k")).as("%s resynced", n).isEqualTo("v");
        }
    }

    /**
     * Load on a hive during a rotation: a writer per node incrementing one counter through that node's write port,
     * on a connection authenticated (with {@code clientPassword}) before the rotation, and a watch sampling every
     * replica's {@code master_link_status} on connections of its own, both until {@link #stopAndAssertNothingBroke}
     * (or 60 s).
     */
    private static final class Load {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        private final AtomicLong acknowledged = new AtomicLong();
        private final AtomicLong linkDownSeen = new AtomicLong();
        private final List<Thread> threads = new ArrayList<>();

        Load(HiveFixture hive, HiveFixture.Node leader, String clientPassword) {
            for (HiveFixture.Node n : hive.nodes) {
                Jedis writer = connect(n.config.proxyPort(), clientPassword);
                threads.add(new Thread(() -> {
                    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                    try (writer) {
                        while (!stop.get() && System.nanoTime() < deadline) {
                            try {
                                writer.incr("counter");
                                acknowledged.incrementAndGet();
                            } catch (RuntimeException e) {
                                failures.add(n + ": " + e);
                                return;
                            }
                        }
                    }
                }, "writer-" + n.index));
            }
            List<Jedis> replicas = new ArrayList<>();
            for (HiveFixture.Node n : hive.nodes) {
                if (n != leader) {
                    replicas.add(n.redis.newJedis());
                }
            }
            threads.add(new Thread(() -> {
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!stop.get() && System.nanoTime() < deadline) {
                    for (Jedis r : replicas) {
                        if (!HiveFixture.infoField(r.info("replication"), "master_link_status").equals("up")) {
                            linkDownSeen.incrementAndGet();
                        }
                    }
                }
                replicas.forEach(Jedis::close);
            }, "link-watch"));
            threads.forEach(Thread::start);
        }

        /**
         * Stops the load, then asserts no request failed, no replica's link was seen down, the master made no full
         * sync since {@code fullSyncsBefore}, and every acknowledged increment is in the counter ({@code password}:
         * the default user's, for the master's redis and its proxy).
         */
        void stopAndAssertNothingBroke(HiveFixture.Node leader, String password, long fullSyncsBefore)
                throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join(10_000);
            }
            assertThat(failures).as("requests that failed during the rotation").isEmpty();
            assertThat(acknowledged.get()).isPositive();
            assertThat(linkDownSeen.get()).as("samples of a replica whose link to the master was down").isZero();
            assertThat(stat(leader, password, "sync_full")).as("full syncs on the master").isEqualTo(fullSyncsBefore);
            try (Jedis j = connect(leader.config.proxyPort(), password)) {
                assertThat(Long.parseLong(j.get("counter"))).isEqualTo(acknowledged.get());
            }
        }
    }

    private static boolean hasEvent(HiveFixture.Node n, String kind) {
        return n.status().events().stream().anyMatch(e -> e.kind().equals(kind));
    }

    private static long stat(HiveFixture.Node n, String password, String name) {
        try (Jedis direct = connect(n.redis.port(), password)) {
            return Long.parseLong(HiveFixture.infoField(direct.info("stats"), name));
        }
    }
}
