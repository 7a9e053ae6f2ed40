package dev.skep.app;

import dev.skep.cli.SkepCommand;
import dev.skep.status.HandoverResult;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Planned handovers (DESIGN.md invariant 5) under write load: writers through every node's write port see
 * a pause and no error, and every acknowledged write is on the new master afterwards. Also the refusals,
 * the SIGTERM path ({@link SkepNode#shutdownGracefully()}) and {@code skep failover}.
 */
class HandoverIT {
    private static final int WRITERS = 24;
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    /** What one writer did: acknowledged INCRs and SETs, errors, and the longest wait for a reply. */
    record Writer(int id, long incrs, List<String> keys, List<String> errors, long longestGapMs) {}

    @Test
    void plannedHandoverUnderWriteLoadLosesNothingAndShowsClientsNoError() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node old = hive.awaitLeader(Duration.ofSeconds(10));
        hive.awaitReplicasInSync(old);

        List<Writer> writers = writeDuring(() -> {
            HandoverResult r = old.agent.handover(null, "test").get(10, TimeUnit.SECONDS);
            assertThat(r.ok()).as("handover: %s", r.detail()).isTrue();
            System.out.printf("handover: %s, writes held %d ms%n", r.detail(), r.pausedMs());
            return r;
        });

        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(5));
        assertNothingLostNoErrors(writers, next);
        // the old master replicates the new one and has everything too
        await().atMost(Duration.ofSeconds(5)).until(() -> HiveFixture.infoField(
                old.redis.jedis().info("replication"), "master_port").equals(Integer.toString(next.redis.port())));
        assertThat(old.status().leader()).isEqualTo(next.peer());
    }

    @Test
    void stoppingTheLeadersAgentHandsOverFirst() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node old = hive.awaitLeader(Duration.ofSeconds(10));
        hive.awaitReplicasInSync(old);

        List<Writer> writers = writeDuring(() -> {
            HandoverResult r = old.agent.shutdownGracefully(); // what SIGTERM runs
            old.agent = null;
            assertThat(r).isNotNull();
            assertThat(r.ok()).as("handover: %s", r.detail()).isTrue();
            return r;
        }, n -> n != old);

        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(5));
        assertNothingLostNoErrors(writers, next);
        // the stopped agent's redis was turned into a replica of the successor before the agent exited
        assertThat(HiveFixture.infoField(old.redis.jedis().info("replication"), "master_port"))
                .isEqualTo(Integer.toString(next.redis.port()));
    }

    /**
     * Clients of the stopping node's own write port: served by the new master until they are between two
     * requests, then their connection is closed; they reconnect elsewhere (as through a Service). No request
     * is cut in flight: every counter equals its acknowledged increments exactly (an increment sent and cut
     * would leave it one higher, its outcome unknown to the client).
     */
    @Test
    void clientsOfTheStoppingNodeAreClosedBetweenRequestsOnly() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node old = hive.awaitLeader(Duration.ofSeconds(10));
        hive.awaitReplicasInSync(old);
        HiveFixture.Node elsewhere = hive.nodes.stream().filter(n -> n != old).findFirst().orElseThrow();
        int clients = 8;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong acks = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<long[]>> futures = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (int c = 0; c < clients; c++) {
            int id = c;
            futures.add(pool.submit(() -> {
                long incrs = 0;
                long reconnects = 0;
                Jedis j = writePortClient(old);
                try {
                    for (int n = 0; !stop.get() && System.nanoTime() < deadline && n < 200_000; n++) {
                        try {
                            j.incr("drain:" + id);
                            incrs++;
                            acks.incrementAndGet();
                        } catch (redis.clients.jedis.exceptions.JedisConnectionException e) {
                            j.close();
                            j = writePortClient(elsewhere); // as a client behind a Service would
                            reconnects++;
                        }
                    }
                } finally {
                    j.close();
                }
                return new long[] {incrs, reconnects};
            }));
        }
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> acks.get() >= 2_000);
            HandoverResult r = old.agent.shutdownGracefully();
            old.agent = null;
            assertThat(r.ok()).as(r.detail()).isTrue();
            long after = acks.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> acks.get() >= after + 2_000);
        } finally {
            stop.set(true);
            pool.shutdown();
        }
        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(5));
        try (Jedis j = next.redis.newJedis()) {
            for (int c = 0; c < clients; c++) {
                long[] w = futures.get(c).get(30, TimeUnit.SECONDS);
                assertThat(w[1]).as("client %d reconnected once its node stopped", c).isEqualTo(1);
                assertThat(Long.parseLong(j.get("drain:" + c))).as("drain:%d", c).isEqualTo(w[0]);
            }
        }
    }

    @Test
    void handoverToANamedNodeAndRefusals() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(Duration.ofSeconds(10));
        hive.awaitReplicasInSync(leader);
        HiveFixture.Node follower = hive.nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        HiveFixture.Node other = hive.nodes.stream().filter(n -> n != leader && n != follower).findFirst().orElseThrow();

        HandoverResult notLeading = follower.agent.handover(null, "test").get(5, TimeUnit.SECONDS);
        assertThat(notLeading.ok()).isFalse();
        assertThat(notLeading.detail()).contains("does not lead");

        HandoverResult stranger = leader.agent.handover(new Endpoint("127.0.0.1", 1), "test").get(5, TimeUnit.SECONDS);
        assertThat(stranger.ok()).isFalse();
        assertThat(stranger.detail()).contains("not a member");
        assertThat(leader.status().state()).isEqualTo(NodeState.LEADING);

        HandoverResult named = leader.agent.handover(other.peer(), "test").get(10, TimeUnit.SECONDS);
        assertThat(named.ok()).as(named.detail()).isTrue();
        assertThat(named.successor()).isEqualTo(other.peer());
        assertThat(hive.awaitLeaderOtherThan(leader, Duration.ofSeconds(5))).isSameAs(other);
        assertThat(hive.node(0).status().events()).anySatisfy(e -> assertThat(e.kind()).isEqualTo("handover"));
    }

    @Test
    void handoverIsAbandonedWhenTheSuccessorCannotCatchUpAndWritesResume() throws Exception {
        hive = HiveFixture.start(2);
        HiveFixture.Node leader = hive.awaitLeader(Duration.ofSeconds(10));
        HiveFixture.Node replica = hive.nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        hive.awaitReplicasInSync(leader);
        try (Jedis j = writePortClient(leader)) {
            j.set("before", "1");
            replica.redis.freeze(); // SIGSTOP: the successor's redis cannot answer, so it never catches up
            try {
                HandoverResult r = leader.agent.handover(replica.peer(), "test").get(10, TimeUnit.SECONDS);
                assertThat(r.ok()).isFalse();
                assertThat(leader.status().state()).isEqualTo(NodeState.LEADING);
                // writes paused on the master's redis were resumed: a write through the proxy succeeds
                assertThat(j.set("after", "2")).isEqualTo("OK");
                assertThat(leader.redis.jedis().get("after")).isEqualTo("2");
            } finally {
                replica.redis.thaw();
            }
        }
    }

    @Test
    void skepFailoverCommandAsksTheLeaderThroughAnyNode() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(Duration.ofSeconds(10));
        hive.awaitReplicasInSync(leader);
        HiveFixture.Node follower = hive.nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = SkepCommand.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("failover", "--http", "127.0.0.1:" + follower.config.httpPort());
        assertThat(code).as("stdout %s stderr %s", out, err).isZero();
        assertThat(out.toString()).contains("handed over from " + leader.peer());
        assertThat(hive.awaitLeaderOtherThan(leader, Duration.ofSeconds(5))).isNotSameAs(leader);

        int refused = SkepCommand.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("failover", "--http", "127.0.0.1:" + follower.config.httpPort(), "--to", "127.0.0.1:1");
        assertThat(refused).isEqualTo(1);
        assertThat(err.toString()).contains("no handover: 127.0.0.1:1 is not a member");
    }

    // ---- helpers ----

    private interface Action {
        HandoverResult run() throws Exception;
    }

    private List<Writer> writeDuring(Action action) throws Exception {
        return writeDuring(action, n -> true);
    }

    /**
     * Runs writers (INCR of their own counter, SET of a new key, alternately) through the write ports of the
     * nodes {@code entry} accepts, runs {@code action} once they are going, lets them go on on the new master,
     * and returns what each saw.
     */
    private List<Writer> writeDuring(Action action, java.util.function.Predicate<HiveFixture.Node> entry)
            throws Exception {
        List<HiveFixture.Node> entries = hive.nodes.stream().filter(entry).toList();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong acks = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
        List<Future<Writer>> futures = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (int w = 0; w < WRITERS; w++) {
            int id = w;
            HiveFixture.Node via = entries.get(w % entries.size());
            futures.add(pool.submit(() -> {
                long incrs = 0;
                long longestGap = 0;
                List<String> keys = new ArrayList<>();
                List<String> errors = new ArrayList<>();
                try (Jedis j = writePortClient(via)) {
                    if (id % 3 == 0) {
                        j.select(0); // a third of the writers on dedicated upstream connections
                    }
                    long last = System.nanoTime();
                    for (int n = 0; !stop.get() && System.nanoTime() < deadline && n < 200_000; n++) {
                        try {
                            if (n % 2 == 0) {
                                j.incr("counter:" + id);
                                incrs++;
                            } else {
                                String key = "key:" + id + ":" + n;
                                j.set(key, "v");
                                keys.add(key);
                            }
                            acks.incrementAndGet();
                        } catch (RuntimeException e) {
                            errors.add(e.toString());
                            if (errors.size() > 20) {
                                break;
                            }
                        }
                        long now = System.nanoTime();
                        longestGap = Math.max(longestGap, now - last);
                        last = now;
                    }
                }
                return new Writer(id, incrs, keys, errors, TimeUnit.NANOSECONDS.toMillis(longestGap));
            }));
        }
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> acks.get() >= 2_000);
            action.run();
            long after = acks.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> acks.get() >= after + 2_000);
        } finally {
            stop.set(true);
            pool.shutdown();
        }
        List<Writer> writers = new ArrayList<>();
        for (Future<Writer> f : futures) {
            writers.add(f.get(30, TimeUnit.SECONDS));
        }
        List<Long> gaps = writers.stream().map(Writer::longestGapMs).sorted().toList();
        System.out.printf("longest wait per writer (ms): median %d, max %d%n", gaps.get(gaps.size() / 2),
                gaps.get(gaps.size() - 1));
        return writers;
    }

    private static void assertNothingLostNoErrors(List<Writer> writers, HiveFixture.Node master) {
        try (Jedis j = master.redis.newJedis()) {
            for (Writer w : writers) {
                assertThat(w.errors()).as("errors seen by writer %d", w.id()).isEmpty();
                String counter = j.get("counter:" + w.id());
                assertThat(counter == null ? 0 : Long.parseLong(counter)).as("counter:%d", w.id()).isEqualTo(w.incrs());
                List<String> missing = new ArrayList<>();
                for (String key : w.keys()) {
                    if (!j.exists(key)) {
                        missing.add(key);
                    }
                }
                assertThat(missing).as("acknowledged keys of writer %d missing on the new master", w.id()).isEmpty();
            }
        }
    }

    private static Jedis writePortClient(HiveFixture.Node node) {
        return new Jedis(new HostAndPort("127.0.0.1", node.config.proxyPort()),
                DefaultJedisClientConfig.builder().socketTimeoutMillis(10_000).build());
    }
}
