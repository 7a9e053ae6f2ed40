package dev.skep.app;

import dev.skep.status.HiveEvent;
import dev.skep.support.ExternalProcess;
import dev.skep.support.PrometheusText;
import dev.skep.support.TestCertificates;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.SslVerifyMode;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * TLS everywhere, on a real 3-node hive: each redis listens only on a TLS port and replicates over TLS, each
 * agent reaches it over TLS and offers TLS write, read and Sentinel ports, HTTPS, and TLS to its peers, all with
 * certificates made in the test. Clients (Jedis, Lettuce, redis-cli --tls) go through every TLS port across a
 * kill -9 of the master's redis; strangers and plain clients are refused without disturbing anyone else; a rotated
 * certificate serves new connections while established ones go on.
 */
class TlsIT {
    private static final Duration ELECTION = Duration.ofSeconds(15);
    @TempDir
    Path dir;
    private TestCertificates certs;
    private HiveFixture hive;

    @BeforeEach
    void certificates() {
        certs = TestCertificates.create(dir);
    }

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    private Jedis jedis(int port, TestCertificates.Pair client) {
        return new Jedis(new HostAndPort("127.0.0.1", port), DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(2000).socketTimeoutMillis(10_000).ssl(true)
                .sslSocketFactory(certs.clientContext(client).getSocketFactory()).build());
    }

    @Test
    void clientsThroughEveryTlsPortFollowAFailoverAndReplicationIsTlsOnly() throws Exception {
        hive = HiveFixture.startWithTls(3, certs);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        TestCertificates.Pair client = certs.issue("app");

        // replication runs although no redis has a plain port: the replicas' links to the master are TLS, as the
        // agents set (the redis servers were started without tls-replication)
        for (HiveFixture.Node n : hive.nodes) {
            assertThat(n.redis.jedis().configGet("tls-replication").get("tls-replication")).isEqualTo("yes");
            if (n != leader) {
                String info = n.redis.jedis().info("replication");
                assertThat(HiveFixture.infoField(info, "master_port")).isEqualTo(Integer.toString(leader.redis.port()));
                assertThat(HiveFixture.infoField(info, "master_link_status")).isEqualTo("up");
            }
        }
        assertThat(speaksPlainResp(leader.redis.port())).as("the master's only port is TLS").isFalse();

        HiveFixture.Node other = hive.nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        try (Jedis write = jedis(other.config.tls().proxyPort(), client)) {
            assertThat(write.set("k", "v1")).isEqualTo("OK");
        }
        try (Jedis read = jedis(other.config.tls().readPort(), client)) {
            await().atMost(ELECTION).untilAsserted(() -> assertThat(read.get("k")).isEqualTo("v1"));
        }
        try (Jedis sentinel = jedis(other.config.tls().sentinelPort(), client)) {
            assertThat(sentinel.sentinelGetMasterAddrByName("mymaster"))
                    .containsExactly("127.0.0.1", Integer.toString(leader.redis.port()));
        }
        String cli = ExternalProcess.outputOf("redis-cli", "--tls", "--cacert", certs.caFile().toString(), "--cert",
                client.cert().toString(), "--key", client.key().toString(), "-p",
                Integer.toString(other.config.tls().proxyPort()), "GET", "k");
        assertThat(cli.trim()).isEqualTo("v1");

        RedisClient lettuce = RedisClient.create();
        lettuce.setOptions(ClientOptions.builder().sslOptions(SslOptions.builder().jdkSslProvider()
                .trustManager(certs.caFile().toFile()).keyManager(client.cert().toFile(), client.key().toFile(), null)
                .build())
                .build());
        RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(other.config.tls().proxyPort()).withSsl(true)
                .withVerifyPeer(SslVerifyMode.FULL).withTimeout(Duration.ofSeconds(10)).build();
        try (StatefulRedisConnection<String, String> lc = lettuce.connect(uri)) {
            assertThat(lc.sync().get("k")).isEqualTo("v1");

            leader.redis.kill9();
            HiveFixture.Node next = hive.awaitLeaderOtherThan(leader, ELECTION);
            // the same Lettuce connection and a new Jedis one write through the TLS write port to the new master
            await().atMost(ELECTION).ignoreExceptions()
                    .untilAsserted(() -> assertThat(lc.sync().set("k", "v2")).isEqualTo("OK"));
            try (Jedis write = jedis(next.config.tls().proxyPort(), client)) {
                assertThat(write.get("k")).isEqualTo("v2");
            }
            try (Jedis sentinel = jedis(other.config.tls().sentinelPort(), client)) {
                await().atMost(ELECTION).untilAsserted(() -> assertThat(sentinel.sentinelGetMasterAddrByName("mymaster"))
                        .containsExactly("127.0.0.1", Integer.toString(next.redis.port())));
            }
        } finally {
            lettuce.shutdown();
        }
    }

    @Test
    void plainClientsStrangersAndClientsWithoutACertificateAreRefusedAndNoOneElseNotices() throws Exception {
        hive = HiveFixture.startWithTls(3, certs);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        TestCertificates.Pair client = certs.issue("app");
        int tlsWrite = leader.config.tls().proxyPort();
        try (Jedis good = jedis(tlsWrite, client)) {
            assertThat(good.set("a", "1")).isEqualTo("OK");

            assertThat(speaksPlainResp(tlsWrite)).as("plain RESP on the TLS write port").isFalse();
            assertThatThrownBy(() -> {
                try (Jedis stranger = new Jedis(new HostAndPort("127.0.0.1", tlsWrite), DefaultJedisClientConfig
                        .builder().ssl(true).sslSocketFactory(certs.clientContext(certs.stranger("evil"))
                                .getSocketFactory()).build())) {
                    stranger.ping();
                }
            }).as("a certificate of another CA").isInstanceOf(redis.clients.jedis.exceptions.JedisConnectionException.class);
            assertThatThrownBy(() -> {
                try (Jedis anonymous = jedis(tlsWrite, null)) {
                    anonymous.ping();
                }
            }).as("no client certificate (--tls-auth-clients yes)")
                    .isInstanceOf(redis.clients.jedis.exceptions.JedisConnectionException.class);

            // the plain port still serves, the good TLS client goes on, and the agent is up
            try (Jedis plain = new Jedis("127.0.0.1", leader.config.proxyPort())) {
                assertThat(plain.get("a")).isEqualTo("1");
            }
            assertThat(good.get("a")).isEqualTo("1");
            assertThat(leader.status().ready()).isTrue();
        }
    }

    @Test
    void aRotatedCertificateServesNewConnectionsWhileEstablishedOnesGoOnAndItsExpiryIsInTheMetrics() throws Exception {
        hive = HiveFixture.startWithTls(3, certs);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        HiveFixture.Node node = hive.node(0);
        TestCertificates.Pair client = certs.issue("app");
        int port = node.config.tls().proxyPort();
        Instant before = presented(port, client).getNotAfter().toInstant();
        assertThat(expirySeconds(node, client)).isBetween(Duration.between(Instant.now(), before).toSeconds() - 60,
                Duration.between(Instant.now(), before).toSeconds() + 60);

        try (Jedis established = jedis(port, client)) {
            assertThat(established.set("r", "1")).isEqualTo("OK");
            Instant later = Instant.now().plus(Duration.ofDays(9)).truncatedTo(ChronoUnit.SECONDS);
            TestCertificates.replace(node.certificate, certs.issue("node0", Instant.now().minusSeconds(60), later));

            await().atMost(Duration.ofSeconds(10)).until(() -> events(node).stream()
                    .anyMatch(e -> e.kind().equals("tls-reloaded")));
            assertThat(presented(port, client).getNotAfter().toInstant()).isEqualTo(later);
            assertThat(established.get("r")).isEqualTo("1"); // the connection opened before the rotation
            assertThat(expirySeconds(node, client)).isGreaterThan(Duration.ofDays(8).toSeconds());
            assertThat(apiStatus(node, client)).as("/api/status, what the status page shows")
                    .contains("\"notAfterMillis\":" + later.toEpochMilli());

            // an expired certificate written over it is refused: the agent says so and keeps serving the last one
            TestCertificates.replace(node.certificate, certs.expired("node0"));
            await().atMost(Duration.ofSeconds(10)).until(() -> events(node).stream()
                    .anyMatch(e -> e.kind().equals("tls-reload-refused") && e.message().contains("expired on")));
            assertThat(presented(port, client).getNotAfter().toInstant()).isEqualTo(later);
            assertThat(established.get("r")).isEqualTo("1");
        }
        assertThat(leader.status().ready()).isTrue();
    }

    private static List<HiveEvent> events(HiveFixture.Node n) {
        return n.status().events();
    }

    /** The certificate a TLS port presents to a new connection. */
    private X509Certificate presented(int port, TestCertificates.Pair client) throws IOException {
        SSLContext ctx = certs.clientContext(client);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.startHandshake();
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }

    /** skep_tls_certificate_expiry_seconds from the node's /metrics, over HTTPS. */
    private long expirySeconds(HiveFixture.Node n, TestCertificates.Pair client) throws Exception {
        HttpClient https = HttpClient.newBuilder().sslContext(certs.clientContext(client)).build();
        HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                + n.config.httpPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return (long) PrometheusText.parse(r.body()).family("skep_tls_certificate_expiry_seconds").samples().get(0)
                .value();
    }

    /** /api/status of the node, over HTTPS. */
    private String apiStatus(HiveFixture.Node n, TestCertificates.Pair client) throws Exception {
        HttpClient https = HttpClient.newBuilder().sslContext(certs.clientContext(client)).build();
        HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                + n.config.httpPort() + "/api/status")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    /** True when {@code port} answers a plain-text PING with +PONG (a TLS-only port closes or answers garbage). */
    private static boolean speaksPlainResp(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(3000);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] reply = new byte[7];
            int n = s.getInputStream().readNBytes(reply, 0, 7);
            return new String(reply, 0, n, StandardCharsets.US_ASCII).startsWith("+PONG");
        } catch (java.net.SocketTimeoutException | java.net.SocketException e) {
            return false;
        }
    }
}
