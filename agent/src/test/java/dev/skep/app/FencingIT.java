package dev.skep.app;

import dev.skep.redis.RedisController;
import dev.skep.support.RedisServerFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.skep.app.HiveFixture.infoField;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Issue 14's safety rules on a real hive (in-JVM agents, real redis servers, 100 ms heartbeats): only the
 * leader's redis takes writes; a leader whose agent dies has its redis fenced by the next leader; a master that is
 * busy keeps its leadership, one that is stopped loses it.
 */
class FencingIT {
    private static final Duration ELECTION = Duration.ofSeconds(10);
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    @Test
    void onlyTheLeadersRedisTakesWritesEveryOtherIsFenced() {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        assertThat(leader.redis.jedis().set("direct", "to the master")).isEqualTo("OK");
        assertThat(leader.redis.jedis().configGet("min-replicas-to-write")).containsEntry("min-replicas-to-write", "0");
        for (HiveFixture.Node n : hive.nodes) {
            if (n != leader) {
                // a replica refuses writes anyway; fenced, it also would if anything made it a master
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(
                        n.redis.jedis().configGet("min-replicas-to-write")).containsEntry("min-replicas-to-write",
                        Integer.toString(RedisController.FENCED_MIN_REPLICAS)));
            }
        }
    }

    /**
     * kill -9 of the leader's agent: its redis lives on as a master nobody controls. The next leader fences it as
     * it promotes its own, so that a client writing to it directly (sent there by the Sentinel endpoint before
     * the failover) stops at once, not when the dead agent restarts (seconds: a JVM start).
     */
    @Test
    void theRedisOfALeaderWhoseAgentDiedIsFencedByTheNextLeader() {
        hive = HiveFixture.start(3);
        HiveFixture.Node oldLeader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(oldLeader);
        oldLeader.stopAgent(); // tells its peers nothing: as after kill -9; its redis stays a master
        assertThat(oldLeader.redis.jedis().set("still", "writable")).isEqualTo("OK");

        HiveFixture.Node newLeader = hive.awaitLeaderOtherThan(oldLeader, ELECTION);
        long confirmedAt = System.nanoTime();
        await().atMost(Duration.ofMillis(500)).pollInterval(Duration.ofMillis(5)).untilAsserted(() ->
                assertThatThrownBy(() -> oldLeader.redis.jedis().set("orphan", "write"))
                        .isInstanceOf(JedisDataException.class).hasMessageStartingWith("NOREPLICAS"));
        long fencedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - confirmedAt);
        assertThat(infoField(oldLeader.redis.jedis().info("replication"), "role")).isEqualTo("master");
        // the fence thread records the event once redis has taken the fence, a moment after the write above saw it
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(newLeader.status().events())
                .anyMatch(e -> e.kind().equals("fenced-orphan")
                        && e.message().contains(oldLeader.redis.endpoint().toString())));
        System.out.println("orphaned master fenced " + fencedMs + " ms after the new leader was seen confirmed");

        oldLeader.startAgent();
        await().atMost(ELECTION).untilAsserted(() ->
                assertThat(infoField(oldLeader.redis.jedis().info("replication"), "role")).isEqualTo("slave"));
    }

    /**
     * A 3-second Lua script on the master (5 s on Redis 8 and Valkey 8, whose TIME stands still in a script until
     * it is busy): redis answers nobody meanwhile, but its process runs. Redis's own
     * busy-reply-threshold is 5 s; the agent's busy grace (10 s) keeps the leadership, where it used to give up
     * after three probes (300 ms here) and fail over, discarding what the script wrote.
     */
    @Test
    void aMasterBusyWithALongScriptKeepsItsLeadership() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        long epoch = leader.status().epoch();
        CompletableFuture<Object> script = CompletableFuture.supplyAsync(() -> {
            // on Redis 8 and Valkey 8 TIME stands still inside a script until redis counts it busy (5 s): there
            // the script lasts 5 s, still within the agent's 10 s busy grace
            try (Jedis j = leader.redis.newJedis(Duration.ofSeconds(15))) {
                return j.eval("local t = redis.call('TIME') local s = t[1] * 1000 + math.floor(t[2] / 1000) "
                        + "while true do local n = redis.call('TIME') "
                        + "if n[1] * 1000 + math.floor(n[2] / 1000) - s >= 3000 then break end end "
                        + "return redis.call('SET', 'written-by', 'the long script')", 0);
            }
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> leader.status().events().stream()
                .anyMatch(e -> e.kind().equals("redis-busy")));
        assertThat(script.get(15, TimeUnit.SECONDS)).isEqualTo("OK");
        await().atMost(Duration.ofSeconds(5)).until(() -> leader.status().events().stream()
                .anyMatch(e -> e.kind().equals("redis-busy") && e.message().startsWith("local redis answers again")));
        for (HiveFixture.Node n : hive.nodes) {
            assertThat(n.status().epoch()).as(n + " saw no new leadership").isEqualTo(epoch);
        }
        assertThat(hive.agreedLeader()).contains(leader);
        assertThat(leader.status().events()).noneMatch(e -> e.kind().equals("stepped-down"));
        await().atMost(Duration.ofSeconds(5)).until(() -> hive.nodes.stream().filter(n -> n != leader)
                .allMatch(n -> "the long script".equals(n.redis.jedis().get("written-by"))));
    }

    /** SIGSTOP of the master's redis: the process is stopped, not busy, and the hive fails over as before. */
    @Test
    void aStoppedMasterIsFailedOverWithoutWaitingForTheBusyGrace() {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        RedisServerFixture frozen = leader.redis;
        long start = System.nanoTime();
        frozen.freeze();
        try {
            HiveFixture.Node next = hive.awaitLeaderOtherThan(leader, Duration.ofSeconds(5));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(next).isNotSameAs(leader);
            assertThat(leader.status().events()).anyMatch(e -> e.kind().equals("not-ready")
                    && e.message().contains("state T"));
            System.out.println("stopped master failed over in " + ms + " ms (busy grace 10000 ms)");
        } finally {
            frozen.thaw();
        }
    }
}
