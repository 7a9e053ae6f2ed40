package dev.skep.app;

import dev.skep.support.ExternalProcess;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import dev.skep.support.TestCertificates;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.Redisson;
import org.redisson.api.RLock;
import org.redisson.api.RMap;
import org.redisson.api.RScript;
import org.redisson.api.RTopic;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;
import redis.clients.jedis.JedisPooled;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The client libraries people use, doing their ordinary work through a write port while the hive goes through a
 * planned handover and then a kill -9 of the master's redis, with one client object for the whole run (never
 * recreated by the test): the library must recover by itself. What each sees is what the table in
 * docs/benchmarks.md (Client libraries at a change of master) says: nothing at the handover; at the crash, at most
 * its request in flight fails, as a connection error (never an error reply), and the writes it had acknowledged
 * are on the new master, but for the crashed master's replication window. One of them (ioredis) does the same through
 * the TLS write port of a hive with TLS everywhere.
 */
class ClientLibrariesIT {
    /** Where .ci/install-node-clients puts ioredis and node-redis. */
    private static final String NODE_MODULES = System.getProperty("user.home") + "/.cache/skep-tools/node/node_modules";
    private HiveFixture hive;
    private final List<AutoCloseable> started = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : started) {
            c.close();
        }
        if (hive != null) {
            hive.close();
        }
    }

    /** What one client printed: {@code ok <n>} for an acknowledged write of n, {@code err <n> <Type>: <message>}. */
    interface Work {
        List<String> lines();

        default long acknowledged() {
            return lines().stream().filter(l -> l.startsWith("ok ")).count();
        }

        default List<String> errors() {
            return lines().stream().filter(l -> l.startsWith("err ")).toList();
        }

        default Set<String> acknowledgedValues() {
            Set<String> v = new HashSet<>();
            for (String l : lines()) {
                if (l.startsWith("ok ")) {
                    v.add(l.substring(3));
                }
            }
            return v;
        }
    }

    /** A client running in this JVM: one write per call of {@code step}, until stopped. */
    private final class InProcess implements Work, AutoCloseable {
        private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        InProcess(String name, java.util.function.LongConsumer step) {
            thread = new Thread(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                for (long n = 1; !stop.get() && System.nanoTime() < deadline; n++) {
                    try {
                        step.accept(n);
                        lines.add("ok " + n);
                    } catch (RuntimeException e) {
                        lines.add("err " + n + " " + e.getClass().getSimpleName() + ": "
                                + String.valueOf(e.getMessage()).replace('\n', ' '));
                    }
                    try {
                        Thread.sleep(5); // pacing of the work, as the scripts pace theirs: not a wait for a condition
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, name);
            thread.start();
            started.add(this);
        }

        @Override
        public List<String> lines() {
            synchronized (lines) {
                return new ArrayList<>(lines);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }
    }

    /** A client script (Python, Node.js) with the same output. */
    private record External(ExternalProcess process, Path stopFile) implements Work, AutoCloseable {
        @Override
        public List<String> lines() {
            return process.lines();
        }

        @Override
        public void close() throws Exception {
            Files.writeString(stopFile, "stop");
            process.close();
        }
    }

    private External external(String name, String... command) throws Exception {
        Path stopFile = Files.createTempFile("skep-stop-", "");
        Files.delete(stopFile);
        List<String> full = new ArrayList<>(List.of(command));
        full.addAll(List.of("--stop", stopFile.toString()));
        ExternalProcess p = ExternalProcess.start(name, Map.of("NODE_PATH", NODE_MODULES,
                "PYTHONDONTWRITEBYTECODE", "1"), full.toArray(String[]::new));
        External e = new External(p, stopFile);
        started.add(e);
        return e;
    }

    /**
     * Runs {@code client}'s work through the handover and then the crash, and checks what a user of that library
     * would: no failure at the handover; at the crash at most {@code maxCrashErrors} failed requests, none of them an
     * error reply; the work goes on after each; the acknowledged writes ({@code stored} lists what the final master
     * holds) are there, but for at most 2 in the crashed master's replication window.
     */
    private void throughAHandoverAndACrash(Supplier<Work> client, int maxCrashErrors,
                                           java.util.function.Function<HiveFixture.Node, Set<String>> stored) {
        hive = certs == null ? HiveFixture.start(3) : HiveFixture.startWithTls(3, certs);
        HiveFixture.Node first = hive.awaitLeader(Duration.ofSeconds(10));
        hive.awaitReplicasInSync(first);
        entry = first; // its redis stays up all along (the crash is of the second master's)
        Work work = client.get();
        await().atMost(Duration.ofSeconds(20)).until(() -> work.acknowledged() >= 50);

        assertThat(first.agent.handover(null, "test").join().ok()).isTrue();
        HiveFixture.Node second = hive.awaitLeaderOtherThan(first, Duration.ofSeconds(5));
        long afterHandover = work.acknowledged();
        await().atMost(Duration.ofSeconds(20)).until(() -> work.acknowledged() >= afterHandover + 100);
        assertThat(work.errors()).as("failures across the planned handover").isEmpty();

        second.redis.kill9();
        HiveFixture.Node third = hive.awaitLeaderOtherThan(second, Duration.ofSeconds(10));
        long afterCrash = work.acknowledged();
        await().atMost(Duration.ofSeconds(20)).until(() -> work.acknowledged() >= afterCrash + 100);
        List<String> errors = work.errors();
        System.out.printf("%s: %d acknowledged, failures at the crash: %s%n", label, work.acknowledged(), errors);
        assertThat(errors).as("failures at the crash").hasSizeLessThanOrEqualTo(maxCrashErrors)
                .noneMatch(e -> e.contains("may or may not") || e.contains("failover:"));

        Set<String> acked = work.acknowledgedValues();
        Set<String> missing = new HashSet<>(acked);
        missing.removeAll(stored.apply(third));
        System.out.printf("%s: %d acknowledged writes not on the new master: %s%n", label, missing.size(), missing);
        assertThat(missing).as("lost with the crashed master's replication window").hasSizeLessThanOrEqualTo(2);
    }

    private HiveFixture.Node entry;
    private String label = "";
    /** When set, the hive has TLS everywhere ({@link HiveFixture#startWithTls}) and clients use its TLS write port. */
    private TestCertificates certs;

    private int port() {
        return certs == null ? entry.config.proxyPort() : entry.config.tls().proxyPort();
    }

    private static Set<String> list(HiveFixture.Node master, String key) {
        return new HashSet<>(master.redis.jedis().lrange(key, 0, -1));
    }

    @Test
    void jedisPool() {
        label = "Jedis pool";
        throughAHandoverAndACrash(() -> {
            JedisPooled jedis = new JedisPooled("127.0.0.1", port());
            started.add(jedis);
            return new InProcess("jedis", n -> jedis.rpush("log:jedis", Long.toString(n)));
        }, 1, m -> list(m, "log:jedis"));
    }

    @Test
    void lettuce() {
        label = "Lettuce";
        throughAHandoverAndACrash(() -> {
            RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", port()));
            started.add(client::shutdown);
            StatefulRedisConnection<String, String> connection = client.connect();
            RedisCommands<String, String> sync = connection.sync();
            return new InProcess("lettuce", n -> sync.rpush("log:lettuce", Long.toString(n)));
        }, 1, m -> list(m, "log:lettuce"));
    }

    @Test
    void redisson() {
        label = "Redisson";
        AtomicLong received = new AtomicLong();
        throughAHandoverAndACrash(() -> {
            Config config = new Config();
            config.useSingleServer().setAddress("redis://127.0.0.1:" + port()).setConnectionMinimumIdleSize(2)
                    .setConnectionPoolSize(4).setSubscriptionConnectionMinimumIdleSize(1);
            config.setCodec(StringCodec.INSTANCE);
            RedissonClient redisson = Redisson.create(config);
            started.add(redisson::shutdown);
            RMap<String, String> map = redisson.getMap("orders");
            RLock lock = redisson.getLock("orders-lock");
            RTopic topic = redisson.getTopic("orders-events");
            topic.addListener(String.class, (channel, msg) -> received.incrementAndGet());
            RScript script = redisson.getScript(StringCodec.INSTANCE);
            return new InProcess("redisson", n -> {
                lock.lock(10, TimeUnit.SECONDS);
                try {
                    map.fastPut(Long.toString(n), "order " + n);
                } finally {
                    lock.unlock();
                }
                script.eval(RScript.Mode.READ_WRITE, "return redis.call('INCR', KEYS[1])", RScript.ReturnType.INTEGER,
                        List.of("orders-count"));
                topic.publish("order " + n);
            });
        }, 1, m -> m.redis.jedis().hkeys("orders"));
        long before = received.get();
        // the topic's subscription came back by itself after the crash: a new message reaches the listener
        RedissonClient again = Redisson.create(configFor(port()));
        started.add(again::shutdown);
        again.getTopic("orders-events").publish("after the crash");
        await().atMost(Duration.ofSeconds(10)).until(() -> received.get() > before);
    }

    private static Config configFor(int port) {
        Config config = new Config();
        config.useSingleServer().setAddress("redis://127.0.0.1:" + port);
        config.setCodec(StringCodec.INSTANCE);
        return config;
    }

    @Test
    @Needs(Need.PYTHON_CLIENTS)
    void redisPy() throws Exception {
        label = "redis-py";
        ExternalProcess.require("apt-get install -y python3-redis", "/usr/bin/python3", "-c", "import redis");
        throughAHandoverAndACrash(() -> {
            try {
                return external("redis-py", "/usr/bin/python3", "redis_py_worker.py", "--port",
                        String.valueOf(port()));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 1, m -> list(m, "log:redis-py"));
    }

    private static void requireNodeClients() {
        ExternalProcess.require("bash .ci/install-node-clients", "env", "NODE_PATH=" + NODE_MODULES, "node", "-e",
                "require('ioredis'); require('redis')");
    }

    @Test
    @Needs(Need.NODE_CLIENTS)
    void nodeRedisResp2() {
        nodeRedis(2);
    }

    @Test
    @Needs(Need.NODE_CLIENTS)
    void nodeRedisResp3() {
        nodeRedis(3);
    }

    private void nodeRedis(int resp) {
        label = "node-redis RESP" + resp;
        requireNodeClients();
        throughAHandoverAndACrash(() -> {
            try {
                return external("node-redis", "node", "node_redis_worker.js", "--port", String.valueOf(port()),
                        "--resp", String.valueOf(resp));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 1, m -> list(m, "log:node-redis-resp" + resp));
    }

    @Test
    @Needs(Need.NODE_CLIENTS)
    void ioredis() {
        label = "ioredis";
        requireNodeClients();
        throughAHandoverAndACrash(() -> {
            try {
                return external("ioredis", "node", "ioredis_worker.js", "--port", String.valueOf(port()));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 1, m -> list(m, "log:ioredis"));
    }

    /** ioredis through the TLS write port (its certificate signed by the hive's CA, the port's checked). */
    @Test
    @Needs(Need.NODE_CLIENTS)
    void ioredisOverTls(@TempDir Path dir) {
        label = "ioredis over TLS";
        requireNodeClients();
        certs = TestCertificates.create(dir);
        TestCertificates.Pair client = certs.issue("app");
        throughAHandoverAndACrash(() -> {
            try {
                return external("ioredis-tls", "node", "ioredis_worker.js", "--port", String.valueOf(port()),
                        "--tls-ca", certs.caFile().toString(), "--tls-cert", client.cert().toString(), "--tls-key",
                        client.key().toString());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, 1, m -> list(m, "log:ioredis"));
    }
}
