package dev.skep.app;

import dev.skep.lease.KubernetesLeaseStore;
import dev.skep.lease.LeaseRecord;
import dev.skep.lease.LeaseSettings;
import dev.skep.status.HandoverResult;
import dev.skep.status.NodeState;
import dev.skep.support.PrometheusText;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The scenarios of {@code --election lease}, run against an API server that a subclass provides: the leader
 * holds the Lease; a dead redis hands it on at once (released, not expired); a dead agent's Lease is taken once
 * it expires; a handover hands it to the successor with no acknowledged write lost; a leader cut off from the
 * API server stops taking writes, and the hive leads again once the server is back.
 *
 * <p>{@link LeaseElectionIT} runs them against fabric8's mock API server (every build);
 * {@link LeaseRealApiServerIT} against a real kube-apiserver with RBAC (profile {@code kube-apiserver}).
 */
abstract class LeaseElectionScenarios {
    static final int DURATION_S = 2;
    HiveFixture hive;
    private KubernetesLeaseStore reader;

    /** Makes sure an API server is up, with no Lease yet, before each scenario; and whatever the agents need. */
    abstract void beforeScenario() throws Exception;

    /** Undoes {@link #beforeScenario()}, after the hive has stopped. */
    abstract void afterScenario() throws Exception;

    /** What the agents get as {@code --lease-*} and {@code --kube-api}. */
    abstract LeaseSettings leaseSettings();

    /** Takes the API server away: connections to it are refused. */
    abstract void stopApiServer() throws Exception;

    /** Brings the API server back at the same address. */
    abstract void restartApiServer() throws Exception;

    /** Names the API server in the figures printed. */
    abstract String apiServerName();

    @BeforeEach
    final void startApiServer() throws Exception {
        beforeScenario();
    }

    @AfterEach
    final void stop() throws Exception {
        // the hive first, while the API server is still there: its leader releases the Lease as in production
        try {
            if (hive != null) {
                hive.close();
            }
            if (reader != null) {
                reader.close();
            }
        } finally {
            afterScenario();
        }
    }

    /** The Lease as stored, read as an operator would (kubectl get lease). */
    LeaseRecord lease() throws Exception {
        if (reader == null) {
            reader = new KubernetesLeaseStore(leaseSettings(), 2000);
        }
        return reader.read().orElse(null);
    }

    @Test
    void theLeaderHoldsTheLeaseAndAKilledRedisHandsItOnWithoutWaitingForItToExpire() throws Exception {
        hive = HiveFixture.startWithLease(3, leaseSettings());
        HiveFixture.Node old = hive.awaitLeader(Duration.ofSeconds(15));
        LeaseRecord held = lease();
        assertThat(held.holder()).isEqualTo(old.peer().toString());
        assertThat(held.epoch()).isEqualTo(old.status().epoch());
        assertThat(held.durationSeconds()).isEqualTo(DURATION_S);
        await().atMost(Duration.ofSeconds(2)).until(() -> !lease().resourceVersion().equals(held.resourceVersion()));
        assertThat(lease().holder()).as("renewed by the same holder").isEqualTo(old.peer().toString());
        // what an operator sees: /api/status of every node names the holder, /metrics says who holds it
        for (HiveFixture.Node n : hive.nodes) {
            await().atMost(Duration.ofSeconds(2)).until(() -> n.status().lease().holder().equals(old.peer().toString()));
            assertThat(n.status().lease().heldHere()).as(n.toString()).isEqualTo(n == old);
            assertThat(PrometheusText.parse(n.agent.metrics().scrape()).value("skep_lease_held"))
                    .as(n.toString()).isEqualTo(n == old ? 1.0 : 0.0);
        }

        long killedAt = System.nanoTime();
        old.redis.kill9();
        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(DURATION_S + 3));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        System.out.printf("lease [%s]: new leader %s %d ms after kill -9 of the leader's redis%n", apiServerName(),
                next.peer(), tookMs);
        LeaseRecord now = lease();
        assertThat(now.holder()).isEqualTo(next.peer().toString());
        assertThat(now.epoch()).isEqualTo(next.status().epoch()).isGreaterThan(held.epoch());
        assertThat(now.transitions()).isGreaterThan(held.transitions());
        assertThat(old.agent.status().events()).anyMatch(e -> e.kind().equals("stepped-down"));
        assertThat(tookMs).as("released by the old leader: no wait for the %d s expiry", DURATION_S)
                .isLessThan(DURATION_S * 1000L);
    }

    @Test
    void aLeaderStoppedWithNoSuccessorGivesTheLeaseBackAndFencesItsRedis() throws Exception {
        hive = HiveFixture.startWithLease(1, leaseSettings()); // the last pod of a release: no one to hand over to
        HiveFixture.Node only = hive.awaitLeader(Duration.ofSeconds(15));
        assertThat(lease().holder()).isEqualTo(only.peer().toString());

        HandoverResult r = only.agent.shutdownGracefully(); // what SIGTERM runs
        only.agent = null;
        assertThat(r.ok()).as("no successor: %s", r.detail()).isFalse();
        LeaseRecord after = lease();
        assertThat(after.released()).as("released, not left to expire: %s", after).isTrue();
        try (Jedis direct = only.redis.newJedis()) {
            assertThatThrownBy(() -> direct.set("k", "v")).as("fenced before the release")
                    .hasMessageStartingWith("NOREPLICAS");
        }
    }

    @Test
    void aDeadAgentsLeaseIsTakenOnceItExpires() throws Exception {
        hive = HiveFixture.startWithLease(3, leaseSettings());
        HiveFixture.Node old = hive.awaitLeader(Duration.ofSeconds(15));
        LeaseRecord held = lease();

        long stoppedAt = System.nanoTime();
        old.stopAgent(); // says nothing to anyone, as after kill -9: its Lease is neither renewed nor released
        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(DURATION_S + 5));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
        System.out.printf("lease [%s]: new leader %s %d ms after the leader's agent died%n", apiServerName(), next.peer(),
                tookMs);
        assertThat(tookMs).as("not before the Lease expired (%d s)", DURATION_S)
                .isGreaterThanOrEqualTo(DURATION_S * 1000L - 300);
        LeaseRecord now = lease();
        assertThat(now.holder()).isEqualTo(next.peer().toString());
        assertThat(now.transitions()).isEqualTo(held.transitions() + 1);
    }

    @Test
    void aHandoverHandsTheLeaseToTheSuccessorAndLosesNoAcknowledgedWrite() throws Exception {
        hive = HiveFixture.startWithLease(3, leaseSettings());
        HiveFixture.Node old = hive.awaitLeader(Duration.ofSeconds(15));
        hive.awaitReplicasInSync(old);
        LeaseRecord held = lease();

        AtomicBoolean stop = new AtomicBoolean();
        List<String> acked = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        Thread writer = new Thread(() -> {
            try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", hive.node(1).config.proxyPort()),
                    redis.clients.jedis.DefaultJedisClientConfig.builder().socketTimeoutMillis(10_000).build())) {
                for (int i = 0; i < 1_000_000 && !stop.get(); i++) {
                    try {
                        j.set("k" + i, "v" + i);
                        acked.add("k" + i);
                    } catch (JedisDataException e) {
                        errors.add(e.getMessage());
                    }
                }
            }
        });
        writer.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> acked.size() > 200);
        HandoverResult r = old.agent.handover(null, "test").get(10, TimeUnit.SECONDS);
        assertThat(r.ok()).as("handover: %s", r.detail()).isTrue();
        int before = acked.size();
        await().atMost(Duration.ofSeconds(5)).until(() -> acked.size() > before + 200);
        stop.set(true);
        writer.join(10_000);

        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(5));
        assertThat(next.peer()).isEqualTo(r.successor());
        LeaseRecord now = lease();
        assertThat(now.holder()).isEqualTo(next.peer().toString());
        assertThat(now.epoch()).isEqualTo(r.epoch());
        assertThat(now.transitions()).as("handed over, then claimed by the successor").isEqualTo(held.transitions() + 1);
        assertThat(errors).as("clients see a pause, no error").isEmpty();
        try (Jedis j = next.redis.newJedis()) {
            for (String k : acked) {
                assertThat(j.get(k)).as(k).isEqualTo("v" + k.substring(1));
            }
        }
        System.out.printf("lease handover [%s]: %s, writes held %d ms, %d writes acknowledged%n", apiServerName(),
                r.detail(), r.pausedMs(), acked.size());
    }

    @Test
    void aLeaderCutOffFromTheApiServerStopsTakingWritesAndTheHiveLeadsAgainWhenItIsBack() throws Exception {
        hive = HiveFixture.startWithLease(3, leaseSettings());
        HiveFixture.Node old = hive.awaitLeader(Duration.ofSeconds(15));
        try (Jedis direct = old.redis.newJedis()) {
            direct.set("before", "1");
        }

        long cutAt = System.nanoTime();
        stopApiServer();
        await().atMost(Duration.ofSeconds(DURATION_S + 2)).pollInterval(Duration.ofMillis(20))
                .until(() -> old.status().state() != NodeState.LEADING);
        long stepMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutAt);
        System.out.printf("lease [%s]: leader stepped down %d ms after the API server went away%n", apiServerName(), stepMs);
        assertThat(stepMs).as("before anyone could take the Lease").isLessThan(DURATION_S * 1000L);
        try (Jedis direct = old.redis.newJedis()) {
            await().atMost(Duration.ofSeconds(2)).until(() -> {
                try {
                    direct.set("fenced", "1");
                    return false;
                } catch (JedisDataException e) {
                    return e.getMessage().startsWith("NOREPLICAS");
                }
            });
        }
        assertThat(hive.agreedLeader()).as("no node can lead without the Lease").isEmpty();

        restartApiServer();
        HiveFixture.Node next = hive.awaitLeader(Duration.ofSeconds(15));
        long backMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutAt);
        System.out.printf("lease [%s]: %s leading %d ms after the API server went away (restart included)%n",
                apiServerName(), next.peer(), backMs);
        assertThat(lease().holder()).isEqualTo(next.peer().toString());
        try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", next.config.proxyPort()))) {
            assertThat(j.get("before")).isEqualTo("1");
            j.set("after", "2");
        }
        assertThatThrownBy(() -> {
            try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", 1))) {
                j.ping();
            }
        }).as("sanity: a closed port refuses").isNotNull();
    }
}
