package dev.skep.proxy;

import dev.skep.support.RedisServerFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.Response;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.ClientKillParams;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** What clients see through the write and read ports, against real redis servers. */
class ProxyIT {
    private static final int VALUE = 8 * 1024;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private <T extends AutoCloseable> T track(T c) {
        toClose.add(c);
        return c;
    }

    private ProxyFixture proxy(long holdMs) {
        return track(new ProxyFixture(holdMs, ""));
    }

    @Test
    void plainCommandsStringsListsHashesAndLuaWork() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Jedis j = p.writeClient()) {
            assertThat(j.set("s", "v")).isEqualTo("OK");
            assertThat(j.get("s")).isEqualTo("v");
            assertThat(j.incr("n")).isEqualTo(1);
            assertThat(j.rpush("l", "a", "b", "c")).isEqualTo(3);
            assertThat(j.lrange("l", 0, -1)).containsExactly("a", "b", "c");
            j.hset("h", Map.of("f1", "1", "f2", "2"));
            assertThat(j.hgetAll("h")).containsEntry("f1", "1").containsEntry("f2", "2");
            assertThat(j.eval("return redis.call('GET', KEYS[1])", 1, "s")).isEqualTo("v");
            assertThat(j.get("missing")).isNull();
            assertThat(j.ping()).isEqualTo("PONG");
        }
        assertThat(redis.jedis().get("s")).as("written to the master itself").isEqualTo("v");
    }

    @Test
    void requestsInFlightAreCountedBackToNoneOnceAnsweredOrLost() throws Exception {
        // The count decides whether an event loop polls for replies instead of sleeping: one that never came
        // back to zero would leave a loop polling after every request.
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        for (int c = 0; c < 3; c++) {
            try (Jedis j = p.writeClient()) {
                Pipeline pipe = j.pipelined();
                List<Response<Long>> counts = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    counts.add(pipe.incr("n"));
                }
                pipe.sync();
                assertThat(counts.get(199).get()).isEqualTo(200L * (c + 1));
            }
        }
        try (Jedis j = p.writeClient()) {
            j.select(1); // a connection of its own from here
            j.set("x", "1");
            assertThat(j.blpop(1, "empty")).as("timed out").isNull();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> p.proxy.inFlight() == 0);

        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Jedis popper = p.writeClient()) {
            Future<List<String>> popped = pool.submit(() -> popper.blpop(30, "queue"));
            await().atMost(Duration.ofSeconds(5)).until(() -> redis.jedis().clientList().contains("cmd=blpop"));
            assertThat(p.proxy.inFlight()).as("the blocked pop").isEqualTo(1);
            redis.kill9();
            assertThatThrownBy(() -> popped.get(10, TimeUnit.SECONDS)).hasMessageContaining("redis");
            await().atMost(Duration.ofSeconds(5)).until(() -> p.proxy.inFlight() == 0);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void transactionsSelectAndClientNameMoveTheSessionToItsOwnConnectionAndMixWithPlainCommands() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Jedis j = p.writeClient()) {
            j.set("k", "db0");
            Transaction t = j.multi();
            t.incr("tx");
            t.incr("tx");
            assertThat(t.exec()).containsExactly(1L, 2L);
            j.clientSetname("my-session");
            assertThat(j.clientGetname()).isEqualTo("my-session");
            assertThat(j.select(3)).isEqualTo("OK");
            j.set("k", "db3");
            assertThat(j.get("k")).isEqualTo("db3");
            assertThat(j.select(0)).isEqualTo("OK");
            assertThat(j.get("k")).isEqualTo("db0");
        }
        redis.jedis().select(3);
        assertThat(redis.jedis().get("k")).isEqualTo("db3");
    }

    @Test
    void pubSubAndBlockingPopsBehaveAsOnRedis() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Jedis sub = p.writeClient(); Jedis pub = p.writeClient(); Jedis popper = p.writeClient()) {
            CompletableFuture<String> got = new CompletableFuture<>();
            JedisPubSub listener = new JedisPubSub() {
                @Override
                public void onMessage(String channel, String message) {
                    got.complete(channel + ":" + message);
                    unsubscribe();
                }
            };
            Future<?> subscribing = pool.submit(() -> sub.subscribe(listener, "news"));
            await().atMost(Duration.ofSeconds(5)).until(() -> pub.pubsubNumSub("news").get("news") == 1L);
            pub.publish("news", "hello");
            assertThat(got.get(5, TimeUnit.SECONDS)).isEqualTo("news:hello");
            subscribing.get(5, TimeUnit.SECONDS);

            Future<List<String>> popped = pool.submit(() -> popper.blpop(5, "queue"));
            await().atMost(Duration.ofSeconds(5)).until(() -> redis.jedis().clientList().contains("cmd=blpop"));
            pub.rpush("queue", "job-1");
            assertThat(popped.get(5, TimeUnit.SECONDS)).containsExactly("queue", "job-1");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void lettuceWithRespThreeWorksThroughTheWritePort() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        // Lettuce 6 starts with HELLO 3: the session gets a connection of its own, speaking RESP3
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create("redis://127.0.0.1:" + p.writePort);
        track(client::shutdown);
        try (var connection = client.connect()) {
            var sync = connection.sync();
            assertThat(sync.set("lettuce", "resp3")).isEqualTo("OK");
            assertThat(sync.get("lettuce")).isEqualTo("resp3");
            assertThat(sync.hset("lh", Map.of("a", "1", "b", "2"))).isEqualTo(2L);
            assertThat(sync.hgetall("lh")).containsEntry("a", "1").containsEntry("b", "2"); // a RESP3 map
            sync.multi();
            sync.incr("lc");
            sync.incr("lc");
            assertThat(sync.exec().<Long>get(1)).isEqualTo(2L);
        }
        assertThat(redis.jedis().get("lettuce")).isEqualTo("resp3");
    }

    /**
     * HELLO 3 clients (Lettuce's default) stay on the shared path, over shared connections that speak RESP3:
     * twenty of them cost redis a handful of connections, not twenty, and get RESP3 replies (maps, doubles).
     */
    @Test
    void respThreeClientsShareUpstreamConnections() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create("redis://127.0.0.1:" + p.writePort);
        track(client::shutdown);
        List<io.lettuce.core.api.StatefulRedisConnection<String, String>> connections = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                var c = client.connect();
                connections.add(c);
                assertThat(c.sync().set("r3:" + i, "v" + i)).isEqualTo("OK");
                assertThat(c.sync().hset("r3h:" + i, Map.of("f", "1"))).isEqualTo(1L);
                assertThat(c.sync().hgetall("r3h:" + i)).containsEntry("f", "1"); // a RESP3 map, decoded
                assertThat(c.sync().incrbyfloat("r3f:" + i, 1.5)).isEqualTo(1.5); // a RESP3 double
            }
            String clients = redis.jedis().clientList();
            // less our own Jedis, and the proxy's spare dedicated connections (cmd=NULL: never used)
            long upstream = clients.lines().filter(l -> !l.contains("cmd=NULL")).count() - 1;
            assertThat(upstream).as("connections from the proxy to redis:%n%s", clients).isLessThanOrEqualTo(8);
            assertThat(clients).contains("resp=3");
        } finally {
            connections.forEach(io.lettuce.core.api.StatefulRedisConnection::close);
        }
    }

    @Test
    void redisCliWorksThroughTheWritePort() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        assertThat(redisCli(p.writePort, "SET", "cli", "hello")).isEqualTo("OK");
        assertThat(redisCli(p.writePort, "GET", "cli")).isEqualTo("hello");
        assertThat(redisCli(p.writePort, "RPUSH", "cli:list", "a", "b")).isEqualTo("2");
        assertThat(redisCli(p.writePort, "LRANGE", "cli:list", "0", "-1")).isEqualTo("a\nb");
        assertThat(redisCli(p.writePort, "REPLICAOF", "NO", "ONE")).contains("not allowed through the Skep proxy");
        assertThat(redis.jedis().get("cli")).isEqualTo("hello");
    }

    /**
     * Issue 15's guard rails: only what contradicts the hive is refused (one of each kind here, every entry in
     * CommandTableTest); admin commands whose cost is the user's pass through and behave as on redis.
     */
    private static final redis.clients.jedis.commands.ProtocolCommand DEBUG =
            () -> "DEBUG".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    @Test
    void onlyWhatWouldBreakTheHiveIsRefusedAdminCommandsPassThrough() {
        RedisServerFixture redis = track(RedisServerFixture.start("--enable-debug-command", "yes"));
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Jedis j = p.writeClient()) {
            assertThat(j.configSet("repl-ping-replica-period", "7")).isEqualTo("OK");
            assertThat(redis.jedis().configGet("repl-ping-replica-period")).containsEntry("repl-ping-replica-period", "7");
            assertThat(j.configSet("repl-diskless-sync", "no")).isEqualTo("OK");
            long before = System.nanoTime();
            assertThat(j.sendCommand(DEBUG, "SLEEP", "0.2")).isEqualTo("OK".getBytes());
            assertThat(System.nanoTime() - before).as("DEBUG SLEEP ran on redis").isGreaterThanOrEqualTo(200_000_000L);
            j.set("reloaded", "yes");
            assertThat(j.sendCommand(DEBUG, "RELOAD")).isEqualTo("OK".getBytes());
            assertThat(j.get("reloaded")).isEqualTo("yes");

            assertThatThrownBy(() -> j.configSet("min-replicas-to-write", "1")).isInstanceOf(JedisDataException.class)
                    .hasMessage("ERR CONFIG SET min-replicas-to-write is not allowed through the Skep proxy: the Skep "
                            + "agent owns this setting (it keeps it at \"0\")");
            assertThat(j.configSet("min-replicas-to-write", "0")).as("the value the hive keeps: a no-op").isEqualTo("OK");
            assertThatThrownBy(() -> j.sendCommand(DEBUG, "SEGFAULT"))
                    .isInstanceOf(JedisDataException.class).hasMessageContaining("DEBUG SEGFAULT is not allowed");
            assertThat(j.ping()).as("the session goes on after a refusal").isEqualTo("PONG");
        }
        assertThat(redis.isRunning()).isTrue();
        assertThat(redis.jedis().configGet("min-replicas-to-write")).containsEntry("min-replicas-to-write", "0");
    }

    /** Runs redis-cli (installed with redis-server) against {@code port}; its output, trimmed. */
    /**
     * --quorum majority: a write is acknowledged only once a replica has it (WAIT); with no replica
     * connected, clients get -NOREPLICAS (the write ran, unconfirmed) and the connection stays usable.
     */
    @Test
    void writesAreAcknowledgedOnlyOnceTheReplicasNeededHaveThem() {
        RedisServerFixture master = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.masterWithSyncReplicas(master, 1);
        try (Jedis j = p.writeClient()) {
            assertThatThrownBy(() -> j.set("alone", "1")).isInstanceOf(JedisDataException.class)
                    .hasMessageStartingWith("NOREPLICAS 0 of the 1 replicas needed");
            assertThat(j.ping()).isEqualTo("PONG");

            RedisServerFixture replica = track(RedisServerFixture.start());
            replica.jedis().replicaof("127.0.0.1", master.port());
            await().atMost(Duration.ofSeconds(10)).until(() ->
                    replica.jedis().info("replication").contains("master_link_status:up"));
            for (int i = 0; i < 100; i++) {
                assertThat(j.incr("confirmed")).isEqualTo(i + 1);
            }
            assertThat(replica.jedis().get("confirmed")).isEqualTo("100"); // each acknowledged after the replica had it
        }
        try (Jedis dedicated = p.writeClient()) {
            dedicated.select(0); // a session on a dedicated upstream connection: confirmed the same way
            for (int i = 0; i < 20; i++) {
                assertThat(dedicated.incr("confirmed-dedicated")).isEqualTo(i + 1);
            }
            Transaction t = dedicated.multi();
            t.incr("confirmed-dedicated");
            assertThat(t.exec()).containsExactly(21L);
        }
    }

    /**
     * Issue 14's lost writes: a leader cut off from its replicas steps down while its WAIT is out, and the topology
     * it then publishes (no master) carries no replica count. The write was sent needing one replica and none has
     * it: it must not be acknowledged because the count of the moment the WAIT returns is 0. Before the fix the
     * client got +OK here (the bench/chaos partition rounds that lost acknowledged writes under majority).
     */
    @Test
    void aWriteKeepsTheConfirmationItWasSentWithWhenTheTopologyLosesItsMaster() throws Exception {
        RedisServerFixture master = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        toClose.add(pool::shutdownNow);
        for (boolean dedicatedSession : new boolean[] {false, true}) {
            p.masterWithSyncReplicas(master, 1);
            String key = "cut:" + dedicatedSession;
            try (Jedis j = p.writeClient()) {
                if (dedicatedSession) {
                    j.select(0);
                }
                Future<String> reply = pool.submit(() -> {
                    try {
                        return j.set(key, "v");
                    } catch (JedisDataException e) {
                        return e.getMessage();
                    }
                });
                // the SET ran and its WAIT (1 replica, 1000 ms, none connected) is out: the leader steps down now
                await().atMost(Duration.ofSeconds(5)).until(() -> "v".equals(master.jedis().get(key)));
                p.master(null);
                assertThat(reply.get(10, TimeUnit.SECONDS)).as("dedicated session: " + dedicatedSession)
                        .startsWith("NOREPLICAS 0 of the 1 replicas needed");
            }
        }
    }

    @Test
    void dedicatedSessionWritesUnconfirmedByReplicasGetNoreplicas() {
        RedisServerFixture master = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.masterWithSyncReplicas(master, 1);
        try (Jedis j = p.writeClient()) {
            j.select(0);
            assertThatThrownBy(() -> j.set("alone", "1")).isInstanceOf(JedisDataException.class)
                    .hasMessageStartingWith("NOREPLICAS 0 of the 1 replicas needed");
            assertThat(j.get("alone")).isEqualTo("1"); // it ran; only its acknowledgement was withheld
            assertThat(j.ping()).isEqualTo("PONG");
        }
    }

    private static String redisCli(int port, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(port)));
        cmd.addAll(List.of(args));
        Process proc;
        try {
            proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("redis-cli not found on PATH: install it with "
                    + "'apt-get install -y redis-tools' (it comes with redis-server)", e);
        }
        assertThat(proc.waitFor(10, TimeUnit.SECONDS)).as("redis-cli %s finished", cmd).isTrue();
        return new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    }

    @Test
    void clientReplyOffSendsNoRepliesAndOnResumesThem() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Socket s = new Socket("127.0.0.1", p.writePort)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(("CLIENT REPLY OFF\r\nSET quiet 1\r\nCLIENT REPLY ON\r\nGET quiet\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // only CLIENT REPLY ON's +OK and GET's reply come back
            assertThat(readExactly(s.getInputStream(), "+OK\r\n$1\r\n1\r\n".length())).isEqualTo("+OK\r\n$1\r\n1\r\n");
        }
    }

    /**
     * Redis's own unit/quit: QUIT answers +OK and closes, and nothing pipelined after it runs, also when what
     * follows is larger than a read buffer (here 1 MiB, in the same write as the QUIT).
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 1 << 20})
    void requestsPipelinedAfterQuitAreNotExecuted(int padding) throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        for (boolean dedicated : new boolean[] {false, true}) {
            try (Socket s = new Socket("127.0.0.1", p.writePort)) {
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                String before = dedicated ? "SELECT 0\r\n" : "";
                String big = "x".repeat(padding);
                String expected = (dedicated ? "+OK\r\n" : "") + "+OK\r\n+OK\r\n";
                java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
                try {
                    // the close may come while the padding is still being written (redis's own close can too)
                    out.write((before + "SET before-quit 1\r\nQUIT\r\nSET after-quit " + dedicated + "\r\n"
                            + "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + big.length() + "\r\n" + big + "\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    for (int b = s.getInputStream().read(); b >= 0; b = s.getInputStream().read()) {
                        got.write(b); // until the proxy closes: no reply beyond QUIT's
                    }
                } catch (java.net.SocketException reset) {
                    // closed with the client's bytes unread (the padding): a reset, as redis's own close gives;
                    // the replies before it may be lost with it, but never a reply to what followed QUIT
                    assertThat(padding).as("a reset only with bytes left unread").isPositive();
                }
                String replies = got.toString(StandardCharsets.US_ASCII);
                if (padding == 0) {
                    assertThat(replies).isEqualTo(expected);
                } else {
                    assertThat(expected).startsWith(replies);
                }
            }
            assertThat(redis.jedis().get("before-quit")).isEqualTo("1");
            assertThat(redis.jedis().exists("after-quit")).isFalse();
            assertThat(redis.jedis().exists("big")).isFalse();
        }
    }

    @Test
    void aPasswordProtectedRedisNeedsAuthThroughTheProxyToo() {
        RedisServerFixture redis = track(RedisServerFixture.start("--requirepass", "s3cret"));
        ProxyFixture p = track(new ProxyFixture(2000, "s3cret"));
        p.master(redis);
        try (Jedis anonymous = p.client(p.writePort, "")) {
            assertThatThrownBy(() -> anonymous.get("k")).isInstanceOf(JedisDataException.class).hasMessageContaining("NOAUTH");
            assertThatThrownBy(() -> anonymous.auth("wrong")).hasMessageContaining("WRONGPASS");
        }
        try (Jedis j = p.client(p.writePort, "s3cret")) {
            assertThat(j.set("k", "v")).isEqualTo("OK");
            assertThat(j.select(1)).isEqualTo("OK"); // now on its own connection, authenticated by replay
            assertThat(j.set("k1", "v1")).isEqualTo("OK");
        }
    }

    @Test
    void commandsThatWouldBreakTheHiveAreRefusedAndTheSessionGoesOn() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Jedis j = p.writeClient()) {
            assertThatThrownBy(() -> j.replicaofNoOne()).hasMessageContaining("REPLICAOF");
            assertThatThrownBy(() -> j.configSet("masterauth", "x")).hasMessageContaining("masterauth");
            assertThatThrownBy(() -> j.shutdown()).isInstanceOf(JedisDataException.class);
            assertThat(j.configGet("maxmemory")).containsKey("maxmemory");
            assertThat(j.ping()).isEqualTo("PONG");
        }
        assertThat(redis.isRunning()).isTrue();
        assertThat(redis.jedis().info("replication")).contains("role:master");
    }

    @Test
    void garbageClosesOnlyThatConnectionWithARespError() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Jedis bystander = p.writeClient(); Socket s = new Socket("127.0.0.1", p.writePort)) {
            bystander.set("a", "1");
            s.setSoTimeout(5000);
            s.getOutputStream().write("*x\r\n".getBytes(StandardCharsets.US_ASCII));
            String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(reply).isEqualTo("-ERR Protocol error: invalid multibulk length\r\n");
            assertThat(bystander.get("a")).isEqualTo("1");
        }
    }

    @Test
    void anOversizeRequestGetsRedisOwnErrorAndOnlyThatConnectionCloses() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Jedis bystander = p.writeClient(); Socket s = new Socket("127.0.0.1", p.writePort)) {
            s.setSoTimeout(5000);
            // a bulk over proto-max-bulk-len (512 MB), as redis words it
            s.getOutputStream().write("*2\r\n$3\r\nGET\r\n$600000000\r\n".getBytes(StandardCharsets.US_ASCII));
            String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(reply).isEqualTo("-ERR Protocol error: invalid bulk length\r\n");
            assertThat(bystander.ping()).isEqualTo("PONG");
        }
    }

    @Test
    void aClientThatDoesNotReadItsRepliesStopsBeingReadAndGetsThemAllLater() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        String payload = "x".repeat(1000);
        byte[] echo = ("*2\r\n$4\r\nECHO\r\n$1000\r\n" + payload + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] reply = ("$1000\r\n" + payload + "\r\n").getBytes(StandardCharsets.US_ASCII);
        // 40 MB of requests: far more than the kernel's socket buffers hold, so the writer blocks once the
        // proxy stops reading (when 256 KB of replies wait for the client); the proxy holds little meanwhile
        int requests = 40_000;
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Jedis bystander = p.writeClient(); Socket slow = new Socket()) {
            slow.setReceiveBufferSize(64 * 1024);
            slow.setSendBufferSize(64 * 1024);
            slow.connect(new java.net.InetSocketAddress("127.0.0.1", p.writePort), 2000);
            slow.setSoTimeout(30_000);
            java.util.concurrent.atomic.AtomicInteger written = new java.util.concurrent.atomic.AtomicInteger();
            Future<?> writing = pool.submit(() -> {
                OutputStream out = slow.getOutputStream();
                for (int i = 0; i < requests; i++) {
                    out.write(echo); // blocks once the proxy stops reading us: that is the backpressure
                    written.incrementAndGet();
                }
                out.flush();
                return null;
            });
            // the writer gets stuck well before the end, and stays stuck while others are served
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                int before = written.get();
                Thread.sleep(200); // a stall is "no progress over a period": there is no event to wait for
                return written.get() == before && before < requests;
            });
            for (int i = 0; i < 100; i++) {
                assertThat(bystander.incr("bystander")).isEqualTo(i + 1);
            }
            assertThat(writing.isDone()).as("the proxy stopped reading the client that does not read").isFalse();
            // now it reads: every reply arrives, complete and in order
            InputStream in = new java.io.BufferedInputStream(slow.getInputStream(), 1 << 16);
            for (int i = 0; i < requests; i++) {
                assertThat(in.readNBytes(reply.length)).isEqualTo(reply);
            }
            writing.get(30, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void pipelinesFromManySessionsComeBackInOrderToTheRightClient() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        int sessions = 20;
        int perSession = 2000;
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int c = 0; c < sessions; c++) {
                int id = c;
                results.add(pool.submit(() -> {
                    try (Jedis j = p.writeClient()) {
                        Pipeline pl = j.pipelined();
                        List<Response<Long>> incrs = new ArrayList<>();
                        List<Response<String>> gets = new ArrayList<>();
                        for (int i = 0; i < perSession; i++) {
                            pl.set("k" + id + ":" + i, id + ":" + i);
                            incrs.add(pl.incr("counter:" + id));
                            gets.add(pl.get("k" + id + ":" + i));
                        }
                        pl.sync();
                        for (int i = 0; i < perSession; i++) {
                            if (incrs.get(i).get() != i + 1 || !gets.get(i).get().equals(id + ":" + i)) {
                                return false;
                            }
                        }
                        return true;
                    }
                }));
            }
            for (Future<Boolean> r : results) {
                assertThat(r.get(60, TimeUnit.SECONDS)).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anIdleSessionMovesToTheNewMasterWithItsStateAndSeesNothing() {
        RedisServerFixture a = track(RedisServerFixture.start());
        RedisServerFixture b = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(a);
        try (Jedis plain = p.writeClient(); Jedis stateful = p.writeClient()) {
            plain.set("where", "a");
            stateful.select(2);
            stateful.clientSetname("mover");
            stateful.set("where", "a");

            p.master(b); // failover

            assertThat(plain.set("where", "b")).isEqualTo("OK");
            assertThat(stateful.set("where", "b")).isEqualTo("OK");
            assertThat(stateful.clientGetname()).isEqualTo("mover");
        }
        assertThat(b.jedis().get("where")).isEqualTo("b");
        b.jedis().select(2);
        assertThat(b.jedis().get("where")).as("the SELECT was replayed on the new master").isEqualTo("b");
        assertThat(a.jedis().get("where")).isEqualTo("a");
    }

    private static long directMemoryUsed() {
        for (java.lang.management.BufferPoolMXBean pool
                : java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                return pool.getMemoryUsed();
            }
        }
        throw new AssertionError("no direct buffer pool");
    }

    @Test
    void aClientStreamingLargeRequestsWithoutPauseCostsTheProxyABoundedAmountOfMemory() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        int count = 200;
        byte[] value = "x".repeat(512 * 1024).getBytes(StandardCharsets.US_ASCII);
        byte[] head = ("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + value.length + "\r\n").getBytes(StandardCharsets.US_ASCII);
        long before = directMemoryUsed();
        java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        Thread sampler = new Thread(() -> {
            while (!done.get()) {
                peak.accumulateAndGet(directMemoryUsed() - before, Math::max);
                Thread.onSpinWait();
            }
        });
        sampler.start();
        try (Socket s = new Socket("127.0.0.1", p.writePort)) {
            s.setSoTimeout(30_000);
            OutputStream out = new java.io.BufferedOutputStream(s.getOutputStream(), 1 << 16);
            InputStream in = new java.io.BufferedInputStream(s.getInputStream());
            CompletableFuture<Integer> replies = CompletableFuture.supplyAsync(() -> {
                int n = 0;
                try {
                    while (n < count + 1) {
                        readLine(in);
                        n++;
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                return n;
            });
            // as redis-cli --pipe: everything in one stream, a session on a connection of its own (SELECT)
            out.write("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < count; i++) {
                out.write(head);
                out.write(value);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.flush();
            assertThat(replies.get(60, TimeUnit.SECONDS)).isEqualTo(count + 1);
        } finally {
            done.set(true);
            sampler.join();
        }
        System.out.printf("streaming %d MB of requests: peak direct memory %.1f MB above the start%n",
                count * value.length >> 20, peak.get() / 1048576.0);
        // about what is in flight, not what was ever sent (100 MB; before the fix the buffer grew to all of it)
        assertThat(peak.get()).as("direct memory above the start").isLessThan(48L << 20);
        assertThat(redis.jedis().strlen("big")).isEqualTo(value.length);
    }

    /** Reads one line ending in CRLF (or a lone LF: a replica link's keepalive while the RDB is made). */
    private static String readLine(InputStream in) throws java.io.IOException {
        StringBuilder line = new StringBuilder();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                throw new java.io.EOFException("after " + line);
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    @Test
    void syncStreamsTheRdbAndTheReplicationStreamAndWhatTheClientSendsAfterIsDropped() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        redis.jedis().set("before", "in the rdb");
        try (Socket s = new Socket("127.0.0.1", p.writePort); Jedis writer = p.writeClient()) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = new java.io.BufferedInputStream(s.getInputStream());
            out.write("SYNC\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String count;
            do {
                count = readLine(in); // empty lines: keepalives while the RDB is made
            } while (count.isEmpty());
            assertThat(count).startsWith("$");
            byte[] rdb = in.readNBytes(Integer.parseInt(count.substring(1)));
            assertThat(new String(rdb, 0, 5, StandardCharsets.US_ASCII)).isEqualTo("REDIS");
            assertThat(new String(rdb, StandardCharsets.ISO_8859_1)).contains("in the rdb");

            // an acknowledgement of an offset it does not have: the proxy drops what the client sends after SYNC
            out.write("REPLCONF ACK 999999999\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            writer.set("after", "in the stream");
            assertThat(writer.ping()).isEqualTo("PONG");
            assertThat(redis.jedis().info("replication")).contains("slave0:").doesNotContain("offset=999999999");

            // the write comes down the replication stream, as redis's own command (after SELECT, maybe PINGs)
            StringBuilder stream = new StringBuilder();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!stream.toString().contains("in the stream") && System.nanoTime() < deadline) {
                stream.append(readLine(in)).append('\n');
            }
            assertThat(stream.toString()).contains("SET\n$5\nafter\n$13\nin the stream");
        }
    }

    @Test
    void syncIsRefusedUnderQuorumMajority() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = track(new ProxyFixture(2000, "", true));
        p.master(redis);
        try (Jedis j = p.writeClient()) {
            assertThatThrownBy(() -> j.sendCommand(() -> "SYNC".getBytes(StandardCharsets.US_ASCII)))
                    .isInstanceOf(JedisDataException.class).hasMessageContaining("--quorum majority");
            assertThat(j.ping()).isEqualTo("PONG");
        }
        assertThat(redis.jedis().info("replication")).contains("connected_slaves:0");
    }

    /** Jedis 5 has no QUIT of its own. */
    private static final redis.clients.jedis.commands.ProtocolCommand QUIT =
            () -> "QUIT".getBytes(StandardCharsets.US_ASCII);

    @Test
    void quitOfASessionOnItsOwnConnectionIsRedissSoItsConnectionIsGoneBeforeTheClientHearsOk() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Jedis subscriber = p.writeClient(); Jedis stateful = p.writeClient()) {
            subscriber.getConnection().sendCommand(Protocol.Command.SUBSCRIBE, "news");
            assertThat(subscriber.getConnection().getObjectMultiBulkReply()).hasSize(3);
            subscriber.getConnection().sendCommand(QUIT);
            assertThat(subscriber.getConnection().getStatusCodeReply()).isEqualTo("OK");
            // no wait: redis dropped the subscriber before its +OK reached the client, as a direct QUIT does
            assertThat(redis.jedis().pubsubNumSub("news")).containsEntry("news", 0L);
            assertThatThrownBy(() -> subscriber.getConnection().getOne()).isInstanceOf(JedisConnectionException.class);

            stateful.clientSetname("about-to-quit");
            assertThat(stateful.sendCommand(QUIT)).isEqualTo("OK".getBytes(StandardCharsets.US_ASCII));
            assertThat(redis.jedis().clientList()).doesNotContain("name=about-to-quit");
        }
    }

    @Test
    void resetReturnsTheSessionToAFreshConnectionsStateEvenFromASubscription() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        redis.jedis().set("in-db-0", "yes");
        try (Jedis j = p.writeClient()) {
            j.select(3);
            j.clientSetname("worker-1");
            j.set("in-db-3", "yes");
            assertThat(j.sendCommand(Protocol.Command.RESET)).isEqualTo("RESET".getBytes());
            assertThat(j.get("in-db-0")).as("back in db 0").isEqualTo("yes");
            assertThat(j.clientGetname()).isNull();
            // from a subscription: RESET leaves it, and the session answers requests one for one again
            j.getConnection().sendCommand(Protocol.Command.SUBSCRIBE, "news");
            assertThat(j.getConnection().getObjectMultiBulkReply()).hasSize(3).contains(1L);
            j.getConnection().sendCommand(Protocol.Command.RESET);
            assertThat(j.getConnection().getStatusCodeReply()).isEqualTo("RESET");
            assertThat(j.ping()).isEqualTo("PONG");
            assertThat(j.get("in-db-0")).isEqualTo("yes");
            // no longer subscribed: the session is not pinned, and moves to a new master without noticing
            RedisServerFixture next = track(RedisServerFixture.start());
            next.jedis().set("in-db-0", "on the new master");
            p.master(next);
            await().atMost(Duration.ofSeconds(5)).until(() -> "on the new master".equals(j.get("in-db-0")));
        }
    }

    @Test
    void clientKillOfTheSessionsOwnConnectionClosesTheClientAsRedisDoesAndOthersGoOn() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Jedis killer = p.writeClient(); Jedis victim = p.writeClient(); Jedis bystander = p.writeClient()) {
            assertThat(bystander.set("k", "v")).isEqualTo("OK"); // a plain session, on the shared path
            long victimId = victim.clientId();
            // another session's connection: that client's connection closes, the killer's goes on
            assertThat(killer.clientKill(ClientKillParams.clientKillParams()
                    .id(Long.toString(victimId)))).isEqualTo(1);
            assertThatThrownBy(victim::ping).isInstanceOf(JedisConnectionException.class);
            assertThat(killer.ping()).isEqualTo("PONG");
            // its own (SKIPME no: the default skips the caller): redis answers, then the connection closes, as a
            // direct one would
            long ownId = killer.clientId();
            assertThat(killer.clientKill(ClientKillParams.clientKillParams().id(Long.toString(ownId))
                    .skipMe(ClientKillParams.SkipMe.NO))).isEqualTo(1);
            assertThatThrownBy(killer::ping).isInstanceOf(JedisConnectionException.class);
            assertThat(bystander.get("k")).as("the other sessions see nothing").isEqualTo("v");
        }
    }

    @ParameterizedTest(name = "session on a dedicated connection: {0}")
    @ValueSource(booleans = {false, true})
    void aMasterDemotedBeforeTheProxyHeardIsNotWrittenToAgainRequestsWaitForTheNewOne(boolean dedicatedSession)
            throws Exception {
        RedisServerFixture a = track(RedisServerFixture.start());
        RedisServerFixture b = track(RedisServerFixture.start());
        ProxyFixture p = proxy(5000);
        p.master(a);
        try (Jedis j = p.writeClient(); Jedis later = p.writeClient()) {
            if (dedicatedSession) {
                j.select(0);
            }
            assertThat(j.set("k", "before")).isEqualTo("OK");
            a.jedis().replicaof("127.0.0.1", b.port()); // a handover's demotion, which the proxy has not heard of
            // the write did not run (a is a replica): the client's connection closes, as at an unknown outcome
            assertThatThrownBy(() -> j.set("k", "lost?")).isInstanceOf(JedisConnectionException.class);
            // a request now waits for the new master instead of going to the replica again
            CompletableFuture<String> waiting = CompletableFuture.supplyAsync(() -> later.set("k", "after"));
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(1)).until(() -> !waiting.isDone());
            p.master(b);
            assertThat(waiting.get(5, TimeUnit.SECONDS)).isEqualTo("OK");
        }
        assertThat(b.jedis().get("k")).isEqualTo("after");
    }

    @ParameterizedTest(name = "RESP{0}")
    @ValueSource(ints = {2, 3})
    void aSubscriberMovesToTheNewMasterAndSeesOnlyTheMessagesPublishedThere(int protocol) throws Exception {
        RedisServerFixture a = track(RedisServerFixture.start());
        RedisServerFixture b = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(a);
        try (Socket s = new Socket("127.0.0.1", p.writePort)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = new java.io.BufferedInputStream(s.getInputStream());
            if (protocol == 3) {
                out.write("HELLO 3\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                assertThat(readFrameWords(in)).contains("proto", "3");
            }
            out.write("SUBSCRIBE news weather\r\nPSUBSCRIBE sport*\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(readFrameWords(in)).containsExactly("subscribe", "news", "1");
            assertThat(readFrameWords(in)).containsExactly("subscribe", "weather", "2");
            assertThat(readFrameWords(in)).containsExactly("psubscribe", "sport*", "3");
            a.jedis().publish("news", "on the first master");
            assertThat(readFrameWords(in)).containsExactly("message", "news", "on the first master");

            p.master(b); // the subscriber's connection to a closes: it must come back subscribed on b
            await().atMost(Duration.ofSeconds(5)).until(() -> b.jedis().pubsubNumPat() == 1
                    && b.jedis().pubsubNumSub("news", "weather").values().stream().allMatch(n -> n == 1));
            b.jedis().publish("news", "on the new master");
            // the next frame is that message: the confirmations of the new subscriptions never reach the client
            assertThat(readFrameWords(in)).containsExactly("message", "news", "on the new master");
            b.jedis().publish("sport-results", "2-1");
            assertThat(readFrameWords(in)).containsExactly("pmessage", "sport*", "sport-results", "2-1");
        }
    }

    /** The words of one reply or push (nested aggregates flattened: bulk, simple and integer values as text). */
    private static List<String> readFrameWords(InputStream in) throws java.io.IOException {
        List<String> words = new ArrayList<>();
        readValue(in, words);
        return words;
    }

    private static void readValue(InputStream in, List<String> words) throws java.io.IOException {
        String line = readLine(in);
        char type = line.charAt(0);
        String rest = line.substring(1);
        switch (type) {
            case '*', '>', '~' -> {
                for (int i = Integer.parseInt(rest); i > 0; i--) {
                    readValue(in, words);
                }
            }
            case '%' -> {
                for (int i = 2 * Integer.parseInt(rest); i > 0; i--) {
                    readValue(in, words);
                }
            }
            case '$' -> words.add(new String(in.readNBytes(Integer.parseInt(rest) + 2), StandardCharsets.ISO_8859_1)
                    .substring(0, Integer.parseInt(rest)));
            default -> words.add(rest); // +simple, :integer, #boolean, ,double, _null
        }
    }

    @Test
    void aCommandRefusedInsideMultiAbortsTheTransactionAsRedisDoes() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(redis);
        try (Jedis j = p.writeClient()) {
            Transaction tx = j.multi();
            tx.set("foo", "bar");
            tx.sendCommand(Protocol.Command.REPLICAOF, "127.0.0.1", "1");
            assertThatThrownBy(tx::exec).isInstanceOf(JedisDataException.class).hasMessageContaining("EXECABORT");
            assertThat(j.get("foo")).as("nothing of the transaction ran").isNull();
            assertThat(j.ping()).isEqualTo("PONG");
        }
        assertThat(redis.jedis().info("replication")).contains("role:master");
    }

    @Test
    void aPinnedSessionIsClosedOnFailover() {
        RedisServerFixture a = track(RedisServerFixture.start());
        RedisServerFixture b = track(RedisServerFixture.start());
        ProxyFixture p = proxy(2000);
        p.master(a);
        try (Jedis j = p.writeClient()) {
            j.watch("x");
            p.master(b);
            // the topology reaches the proxy's event loops asynchronously: the session breaks soon after
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThatThrownBy(() -> j.get("x"))
                    .isInstanceOfAny(JedisConnectionException.class, JedisDataException.class));
        }
    }

    @Test
    void withoutAMasterRequestsWaitAndAreServedWhenOneAppearsOrGetMasterdownAfterTheHold() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        ProxyFixture p = proxy(1000);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Jedis j = p.writeClient()) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> j.get("k")).hasMessageStartingWith("MASTERDOWN");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(900);

            Future<String> waiting = pool.submit(() -> j.set("k", "v"));
            await().pollDelay(Duration.ofMillis(100)).atMost(Duration.ofSeconds(1)).until(() -> !waiting.isDone());
            p.master(redis);
            assertThat(waiting.get(5, TimeUnit.SECONDS)).isEqualTo("OK");
            assertThat(j.get("k")).as("the connection stayed open").isEqualTo("v");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void readPortSessionsAreSpreadOverReplicasAndFallBackToTheMaster() {
        RedisServerFixture master = track(RedisServerFixture.start());
        RedisServerFixture r1 = track(RedisServerFixture.start());
        RedisServerFixture r2 = track(RedisServerFixture.start());
        master.jedis().set("who", "master");
        r1.jedis().set("who", "r1");
        r2.jedis().set("who", "r2");
        ProxyFixture p = proxy(2000);
        p.master(master, r1, r2);
        List<String> seen = new ArrayList<>();
        List<Jedis> readers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Jedis r = track(p.client(p.readPort, ""));
            readers.add(r);
            seen.add(r.get("who"));
        }
        assertThat(seen).containsExactlyInAnyOrder("r1", "r2", "r1", "r2");

        p.master(master, r2); // r1 unhealthy: its readers move
        for (Jedis r : readers) {
            assertThat(r.get("who")).isEqualTo("r2");
        }
        p.master(master); // no healthy replica: reads go to the master
        assertThat(readers.get(0).get("who")).isEqualTo("master");
    }

    private static String readExactly(InputStream in, int n) throws Exception {
        byte[] buf = in.readNBytes(n);
        return new String(buf, StandardCharsets.US_ASCII);
    }
}
