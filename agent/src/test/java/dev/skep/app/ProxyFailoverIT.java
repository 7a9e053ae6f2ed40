package dev.skep.app;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

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
 * Clients writing through a node's write port while the master's redis is killed with kill -9: only the
 * connections with a request in flight at the kill are closed (its outcome is unknown: {@code --unknown-outcome
 * close}, the default), no client gets an error reply, and the writes go on on the new master after a reconnect;
 * half of the writers use shared upstream connections, half dedicated ones.
 */
class ProxyFailoverIT {
    private static final int CLIENTS = 50;
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    /** What one writer saw. */
    record Writer(long acknowledged, long errors, long closed, long lastValue, List<String> closes) {}

    @Test
    void writersThroughAReplicasNodeSeeAtMostTheirInFlightRequestFailWhenTheMastersRedisIsKilled() throws Exception {
        writeThroughAFailover(false);
    }

    @Test
    void writersThroughTheMastersOwnNodeFollowTheNewMasterWhileTheirNodesRedisIsDown() throws Exception {
        writeThroughAFailover(true);
    }

    private void writeThroughAFailover(boolean throughTheMastersNode) throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node oldMaster = hive.awaitLeader(Duration.ofSeconds(10));
        // through a replica's node, or through the master's own node, whose redis is the one killed (its
        // agent must send its clients to the master the others elect, not wait for its own redis)
        HiveFixture.Node entry = throughTheMastersNode ? oldMaster
                : hive.nodes.stream().filter(n -> n != oldMaster).findFirst().orElseThrow();
        int port = entry.config.proxyPort();

        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong totalAcks = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        List<Future<Writer>> writers = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int c = 0; c < CLIENTS; c++) {
            String key = "counter:" + c;
            int id = c;
            writers.add(pool.submit(() -> {
                long acks = 0, errors = 0, closed = 0, last = 0;
                List<String> closes = new ArrayList<>();
                // a reconnected client waits for the new master as long as the first one would: Jedis's default
                // 2 s read timeout is shorter than a failover on a loaded machine
                DefaultJedisClientConfig config = DefaultJedisClientConfig.builder().socketTimeoutMillis(10_000).build();
                Jedis j = new Jedis(new HostAndPort("127.0.0.1", port), config);
                try {
                    if (id % 2 == 0) {
                        j.select(0); // half the writers on dedicated connections (state replayed on failover)
                    }
                    while (!stop.get() && System.nanoTime() < deadline && acks < 1_000_000) {
                        try {
                            last = j.incr(key);
                            acks++;
                            totalAcks.incrementAndGet();
                        } catch (JedisDataException e) {
                            errors++; // an error reply: the connection is still usable
                        } catch (JedisConnectionException e) {
                            closed++;
                            closes.add(e.toString());
                            j.close();
                            j = new Jedis(new HostAndPort("127.0.0.1", port), config);
                            if (id % 2 == 0) {
                                j.select(0); // as a pool would: the new connection is set up as the old one was
                            }
                        }
                    }
                } finally {
                    j.close();
                }
                return new Writer(acks, errors, closed, last, closes);
            }));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> totalAcks.get() > 5_000);

        oldMaster.redis.kill9();
        HiveFixture.Node newMaster = hive.awaitLeaderOtherThan(oldMaster, Duration.ofSeconds(10));
        long acksAtFailover = totalAcks.get();
        await().atMost(Duration.ofSeconds(10)).until(() -> totalAcks.get() > acksAtFailover + 5_000);
        stop.set(true);

        long closes = 0;
        for (int c = 0; c < CLIENTS; c++) {
            Writer w = writers.get(c).get(30, TimeUnit.SECONDS);
            assertThat(w.closed()).as("writer %d: connections closed (only with its request in flight at the kill: %s)",
                    c, w.closes()).isLessThanOrEqualTo(1);
            assertThat(w.errors()).as("writer %d: error replies", c).isZero();
            long onMaster = Long.parseLong(newMaster.redis.jedis().get("counter:" + c));
            // the counter went on from what the new master had: every acknowledged increment after the
            // failover is there, and nothing was applied twice
            assertThat(onMaster).as("writer %d: counter on the new master", c).isEqualTo(w.lastValue());
            closes += w.closed();
        }
        assertThat(closes).isLessThanOrEqualTo(CLIENTS);
        pool.shutdownNow();
    }
}
