package dev.skep.app;

import dev.skep.status.HandoverResult;
import dev.skep.support.PrometheusText;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.XReadGroupParams;
import redis.clients.jedis.resps.StreamEntry;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/**
 * Requests in flight on the write port when the master changes, as client libraries expect them to behave: a
 * blocking command waiting through a planned handover did not run, so it is sent again to the new master and
 * the client sees nothing; a request whose outcome is unknown (the master's redis crashed) closes the client's
 * connection, which libraries treat as the signal to reconnect and retry; {@code --unknown-outcome error} keeps
 * the older error reply.
 */
class InFlightAtFailoverIT {
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    private static Jedis client(HiveFixture.Node entry) {
        // no socket timeout: a blocking command waits as long as it asks
        return new Jedis(new HostAndPort("127.0.0.1", entry.config.proxyPort()),
                DefaultJedisClientConfig.builder().socketTimeoutMillis(0).build());
    }

    /** The hive's leader, once its replicas are in sync. */
    private HiveFixture.Node leaderInSync() {
        HiveFixture.Node leader = hive.awaitLeader(Duration.ofSeconds(10));
        hive.awaitReplicasInSync(leader);
        return leader;
    }

    private HiveFixture.Node anotherThan(HiveFixture.Node node) {
        return hive.nodes.stream().filter(n -> n != node).findFirst().orElseThrow();
    }

    private static int blockedClients(HiveFixture.Node n) {
        return Integer.parseInt(HiveFixture.infoField(n.redis.jedis().info("clients"), "blocked_clients"));
    }

    private long resent() {
        long sum = 0;
        for (HiveFixture.Node n : hive.nodes) {
            sum += (long) PrometheusText.parse(n.agent.metrics().scrape())
                    .value("skep_proxy_resent_total", "port", "write");
        }
        return sum;
    }

    @Test
    void blockingCommandsWaitingThroughAPlannedHandoverAreSentAgainToTheNewMasterAndClientsSeeNoError()
            throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node old = leaderInSync();
        HiveFixture.Node other = anotherThan(old);
        old.redis.jedis().xgroupCreate("events", "workers", StreamEntryID.XGROUP_LAST_ENTRY, true);
        await().atMost(Duration.ofSeconds(5)).until(() -> other.redis.jedis().exists("events"));

        // a queue worker through a replica's node, another through the master's own node, a stream consumer
        long started = System.nanoTime();
        CompletableFuture<List<String>> viaReplicaNode = CompletableFuture.supplyAsync(() -> {
            try (Jedis j = client(other)) {
                return j.brpop(30, "jobs");
            }
        });
        CompletableFuture<List<String>> viaMasterNode = CompletableFuture.supplyAsync(() -> {
            try (Jedis j = client(old)) {
                return j.brpop(30, "jobs");
            }
        });
        CompletableFuture<List<Map.Entry<String, List<StreamEntry>>>> consumer = CompletableFuture.supplyAsync(() -> {
            try (Jedis j = client(other)) {
                return j.xreadGroup("workers", "c1", XReadGroupParams.xReadGroupParams().block(30_000).count(1),
                        Map.of("events", StreamEntryID.XREADGROUP_UNDELIVERED_ENTRY));
            }
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> blockedClients(old) == 3);

        HandoverResult r = old.agent.handover(null, "test").get(10, TimeUnit.SECONDS);
        assertThat(r.ok()).as("handover: %s", r.detail()).isTrue();
        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(5));

        // the three commands wait on the new master now, none answered yet
        await().atMost(Duration.ofSeconds(5)).until(() -> blockedClients(next) == 3);
        assertThat(viaReplicaNode).isNotDone();
        assertThat(viaMasterNode).isNotDone();
        assertThat(consumer).isNotDone();
        assertThat(resent()).isEqualTo(3);

        try (Jedis producer = client(other)) {
            producer.lpush("jobs", "job-1", "job-2");
            producer.xadd("events", StreamEntryID.NEW_ENTRY, Map.of("order", "42"));
        }
        List<String> a = viaReplicaNode.get(10, TimeUnit.SECONDS);
        List<String> b = viaMasterNode.get(10, TimeUnit.SECONDS);
        assertThat(List.of(a.get(1), b.get(1))).containsExactlyInAnyOrder("job-1", "job-2");
        List<Map.Entry<String, List<StreamEntry>>> read = consumer.get(10, TimeUnit.SECONDS);
        assertThat(read.get(0).getValue().get(0).getFields()).containsEntry("order", "42");
        // each waited once, for less than its 30 s in all
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started)).isLessThan(30);
        // the job was popped once: the new master's queue is empty
        assertThat(next.redis.jedis().llen("jobs")).isZero();
    }

    @Test
    void aResentBlockingCommandWaitsOnlyWhatWasLeftOfItsTimeout() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node old = leaderInSync();
        HiveFixture.Node other = anotherThan(old);
        long started = System.nanoTime();
        CompletableFuture<List<String>> waiter = CompletableFuture.supplyAsync(() -> {
            try (Jedis j = client(other)) {
                return j.brpop(3, "nothing-comes");
            }
        });
        await().atMost(Duration.ofSeconds(2)).until(() -> blockedClients(old) == 1);
        assertThat(old.agent.handover(null, "test").get(10, TimeUnit.SECONDS).ok()).isTrue();

        assertThat(waiter.get(10, TimeUnit.SECONDS)).as("timed out, as redis answers a timeout").isNull();
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertThat(tookMs).as("3 s in all, not 3 s after the handover").isBetween(2_900L, 4_500L);
    }

    @Test
    void aRequestInFlightWhenTheMastersRedisCrashesClosesTheClientsConnectionAndAReconnectWorks() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node old = leaderInSync();
        HiveFixture.Node other = anotherThan(old);
        CompletableFuture<List<String>> waiter = CompletableFuture.supplyAsync(() -> {
            try (Jedis j = client(other)) {
                return j.brpop(30, "jobs");
            }
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> blockedClients(old) == 1);

        old.redis.kill9();
        Throwable seen = catchThrowable(() -> waiter.get(10, TimeUnit.SECONDS));
        assertThat(seen).as("the connection closed, no error reply").hasCauseInstanceOf(JedisConnectionException.class);

        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(10));
        try (Jedis again = client(other)) {
            CompletableFuture<List<String>> retried = CompletableFuture.supplyAsync(() -> {
                try (Jedis j = client(other)) {
                    return j.brpop(30, "jobs");
                }
            });
            await().atMost(Duration.ofSeconds(5)).until(() -> blockedClients(next) == 1);
            again.lpush("jobs", "after-the-crash");
            assertThat(retried.get(10, TimeUnit.SECONDS)).containsExactly("jobs", "after-the-crash");
        }
    }

    @Test
    void withUnknownOutcomeErrorTheClientGetsAnErrorReplyAndKeepsItsConnection() throws Exception {
        hive = HiveFixture.startWithUnknownOutcome(3, "error");
        HiveFixture.Node old = leaderInSync();
        HiveFixture.Node other = anotherThan(old);
        try (Jedis j = client(other)) {
            CompletableFuture<Throwable> waiter = CompletableFuture.supplyAsync(() -> catchThrowable(() -> j.brpop(30, "jobs")));
            await().atMost(Duration.ofSeconds(5)).until(() -> blockedClients(old) == 1);
            old.redis.kill9();
            Throwable seen = waiter.get(10, TimeUnit.SECONDS);
            assertThat(seen).isInstanceOf(JedisDataException.class)
                    .hasMessageContaining("may or may not have been executed");
            hive.awaitLeaderOtherThan(old, Duration.ofSeconds(10));
            await().atMost(Duration.ofSeconds(5)).ignoreExceptions().until(() -> j.set("k", "v").equals("OK"));
            assertThat(j.get("k")).isEqualTo("v");
        }
    }
}
