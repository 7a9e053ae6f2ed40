package dev.skep.app;

import dev.skep.lease.KubernetesLeaseStore;
import dev.skep.lease.LeaseRecord;
import dev.skep.lease.LeaseSettings;
import dev.skep.topology.HandoverResult;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * {@code --election lease} against fabric8's mock Kubernetes API server in CRUD mode (a real HTTP server that
 * stores objects and refuses a write carrying a stale {@code resourceVersion} with 409, as the API server does;
 * no RBAC): the leader holds the Lease; a dead redis hands it on at once (released, not expired); a dead agent's
 * Lease is taken once it expires; a handover hands it to the successor with no acknowledged write lost; a
 * leader cut off from the API server stops taking writes, and the hive leads again once the server is back.
 */
class LeaseElectionIT {
    private static final int DURATION_S = 2;
    private KubernetesMockServer api;
    private int apiPort;
    private HiveFixture hive;
    private KubernetesLeaseStore reader;

    @BeforeEach
    void startApiServer() throws Exception {
        api = newApiServer(0);
        apiPort = api.getPort();
    }

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
        if (reader != null) {
            reader.close();
        }
        if (api != null) {
            api.destroy();
        }
    }

    private static KubernetesMockServer newApiServer(int port) throws Exception {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getByName("127.0.0.1"), port);
        return server;
    }

    private LeaseSettings leaseSettings() {
        return new LeaseSettings("skep-leader", "default", "http://127.0.0.1:" + apiPort, DURATION_S);
    }

    /** The Lease as stored, read as an operator would (kubectl get lease). */
    private LeaseRecord lease() throws Exception {
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

        long killedAt = System.nanoTime();
        old.redis.kill9();
        HiveFixture.Node next = hive.awaitLeaderOtherThan(old, Duration.ofSeconds(DURATION_S + 3));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        System.out.printf("lease: new leader %s %d ms after kill -9 of the leader's redis%n", next.peer(), tookMs);
        LeaseRecord now = lease();
        assertThat(now.holder()).isEqualTo(next.peer().toString());
        assertThat(now.epoch()).isEqualTo(next.status().epoch()).isGreaterThan(held.epoch());
        assertThat(now.transitions()).isGreaterThan(held.transitions());
        assertThat(old.agent.status().events()).anyMatch(e -> e.kind().equals("stepped-down"));
        assertThat(tookMs).as("released by the old leader: no wait for the %d s expiry", DURATION_S)
                .isLessThan(DURATION_S * 1000L);
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
        System.out.printf("lease: new leader %s %d ms after the leader's agent died%n", next.peer(), tookMs);
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
        System.out.printf("lease handover: %s, writes held %d ms, %d writes acknowledged%n", r.detail(), r.pausedMs(),
                acked.size());
    }

    @Test
    void aLeaderCutOffFromTheApiServerStopsTakingWritesAndTheHiveLeadsAgainWhenItIsBack() throws Exception {
        hive = HiveFixture.startWithLease(3, leaseSettings());
        HiveFixture.Node old = hive.awaitLeader(Duration.ofSeconds(15));
        try (Jedis direct = old.redis.newJedis()) {
            direct.set("before", "1");
        }

        long cutAt = System.nanoTime();
        api.destroy();
        await().atMost(Duration.ofSeconds(DURATION_S + 2)).pollInterval(Duration.ofMillis(20))
                .until(() -> !old.status().state().equals("LEADING"));
        long stepMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutAt);
        System.out.printf("lease: leader stepped down %d ms after the API server went away%n", stepMs);
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

        api = newApiServer(apiPort); // back, empty: the first claim creates the Lease again
        HiveFixture.Node next = hive.awaitLeader(Duration.ofSeconds(15));
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
