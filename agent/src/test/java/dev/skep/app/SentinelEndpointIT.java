package dev.skep.app;

import dev.skep.support.ExternalProcess;
import io.lettuce.core.ReadFrom;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.masterreplica.MasterReplica;
import io.lettuce.core.masterreplica.StatefulRedisMasterReplicaConnection;
import io.lettuce.core.models.role.RedisInstance;
import io.lettuce.core.models.role.RedisNodeDescription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.JedisSentinelPool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Sentinel-aware clients against the Sentinel-compatible endpoints of a real 3-node hive: they find the
 * master, write and read, and follow it when its redis is killed with kill -9, without being restarted.
 * All traffic goes to 127.0.0.1; every load loop is bounded in count and time.
 */
class SentinelEndpointIT {
    private static final Logger log = LoggerFactory.getLogger(SentinelEndpointIT.class);
    private static final Duration ELECTION = Duration.ofSeconds(10);
    /** What the issue asks of Sentinel clients after kill -9 of the master's redis. */
    private static final long CONTINUE_WITHIN_MS = 2_000;
    /**
     * Lettuce's master/replica connection refreshes its topology at most once per 5 s, and the first refresh
     * after a Sentinel event is scheduled 5 s after it (SentinelTopologyRefresh.TimedSemaphore in Lettuce
     * 6.5): it cannot follow any Sentinel faster than that.
     */
    private static final long LETTUCE_REFRESH_DELAY_MS = 5_000;

    private HiveFixture hive;
    private final List<AutoCloseable> clients = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = clients.size() - 1; i >= 0; i--) {
            try {
                clients.get(i).close();
            } catch (Exception e) {
                log.warn("closing a client: {}", e.toString());
            }
        }
        if (hive != null) {
            hive.close();
        }
    }

    @Test
    void everyNodeTellsWhereTheMasterIsAndListsItsHealthyReplicas() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        awaitHealthyReplicas(2);
        for (HiveFixture.Node n : hive.nodes) {
            try (Jedis sentinel = new Jedis("127.0.0.1", n.sentinelPort())) {
                await().atMost(ELECTION).untilAsserted(() -> assertThat(sentinel.sentinelGetMasterAddrByName("mymaster"))
                        .containsExactly("127.0.0.1", Integer.toString(leader.redis.port())));
                assertThat(sentinel.sentinelGetMasterAddrByName("other")).isNull();
                Map<String, String> master = sentinel.sentinelMaster("mymaster");
                assertThat(master).containsEntry("flags", "master").containsEntry("num-slaves", "2")
                        .containsEntry("port", Integer.toString(leader.redis.port()));
                List<Map<String, String>> replicas = sentinel.sentinelReplicas("mymaster");
                assertThat(replicas).extracting(r -> r.get("flags")).containsOnly("slave");
                assertThat(replicas).extracting(r -> r.get("port")).containsExactlyInAnyOrderElementsOf(
                        otherRedisPorts(leader));
                assertThat(sentinel.sentinelMyId()).hasSize(40);
                assertThat(sentinel.role()).containsExactly("sentinel", List.of("mymaster"));
                assertThat(sentinel.info("sentinel")).contains("master0:name=mymaster,status=ok,address=127.0.0.1:"
                        + leader.redis.port() + ",slaves=2,sentinels=1");
            }
        }
        // what the README shows: redis-cli -p <sentinel port> SENTINEL get-master-addr-by-name mymaster
        String cli = ExternalProcess.outputOf("redis-cli", "-p", Integer.toString(hive.node(0).sentinelPort()),
                "SENTINEL", "get-master-addr-by-name", "mymaster");
        assertThat(cli).isEqualTo("127.0.0.1\n" + leader.redis.port() + "\n");
    }

    @Test
    void jedisAndLettuceFollowTheMasterAcrossAKill9OfItsRedis() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node oldMaster = hive.awaitLeader(ELECTION);
        awaitHealthyReplicas(2);
        Set<HostAndPort> sentinels = new HashSet<>();
        StringBuilder uri = new StringBuilder("redis-sentinel://");
        for (HiveFixture.Node n : hive.nodes) {
            sentinels.add(new HostAndPort("127.0.0.1", n.sentinelPort()));
            uri.append(n.index == 0 ? "" : ",").append("127.0.0.1:").append(n.sentinelPort());
        }
        uri.append("#mymaster");

        // what clients of Sentinel hear: +switch-master on a plain subscription
        List<String> switches = new CopyOnWriteArrayList<>();
        Jedis subscriber = new Jedis("127.0.0.1", hive.node(0).sentinelPort());
        JedisPubSub listener = new JedisPubSub() {
            @Override
            public void onMessage(String channel, String message) {
                switches.add(message);
            }
        };
        Thread subscription = new Thread(() -> subscriber.subscribe(listener, "+switch-master"), "switch-subscriber");
        subscription.setDaemon(true);
        subscription.start();
        clients.add(() -> {
            listener.unsubscribe();
            subscription.join(2000);
            subscriber.close();
        });
        await().atMost(ELECTION).until(listener::isSubscribed);

        // Jedis: a sentinel pool given the three Sentinel ports
        JedisClientConfig config = DefaultJedisClientConfig.builder().connectionTimeoutMillis(500)
                .socketTimeoutMillis(1000).build();
        JedisSentinelPool pool = new JedisSentinelPool("mymaster", sentinels, config, config);
        clients.add(pool);
        try (Jedis j = pool.getResource()) {
            j.set("jedis:hello", "world");
            assertThat(j.get("jedis:hello")).isEqualTo("world");
        }
        assertThat(pool.getCurrentHostMaster().getPort()).isEqualTo(oldMaster.redis.port());

        // Lettuce: a plain connection and a master/replica connection, both from a redis-sentinel:// URI
        RedisClient lettuce = RedisClient.create();
        clients.add(() -> lettuce.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
        RedisURI sentinelUri = RedisURI.create(uri.toString());
        StatefulRedisConnection<String, String> plain = lettuce.connect(StringCodec.UTF8, sentinelUri);
        clients.add(plain);
        plain.sync().set("lettuce:hello", "world");
        assertThat(plain.sync().get("lettuce:hello")).isEqualTo("world");
        StatefulRedisMasterReplicaConnection<String, String> masterReplica =
                MasterReplica.connect(lettuce, StringCodec.UTF8, sentinelUri);
        clients.add(masterReplica);
        RecordingReadFrom readFrom = new RecordingReadFrom();
        masterReplica.setReadFrom(readFrom);
        masterReplica.sync().set("lettuce-mr:hello", "world");
        await().atMost(ELECTION).untilAsserted(() -> {
            masterReplica.sync().get("lettuce-mr:hello"); // a read: Lettuce offers its nodes to the ReadFrom
            assertThat(readFrom.replicaPorts()).containsExactlyInAnyOrderElementsOf(otherRedisPorts(oldMaster));
            assertThat(readFrom.masterPorts()).containsExactly(Integer.toString(oldMaster.redis.port()));
        });

        List<Writer> writers = List.of(
                new Writer("jedis", (k, v) -> {
                    try (Jedis j = pool.getResource()) {
                        j.set(k, v);
                    }
                }),
                new Writer("lettuce", (k, v) -> plain.async().set(k, v).get(1, TimeUnit.SECONDS)),
                new Writer("lettuce-mr", (k, v) -> masterReplica.async().set(k, v).get(1, TimeUnit.SECONDS)));
        List<Thread> threads = new ArrayList<>();
        for (Writer w : writers) {
            Thread t = new Thread(w, "writer-" + w.name);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        clients.add(() -> {
            writers.forEach(Writer::stop);
            for (Thread t : threads) {
                t.join(5000);
            }
        });
        await().atMost(ELECTION).until(() -> writers.stream().allMatch(w -> w.successes() >= 5));

        long killedAt = System.nanoTime();
        oldMaster.redis.kill9();
        HiveFixture.Node newMaster = hive.awaitLeaderOtherThan(oldMaster, ELECTION);
        long electedMs = msSince(killedAt);

        // every client writes again, to the new master, without being restarted
        await().atMost(Duration.ofMillis(LETTUCE_REFRESH_DELAY_MS + 10_000)).pollInterval(Duration.ofMillis(20))
                .until(() -> writers.stream().allMatch(w -> w.firstSuccessAfter(killedAt) != null));
        String timings = writers.stream().map(w -> w.name + " " + w.msToContinue(killedAt) + " ms")
                .collect(Collectors.joining(", "));
        log.info("kill -9 of the master's redis: new master elected after {} ms; clients wrote again after: {}",
                electedMs, timings);
        System.out.println("[SentinelEndpointIT] kill -9 -> new master " + electedMs + " ms; clients continued: "
                + timings);
        for (Writer w : writers) {
            Writer.Success first = w.firstSuccessAfter(killedAt);
            assertThat(newMaster.redis.jedis().get(first.key)).as("%s's first write after the kill is on the new master",
                    w.name).isEqualTo(first.value);
        }
        assertThat(writers.get(0).msToContinue(killedAt)).as("Jedis (through its pool's +switch-master listener)")
                .isLessThanOrEqualTo(CONTINUE_WITHIN_MS);
        assertThat(writers.get(1).msToContinue(killedAt)).as("Lettuce (reconnecting through the Sentinel endpoints)")
                .isLessThanOrEqualTo(CONTINUE_WITHIN_MS);
        assertThat(writers.get(2).msToContinue(killedAt)).as("Lettuce master/replica (through +switch-master, "
                + "refreshing %d ms after it)", LETTUCE_REFRESH_DELAY_MS)
                .isLessThanOrEqualTo(LETTUCE_REFRESH_DELAY_MS + CONTINUE_WITHIN_MS);

        assertThat(switches).as("+switch-master published by node 0's endpoint")
                .contains("mymaster 127.0.0.1 " + oldMaster.redis.port() + " 127.0.0.1 " + newMaster.redis.port());
        await().atMost(ELECTION).until(() -> pool.getCurrentHostMaster().getPort() == newMaster.redis.port());
        try (Jedis j = pool.getResource()) {
            j.set("jedis:after", "failover");
            assertThat(j.get("jedis:after")).isEqualTo("failover");
        }
        assertThat(plain.sync().get("lettuce:hello")).isEqualTo("world"); // replicated before the kill

        // the killed node's redis is not a healthy replica: Lettuce lists only the one that is
        await().atMost(Duration.ofMillis(LETTUCE_REFRESH_DELAY_MS + 10_000)).untilAsserted(() -> {
            masterReplica.sync().get("lettuce-mr:hello");
            assertThat(readFrom.masterPorts()).containsExactly(Integer.toString(newMaster.redis.port()));
            assertThat(readFrom.replicaPorts()).containsExactly(Integer.toString(thirdNode(oldMaster, newMaster)
                    .redis.port()));
        });
        // and every endpoint, the killed node's included, sends clients to the new master
        for (HiveFixture.Node n : hive.nodes) {
            try (Jedis sentinel = new Jedis("127.0.0.1", n.sentinelPort())) {
                await().atMost(ELECTION).untilAsserted(() -> assertThat(sentinel.sentinelGetMasterAddrByName("mymaster"))
                        .containsExactly("127.0.0.1", Integer.toString(newMaster.redis.port())));
                assertThat(sentinel.sentinelReplicas("mymaster"))
                        .filteredOn(r -> r.get("port").equals(Integer.toString(oldMaster.redis.port())))
                        .extracting(r -> r.get("flags")).containsExactly("s_down,slave,disconnected");
            }
        }
    }

    private void awaitHealthyReplicas(int count) {
        await().atMost(ELECTION).until(() -> hive.nodes.stream()
                .allMatch(n -> n.agent.topology().current().replicas().size() == count));
    }

    private List<String> otherRedisPorts(HiveFixture.Node master) {
        return hive.nodes.stream().filter(n -> n != master).map(n -> Integer.toString(n.redis.port())).toList();
    }

    private HiveFixture.Node thirdNode(HiveFixture.Node a, HiveFixture.Node b) {
        return hive.nodes.stream().filter(n -> n != a && n != b).findFirst().orElseThrow();
    }

    private static long msSince(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
    }

    /** A {@link ReadFrom} that remembers the nodes Lettuce offered it, and reads from a replica. */
    private static final class RecordingReadFrom extends ReadFrom {
        private volatile List<RedisNodeDescription> offered = List.of();

        @Override
        public List<RedisNodeDescription> select(Nodes nodes) {
            offered = List.copyOf(nodes.getNodes());
            List<RedisNodeDescription> replicas = offered.stream()
                    .filter(n -> n.getRole() == RedisInstance.Role.REPLICA).toList();
            return replicas.isEmpty() ? offered : replicas;
        }

        List<String> replicaPorts() {
            return ports(RedisInstance.Role.REPLICA);
        }

        List<String> masterPorts() {
            return ports(RedisInstance.Role.UPSTREAM);
        }

        private List<String> ports(RedisInstance.Role role) {
            return offered.stream().filter(n -> n.getRole() == role)
                    .map(n -> Integer.toString(n.getUri().getPort())).toList();
        }
    }

    /**
     * Writes {@code <name>:<i>} keys one after another, at most {@value #MAX_WRITES} of them and for at most
     * {@value #MAX_SECONDS} s, pausing {@value #PAUSE_MS} ms between writes; remembers when each succeeded.
     */
    private static final class Writer implements Runnable {
        static final int MAX_WRITES = 5_000;
        static final int MAX_SECONDS = 60;
        static final long PAUSE_MS = 10;

        interface Write {
            void write(String key, String value) throws Exception;
        }

        /** A write started at {@code startedNanos} and acknowledged at {@code atNanos}. */
        record Success(long startedNanos, long atNanos, String key, String value) {}

        final String name;
        private final Write write;
        private final List<Success> successes = new CopyOnWriteArrayList<>();
        private volatile boolean stopped;

        Writer(String name, Write write) {
            this.name = name;
            this.write = write;
        }

        @Override
        public void run() {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(MAX_SECONDS);
            for (int i = 0; i < MAX_WRITES && !stopped && System.nanoTime() < deadline; i++) {
                String key = name + ":" + i;
                String value = "v" + i;
                long started = System.nanoTime();
                try {
                    write.write(key, value);
                    successes.add(new Success(started, System.nanoTime(), key, value));
                } catch (Exception e) {
                    // the master is gone or being replaced: the next write tries again
                }
                try {
                    Thread.sleep(PAUSE_MS); // pacing of the load, not a wait for a condition
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void stop() {
            stopped = true;
        }

        int successes() {
            return successes.size();
        }

        /** The first write started after {@code nanos} that succeeded (one started before may have reached the old master). */
        Success firstSuccessAfter(long nanos) {
            return successes.stream().filter(s -> s.startedNanos > nanos).findFirst().orElse(null);
        }

        long msToContinue(long killedAt) {
            Success s = firstSuccessAfter(killedAt);
            return s == null ? -1 : TimeUnit.NANOSECONDS.toMillis(s.atNanos - killedAt);
        }
    }
}
