package dev.skep.app;

import dev.skep.support.PrometheusText;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * {@code /metrics} of a hive of in-JVM agents over real redis servers, read with a strict Prometheus
 * text-format parser: every declared family is there with its help text, the values describe the hive, and
 * they move as it changes (traffic through the proxy, kill -9 of the master's redis).
 */
class MetricsIT {
    private static final Duration ELECTION = Duration.ofSeconds(10);
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    static PrometheusText scrape(HiveFixture.Node n) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + n.config.httpPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        Path saved = Path.of("agent", "target", "metrics-node-" + n.index + ".txt");
        Files.createDirectories(saved.getParent());
        Files.writeString(saved, r.body()); // for a human reading a failure
        return PrometheusText.parse(r.body());
    }

    @Test
    void everyMetricIsDeclaredWithHelpAndDescribesTheHive() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        await().atMost(ELECTION).until(() -> hive.nodes.stream().allMatch(n -> n.status().ready()));

        PrometheusText m = scrape(leader);
        List<String> declared = List.of(
                "skep_node_state", "skep_redis_role", "skep_ready", "skep_epoch", "skep_members_alive",
                "skep_leader_changes_total", "skep_elections_total", "skep_events_total",
                "skep_redis_probe_seconds", "skep_redis_probe_failures_total",
                "skep_replication_offset_bytes", "skep_replication_lag_bytes",
                "skep_proxy_connections_open", "skep_proxy_connections_total", "skep_proxy_connections_refused_total",
                "skep_proxy_commands_total", "skep_proxy_errors_total", "skep_proxy_failover_sessions_total",
                "skep_proxy_holds_total", "skep_proxy_hold_seconds", "skep_proxy_held_bytes",
                "skep_proxy_held_limit_bytes", "skep_proxy_overload_closed_total", "skep_handover_pause_seconds",
                "skep_peer_messages_sent_total", "skep_peer_messages_received_total",
                "skep_peer_messages_rejected_total", "skep_peer_sent_bytes_total", "skep_peer_received_bytes_total",
                "jvm_memory_used_bytes", "jvm_gc_pause_seconds", "jvm_threads_live_threads", "process_uptime_seconds");
        for (String name : declared) {
            if (name.equals("jvm_gc_pause_seconds")) {
                continue; // appears after the first GC only
            }
            assertThat(m.family(name).help()).as("help of %s", name).isNotBlank();
        }
        assertThat(m.family("skep_redis_probe_seconds").type()).isEqualTo("histogram");
        assertThat(m.family("skep_proxy_hold_seconds").type()).isEqualTo("histogram");
        assertThat(m.family("skep_handover_pause_seconds").type()).isEqualTo("histogram");
        assertThat(m.family("skep_leader_changes_total").type()).isEqualTo("counter");
        assertThat(m.family("skep_epoch").type()).isEqualTo("gauge");

        assertThat(m.value("skep_node_state", "state", "leading")).isEqualTo(1);
        assertThat(m.value("skep_node_state", "state", "following")).isEqualTo(0);
        assertThat(m.value("skep_redis_role", "role", "master")).isEqualTo(1);
        assertThat(m.value("skep_ready")).isEqualTo(1);
        assertThat(m.value("skep_epoch")).isEqualTo(leader.status().epoch());
        assertThat(m.value("skep_members_alive")).isEqualTo(3);
        assertThat(m.value("skep_leader_changes_total")).isEqualTo(1);
        assertThat(m.value("skep_elections_total", "cause", "no_leader")).isGreaterThanOrEqualTo(1);
        assertThat(m.value("skep_events_total", "kind", "promoted")).isEqualTo(1);
        assertThat(m.value("skep_redis_probe_seconds_count")).isGreaterThan(0);
        assertThat(m.value("skep_redis_probe_failures_total")).isEqualTo(0);
        assertThat(m.value("skep_peer_messages_sent_total")).isGreaterThan(0);
        assertThat(m.value("skep_peer_messages_received_total")).isGreaterThan(0);
        assertThat(m.value("skep_peer_messages_rejected_total")).isEqualTo(0);
        // every message is a frame of more than its 4-byte length field
        assertThat(m.value("skep_peer_sent_bytes_total")).isGreaterThan(4 * m.value("skep_peer_messages_sent_total"));
        assertThat(m.value("skep_peer_received_bytes_total"))
                .isGreaterThan(4 * m.value("skep_peer_messages_received_total"));
        for (HiveFixture.Node n : hive.nodes) {
            assertThat(m.value("skep_replication_offset_bytes", "node", n.peer().toString()))
                    .as("offset of %s", n).isGreaterThanOrEqualTo(0);
        }
        assertThat(m.samples("skep_replication_lag_bytes")).hasSize(3);

        HiveFixture.Node follower = hive.nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        PrometheusText f = scrape(follower);
        assertThat(f.value("skep_node_state", "state", "following")).isEqualTo(1);
        assertThat(f.value("skep_redis_role", "role", "replica")).isEqualTo(1);
    }

    @Test
    void proxyTrafficAndAFailoverMoveTheRightCounters() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node oldMaster = hive.awaitLeader(ELECTION);
        await().atMost(ELECTION).until(() -> hive.nodes.stream().allMatch(n -> n.status().ready()));
        HiveFixture.Node entry = hive.nodes.stream().filter(n -> n != oldMaster).findFirst().orElseThrow();
        List<HiveFixture.Node> survivors = hive.nodes.stream().filter(n -> n != oldMaster).toList();

        // traffic through the entry node's write port
        Jedis idle = new Jedis("127.0.0.1", entry.config.proxyPort());
        // a held request lasts as long as the failover: the client must wait longer than Jedis's 2 s default
        int patient = (int) ELECTION.toMillis();
        Jedis client = new Jedis("127.0.0.1", entry.config.proxyPort(), patient);
        try (idle; client) {
            assertThat(idle.get("nothing")).isNull();
            for (int i = 0; i < 100; i++) {
                client.set("k" + i, "v" + i);
            }
            // replicated before the kill: what the failover must keep (a write the replicas never received is lost
            // with the master, as asynchronous replication allows; a verify run killed it before the first sync)
            for (HiveFixture.Node n : survivors) {
                await().atMost(ELECTION).until(() -> "v99".equals(n.redis.jedis().get("k99")));
            }
            assertThatThrownBy(() -> client.replicaof("127.0.0.1", 1)).isInstanceOf(JedisDataException.class);

            PrometheusText before = scrape(entry);
            assertThat(before.value("skep_proxy_commands_total", "port", "write", "path", "shared"))
                    .isGreaterThanOrEqualTo(101);
            assertThat(before.value("skep_proxy_errors_total", "port", "write", "kind", "refused")).isEqualTo(1);
            assertThat(before.value("skep_proxy_connections_open", "port", "write")).isEqualTo(2);
            assertThat(before.value("skep_proxy_connections_total", "port", "write")).isEqualTo(2);
            assertThat(before.value("skep_proxy_holds_total", "port", "write")).isEqualTo(0);
            List<Double> electionsBefore = new ArrayList<>();
            List<Double> changesBefore = new ArrayList<>();
            for (HiveFixture.Node n : survivors) {
                PrometheusText s = scrape(n);
                electionsBefore.add(s.value("skep_elections_total", "cause", "leader_redis_down"));
                changesBefore.add(s.value("skep_leader_changes_total"));
            }

            // a writer that keeps going through the failover: some of its requests wait for the new master
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong acknowledged = new AtomicLong();
            AtomicLong reconnects = new AtomicLong();
            List<String> whyReconnected = Collections.synchronizedList(new ArrayList<>());
            Thread writer = new Thread(() -> {
                Jedis w = client;
                while (!stop.get()) {
                    try {
                        w.incr("counter");
                        acknowledged.incrementAndGet();
                    } catch (JedisConnectionException e) {
                        // the request in flight at the kill: its outcome is unknown, so the proxy closed the
                        // connection (--unknown-outcome close); the writer reconnects, as a pool would
                        reconnects.incrementAndGet();
                        whyReconnected.add(e.toString());
                        w = new Jedis("127.0.0.1", entry.config.proxyPort(), patient);
                    }
                }
                if (w != client) {
                    w.close();
                }
            }, "metrics-it-writer");
            writer.start();
            await().atMost(ELECTION).until(() -> acknowledged.get() > 10);

            oldMaster.redis.kill9();
            HiveFixture.Node newMaster = hive.awaitLeaderOtherThan(oldMaster, ELECTION);
            long mark = acknowledged.get();
            await().atMost(ELECTION).until(() -> acknowledged.get() > mark + 10);
            stop.set(true);
            writer.join(5000);

            // the idle session moves to the new master without noticing
            assertThat(idle.get("k1")).isEqualTo("v1");

            PrometheusText after = scrape(entry);
            assertThat(after.value("skep_proxy_holds_total", "port", "write")).isGreaterThanOrEqualTo(1);
            assertThat(after.value("skep_proxy_hold_seconds_count", "port", "write", "outcome", "served"))
                    .isGreaterThanOrEqualTo(1);
            assertThat(after.value("skep_proxy_hold_seconds_count", "port", "write", "outcome", "masterdown"))
                    .isEqualTo(0);
            assertThat(after.value("skep_proxy_errors_total", "port", "write", "kind", "masterdown")).isEqualTo(0);
            assertThat(after.value("skep_proxy_failover_sessions_total", "port", "write", "outcome", "reattached"))
                    .isGreaterThanOrEqualTo(1);
            assertThat(reconnects.get()).as("connections closed with a request in flight at the kill: %s", whyReconnected)
                    .isLessThanOrEqualTo(1);
            assertThat(after.value("skep_proxy_connections_total", "port", "write")).isEqualTo(2 + reconnects.get());
            assertThat(after.value("skep_proxy_errors_total", "port", "write", "kind", "failover"))
                    .isEqualTo(reconnects.get());

            double electionsAfter = 0;
            for (int i = 0; i < survivors.size(); i++) {
                HiveFixture.Node n = survivors.get(i);
                PrometheusText s = scrape(n);
                electionsAfter += s.value("skep_elections_total", "cause", "leader_redis_down") - electionsBefore.get(i);
                assertThat(s.value("skep_leader_changes_total")).as("leader changes on %s", n)
                        .isGreaterThan(changesBefore.get(i));
                assertThat(s.value("skep_epoch")).isEqualTo(newMaster.status().epoch());
            }
            assertThat(electionsAfter).as("elections caused by the leader's redis going down").isGreaterThanOrEqualTo(1);

            PrometheusText winner = scrape(newMaster);
            assertThat(winner.value("skep_node_state", "state", "leading")).isEqualTo(1);
            assertThat(winner.value("skep_redis_role", "role", "master")).isEqualTo(1);
            assertThat(winner.value("skep_events_total", "kind", "promoted")).isEqualTo(1);

            await().atMost(ELECTION).untilAsserted(() -> {
                PrometheusText loser = scrape(oldMaster);
                assertThat(loser.value("skep_node_state", "state", "not_ready")).isEqualTo(1);
                assertThat(loser.value("skep_ready")).isEqualTo(0);
                assertThat(loser.value("skep_redis_probe_failures_total")).isGreaterThanOrEqualTo(3);
                assertThat(loser.value("skep_events_total", "kind", "stepped-down")).isGreaterThanOrEqualTo(1);
            });
        }
    }
}
