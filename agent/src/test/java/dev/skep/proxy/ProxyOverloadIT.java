package dev.skep.proxy;

import dev.skep.support.RedisServerFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Clients that do not read their replies, through the write port, against a real redis: what they cost the other
 * clients and the proxy's memory, and what they see themselves when the proxy holds too much for them.
 */
class ProxyOverloadIT {
    private static final int MB = 1 << 20;
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

    /** A redis with {@code key} set to a value of {@code size} bytes (not all alike, so a mix-up shows). */
    private static byte[] value(int size) {
        byte[] v = new byte[size];
        for (int i = 0; i < size; i++) {
            v[i] = (byte) ('a' + i % 23);
        }
        return v;
    }

    private static byte[] gets(String key, int n) {
        byte[] one = ("*2\r\n$3\r\nGET\r\n$" + key.length() + "\r\n" + key + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[one.length * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(one, 0, all, i * one.length, one.length);
        }
        return all;
    }

    /** A raw client with a small receive buffer that sends {@code requests} and never reads. */
    private Socket nonReader(ProxyFixture p, byte[] requests) throws IOException {
        Socket s = track(new Socket());
        s.setReceiveBufferSize(64 * 1024);
        s.connect(new InetSocketAddress("127.0.0.1", p.writePort), 2000);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(requests);
        s.getOutputStream().flush();
        return s;
    }

    /** Reads until the proxy closes the connection (end of stream or reset); returns what arrived. */
    private static byte[] readUntilClosed(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[64 * 1024];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                got.write(buf, 0, n);
            }
        } catch (SocketException e) {
            assertThat(e.getMessage()).as("how the connection ended").contains("reset");
        }
        return got.toByteArray();
    }

    private static String head(byte[] bytes, int n) {
        return new String(bytes, 0, Math.min(n, bytes.length), StandardCharsets.US_ASCII);
    }

    @Test
    void sixClientsThatNeverReadTheirMegabyteRepliesLeaveTheOthersServedAndTheProxyWithinItsBound() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        redis.jedis().set("big".getBytes(StandardCharsets.US_ASCII), value(MB));
        redis.jedis().set("small", "hello");
        long limit = 16L * MB;
        ProxyFixture p = track(new ProxyFixture(8L * MB, limit));
        p.master(redis);
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        AtomicLong mostHeld = new AtomicLong();
        try (Jedis bystander = p.writeClient()) {
            assertThat(bystander.ping()).isEqualTo("PONG");
            long sharedBefore = p.proxy.count(ProxyCount.COMMANDS_SHARED, false);
            sampler.scheduleAtFixedRate(() -> mostHeld.accumulateAndGet(p.proxy.heldBytes(), Math::max),
                    0, 1, TimeUnit.MILLISECONDS);

            List<Socket> flooders = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                flooders.add(nonReader(p, gets("big", 200))); // 200 MB of replies each, never read
            }
            // the bystander, from the moment the flood starts: a PING and a GET at a time, 300 times, paced a little
            // so that the measurement spans the flood's first replies and what follows
            List<Long> micros = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                long t0 = System.nanoTime();
                assertThat(bystander.ping()).isEqualTo("PONG");
                micros.add((System.nanoTime() - t0) / 1000);
                t0 = System.nanoTime();
                assertThat(bystander.get("small")).isEqualTo("hello");
                micros.add((System.nanoTime() - t0) / 1000);
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2)); // pacing, not a wait for a condition
            }
            micros.sort(null);
            System.out.printf("bystander through the write port during the flood: p50 %d µs, p99 %d µs, max %d µs%n",
                    micros.get(micros.size() / 2), micros.get(micros.size() * 99 / 100), micros.get(micros.size() - 1));
            assertThat(micros.get(micros.size() - 1)).as("slowest PING or GET, µs").isLessThan(1_000_000);

            // each flooder sent only its first GET over the shared connection: its reply showed how large they are,
            // and the rest wait on a connection of its own, where redis holds what the client does not read
            long shared = p.proxy.count(ProxyCount.COMMANDS_SHARED, false) - sharedBefore;
            assertThat(shared - 600).as("flooders' requests over the shared connection").isLessThanOrEqualTo(6);
            assertThat(mostHeld.get()).as("bytes the proxy held for clients").isLessThanOrEqualTo(limit);
            assertThat(p.proxy.count(ProxyCount.OVERLOAD_CLIENT, false) + p.proxy.count(ProxyCount.OVERLOAD_TOTAL, false))
                    .as("clients closed: none held more than the bounds").isZero();

            for (Socket f : flooders) {
                f.close();
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> p.proxy.heldBytes() == 0);
            assertThat(bystander.get("small")).isEqualTo("hello");
        } finally {
            sampler.shutdownNow();
        }
    }

    @Test
    void aClientTheProxyHoldsTooMuchForIsClosedAndItsRepliesStillComingAreDropped() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        redis.jedis().set("huge".getBytes(StandardCharsets.US_ASCII), value(8 * MB));
        ProxyFixture p = track(new ProxyFixture(2L * MB, 64L * MB));
        p.master(redis);
        try (Jedis bystander = p.writeClient()) {
            Socket flooder = nonReader(p, gets("huge", 10));
            await().atMost(Duration.ofSeconds(10)).until(() -> p.proxy.count(ProxyCount.OVERLOAD_CLIENT, false) == 1);

            // what the client sees: the start of its first reply, then the connection closed
            byte[] got = readUntilClosed(flooder);
            assertThat(head(got, 10)).isEqualTo("$8388608\r\n");
            assertThat(got.length).as("bytes the closed client got").isLessThan(8 * MB);

            await().atMost(Duration.ofSeconds(5)).until(() -> p.proxy.heldBytes() == 0);
            assertThat(bystander.ping()).isEqualTo("PONG");
            assertThat(p.proxy.count(ProxyCount.OVERLOAD_TOTAL, false)).isZero();
        }
    }

    @Test
    void whenAllClientsTogetherHoldTooMuchTheOneHoldingTheMostIsClosed() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        byte[] two = value(2 * MB);
        redis.jedis().set("big".getBytes(StandardCharsets.US_ASCII), two);
        redis.jedis().set("huge".getBytes(StandardCharsets.US_ASCII), value(16 * MB));
        // each of the two event loops may hold 6 MB for its clients; one client up to 64 MB
        ProxyFixture p = track(new ProxyFixture(64L * MB, 12L * MB));
        p.master(redis);
        Socket modest = nonReader(p, gets("big", 1));
        await().atMost(Duration.ofSeconds(5)).until(() -> p.proxy.count(ProxyCount.COMMANDS_SHARED, false) == 1);
        Socket greedy = nonReader(p, gets("huge", 1));
        await().atMost(Duration.ofSeconds(10)).until(() -> p.proxy.count(ProxyCount.OVERLOAD_TOTAL, false) == 1);

        byte[] got = readUntilClosed(greedy);
        assertThat(head(got, 11)).isEqualTo("$16777216\r\n");
        assertThat(got.length).isLessThan(16 * MB);
        // the client holding less keeps its connection and gets its reply whole
        byte[] reply = modest.getInputStream().readNBytes(2 * MB + 12);
        assertThat(head(reply, 10)).isEqualTo("$2097152\r\n");
        assertThat(Arrays.copyOfRange(reply, 10, 10 + 2 * MB)).isEqualTo(two);
        assertThat(p.proxy.count(ProxyCount.OVERLOAD_CLIENT, false)).isZero();
    }

    @Test
    void largeValuesReachAClientThatReadsThemWholeOverAConnectionOfItsOwn() {
        RedisServerFixture redis = track(RedisServerFixture.start());
        byte[] four = value(4 * MB);
        byte[] one = value(MB);
        redis.jedis().set("four".getBytes(StandardCharsets.US_ASCII), four);
        redis.jedis().set("one".getBytes(StandardCharsets.US_ASCII), one);
        ProxyFixture p = track(new ProxyFixture(8L * MB, 64L * MB));
        p.master(redis);
        try (Jedis j = p.writeClient()) {
            assertThat(j.get("four".getBytes(StandardCharsets.US_ASCII))).isEqualTo(four); // streamed in as it came
            long dedicatedBefore = p.proxy.count(ProxyCount.COMMANDS_DEDICATED, false);
            Pipeline pipe = j.pipelined();
            List<Response<byte[]>> values = new ArrayList<>();
            List<Response<Long>> counts = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                values.add(pipe.get("one".getBytes(StandardCharsets.US_ASCII)));
                counts.add(pipe.incr("n"));
            }
            pipe.sync();
            for (int i = 0; i < 20; i++) {
                assertThat(values.get(i).get()).isEqualTo(one);
                assertThat(counts.get(i).get()).isEqualTo(i + 1);
            }
            assertThat(p.proxy.count(ProxyCount.COMMANDS_DEDICATED, false) - dedicatedBefore)
                    .as("requests after the first large reply, on the session's own connection").isEqualTo(40);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> p.proxy.heldBytes() == 0);
    }

    @Test
    void aReplyCutOffMidStreamByAFailoverClosesTheClientRatherThanSpliceAnErrorIntoIt() throws Exception {
        RedisServerFixture redis = track(RedisServerFixture.start());
        RedisServerFixture next = track(RedisServerFixture.start());
        byte[] big = value(16 * MB);
        redis.jedis().set("big".getBytes(StandardCharsets.US_ASCII), big);
        ProxyFixture p = track(new ProxyFixture(64L * MB, 128L * MB));
        p.master(redis);
        Socket client = nonReader(p, gets("big", 2));
        InputStream in = client.getInputStream();
        // the first reply is taken whole; the second, on the session's own connection, stops part way while the
        // client does not read (the proxy stops reading from redis; 16 MB is more than socket buffers take)
        byte[] first = in.readNBytes(16 * MB + 13);
        assertThat(head(first, 11)).isEqualTo("$16777216\r\n");
        assertThat(Arrays.copyOfRange(first, 11, 11 + 16 * MB)).isEqualTo(big);
        await().atMost(Duration.ofSeconds(5)).until(() -> p.proxy.heldBytes() > 0);
        redis.kill9();
        p.master(next); // the hive fails over: the connection to the dead master is given up

        byte[] rest = readUntilClosed(client);
        assertThat(head(rest, 11)).isEqualTo("$16777216\r\n");
        assertThat(rest.length).as("what came of the second reply before the connection closed").isLessThan(16 * MB + 13);
        assertThat(Arrays.copyOfRange(rest, 11, rest.length))
                .as("only the value's own bytes, no error spliced in")
                .isEqualTo(Arrays.copyOfRange(big, 0, rest.length - 11));
    }
}
