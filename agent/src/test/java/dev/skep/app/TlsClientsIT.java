package dev.skep.app;

import dev.skep.support.ExternalProcess;
import dev.skep.support.FreePorts;
import dev.skep.support.TestCertificates;
import dev.skep.tls.TlsSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.JedisSentinelPool;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisConnectionException;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * What TLS clients meet beyond {@link TlsIT}: the TLS versions {@code --tls-protocols} allows (on the write port, the
 * HTTPS admin port and the agent's own connections to redis), {@code --tls-auth-clients optional} and {@code no}, an
 * expired client certificate, a Sentinel-aware client, the read port and {@code redis-cli} across a kill -9 of the
 * master's redis, an agent refusing to start on a bad certificate, and replication seen on the wire through a relay
 * the test puts in front of the master's redis.
 *
 * <p>One 3-node hive with TLS everywhere serves the tests that leave it as it was, the failover test last; tests of
 * other settings start a hive of their own, of one node where one is enough.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TlsClientsIT {
    private static final Duration ELECTION = Duration.ofSeconds(15);
    @TempDir
    static Path dir;
    private static TestCertificates certs;
    /** The hive of the tests that leave it as they found it, started by the first of them. */
    private static HiveFixture shared;
    /** A test's own hive, with other settings. */
    private HiveFixture own;

    private static TestCertificates certs() {
        if (certs == null) {
            certs = TestCertificates.create(dir);
        }
        return certs;
    }

    private static HiveFixture shared() {
        if (shared == null) {
            shared = HiveFixture.startWithTls(3, certs());
        }
        return shared;
    }

    @AfterEach
    void stopOwn() {
        if (own != null) {
            own.close();
        }
    }

    @AfterAll
    static void stopShared() {
        if (shared != null) {
            shared.close();
        }
    }

    // --- --tls-protocols

    @Test
    @Order(1)
    void withTheDefaultProtocolsClientsOfTls12AndOfTls13AreBothServed() throws Exception {
        HiveFixture hive = shared();
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        int port = leader.config.tls().proxyPort();
        TestCertificates.Pair client = certs().issue("app");

        assertThat(ping(port, client, "TLSv1.2")).isEqualTo(new Exchange("TLSv1.2", "+PONG"));
        assertThat(ping(port, client, "TLSv1.3")).isEqualTo(new Exchange("TLSv1.3", "+PONG"));
        try (Jedis v12 = jedis(port, client, "TLSv1.2"); Jedis v13 = jedis(port, client, "TLSv1.3")) {
            assertThat(v12.set("protocols", "written over TLSv1.2")).isEqualTo("OK");
            assertThat(v13.get("protocols")).isEqualTo("written over TLSv1.2");
        }
    }

    @Test
    @Order(1)
    void aTransactionAndABlockingPopTakeTheSessionsOwnTlsConnectionToATlsOnlyRedis() {
        HiveFixture.Node leader = shared().awaitLeader(ELECTION);
        TestCertificates.Pair client = certs().issue("app");
        try (Jedis session = jedis(leader.config.tls().proxyPort(), client, "TLSv1.3");
                Jedis other = jedis(leader.config.tls().proxyPort(), client, "TLSv1.3")) {
            Transaction t = session.multi(); // MULTI leaves the shared connections: a dedicated one, over TLS
            t.set("tx", "1");
            t.incr("tx");
            assertThat(t.exec()).containsExactly("OK", 2L);
            other.rpush("queue", "job");
            assertThat(session.blpop(5, "queue")).containsExactly("queue", "job");
            assertThat(session.get("tx")).isEqualTo("2");
        }
    }

    @Test
    @Order(2)
    void withTls13OnlyATls12ClientIsRefusedOnTheWriteAndAdminPortsAndATls13OneServed() throws Exception {
        own = HiveFixture.startWithTls(1, certs(), h -> h.tlsProtocols = List.of("TLSv1.3"));
        HiveFixture.Node node = own.awaitLeader(ELECTION);
        int port = node.config.tls().proxyPort();
        TestCertificates.Pair client = certs().issue("app");

        assertThatThrownBy(() -> ping(port, client, "TLSv1.2")).as("a TLSv1.2 client on the write port")
                .isInstanceOf(SSLHandshakeException.class);
        assertThat(ping(port, client, "TLSv1.3")).isEqualTo(new Exchange("TLSv1.3", "+PONG"));
        try (Jedis v13 = jedis(port, client, "TLSv1.3")) {
            assertThat(v13.set("k", "v")).isEqualTo("OK");
            assertThat(v13.get("k")).isEqualTo("v");
        }
        // the HTTPS admin port: a probe or an operator's curl that speaks only TLSv1.2 does not get in
        assertThatThrownBy(() -> livez(node, client, "TLSv1.2")).as("a TLSv1.2 client on the admin port")
                .isInstanceOf(SSLHandshakeException.class);
        assertThat(livez(node, client, "TLSv1.3")).isEqualTo("ok");
        assertThat(node.status().ready()).isTrue();
    }

    @Test
    @Order(3)
    void anAgentHeldToTls13DoesNotTalkTls12ToItsRedis() {
        // a redis that speaks only TLSv1.2: the agent's probes (its own blocking connections) must not fall back to it
        own = HiveFixture.startWithTls(1, certs(), h -> {
            h.tlsProtocols = List.of("TLSv1.3");
            h.redisArgs = new String[] {"--tls-protocols", "TLSv1.2"};
        });
        HiveFixture.Node node = own.node(0);
        await().atMost(ELECTION).untilAsserted(() -> assertThat(node.status().readyReason())
                .contains("TLS handshake failed"));
        assertThat(node.status().ready()).isFalse();
        assertThat(node.status().master()).isNull();
    }

    // --- --tls-auth-clients

    @Test
    @Order(4)
    void withOptionalClientCertificatesAClientWithoutOneIsServedAndAStrangersIsRefused() throws Exception {
        own = HiveFixture.startWithTls(1, certs(), h -> h.tlsClientAuth = TlsSettings.ClientAuth.OPTIONAL);
        HiveFixture.Node node = own.awaitLeader(ELECTION);
        int port = node.config.tls().proxyPort();
        try (Jedis anonymous = jedis(port, null, null); Jedis known = jedis(port, certs().issue("app"), null)) {
            assertThat(anonymous.set("o", "1")).isEqualTo("OK");
            assertThat(known.get("o")).isEqualTo("1");

            TestCertificates.Pair stranger = certs().stranger("evil");
            for (String protocol : List.of("TLSv1.2", "TLSv1.3")) {
                assertThatThrownBy(() -> ping(port, stranger, protocol))
                        .as("a certificate of another CA over %s", protocol).isInstanceOf(IOException.class);
            }
            assertThatThrownBy(() -> {
                try (Jedis evil = jedis(port, stranger, null)) {
                    evil.ping();
                }
            }).isInstanceOf(JedisConnectionException.class);
            // OpenSSL's client too: without a certificate it is served, with the stranger's it is not
            assertThat(redisCli(port, null, "PING").trim()).isEqualTo("PONG");
            assertThat(redisCli(port, stranger, "PING")).doesNotContain("PONG");

            assertThat(anonymous.get("o")).isEqualTo("1");
            assertThat(node.status().ready()).isTrue();
        }
    }

    @Test
    @Order(5)
    void withTheJdksTlsEveryPortAndLinkWorksAsWithOpenSsl() throws Exception {
        // hives run with OpenSSL where it loads (here): this is the provider of a platform netty-tcnative lacks
        own = HiveFixture.startWithTls(2, certs(), h -> h.tlsProvider = TlsSettings.Provider.JDK);
        HiveFixture.Node leader = own.awaitLeader(ELECTION);
        own.awaitReplicasInSync(leader); // over the agents' TLS peer links, and redis's TLS replication
        HiveFixture.Node follower = own.nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        TestCertificates.Pair client = certs().issue("app");
        try (Jedis writer = jedis(follower.config.tls().proxyPort(), client, "TLSv1.3");
                Jedis reader = jedis(follower.config.tls().readPort(), client, "TLSv1.2")) {
            assertThat(writer.set("provider", "jdk")).isEqualTo("OK");
            await().atMost(Duration.ofSeconds(10)).until(() -> "jdk".equals(reader.get("provider")));
        }
        assertThat(metrics(follower, client)).as("/metrics over HTTPS names the provider in use")
                .containsPattern("skep_tls_certificate_expiry_seconds\\{[^}]*provider=\"JDK\"");
    }

    @Test
    @Order(5)
    void withoutClientCertificatesAClientWithoutOneIsServed() throws Exception {
        own = HiveFixture.startWithTls(1, certs(), h -> h.tlsClientAuth = TlsSettings.ClientAuth.NO);
        HiveFixture.Node node = own.awaitLeader(ELECTION);
        int port = node.config.tls().proxyPort();
        assertThat(ping(port, null, "TLSv1.2")).isEqualTo(new Exchange("TLSv1.2", "+PONG"));
        assertThat(ping(port, null, "TLSv1.3")).isEqualTo(new Exchange("TLSv1.3", "+PONG"));
        try (Jedis anonymous = jedis(port, null, null)) {
            assertThat(anonymous.set("n", "1")).isEqualTo("OK");
            assertThat(anonymous.get("n")).isEqualTo("1");
        }
    }

    @Test
    @Order(6)
    void anExpiredClientCertificateIsRefusedAndNoOneElseNotices() throws Exception {
        HiveFixture hive = shared();
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        int port = leader.config.tls().proxyPort();
        TestCertificates.Pair client = certs().issue("app");
        TestCertificates.Pair expired = certs().expired("app-last-year");
        try (Jedis established = jedis(port, client, null)) {
            assertThat(established.set("e", "1")).isEqualTo("OK");

            for (String protocol : List.of("TLSv1.2", "TLSv1.3")) {
                assertThatThrownBy(() -> ping(port, expired, protocol))
                        .as("an expired certificate of the hive's CA over %s", protocol).isInstanceOf(IOException.class);
            }
            assertThatThrownBy(() -> {
                try (Jedis late = jedis(port, expired, null)) {
                    late.ping();
                }
            }).isInstanceOf(JedisConnectionException.class);

            assertThat(established.get("e")).isEqualTo("1");
            try (Jedis fresh = jedis(port, client, null)) {
                assertThat(fresh.get("e")).isEqualTo("1");
            }
            assertThat(leader.status().ready()).isTrue();
        }
    }

    // --- failover

    @Test
    @Order(7)
    void aSentinelClientTheReadPortAndRedisCliFollowAKill9OfTheMastersRedisOverTls() throws Exception {
        HiveFixture hive = shared();
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        HiveFixture.Node reader = hive.nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        TestCertificates.Pair client = certs().issue("app");
        JedisClientConfig tls = config(client, null);
        Set<HostAndPort> sentinels = new java.util.HashSet<>();
        for (HiveFixture.Node n : hive.nodes) {
            sentinels.add(new HostAndPort("127.0.0.1", n.config.tls().sentinelPort()));
        }

        // a Sentinel-aware client asks the TLS Sentinel ports for the master, then talks to its redis over TLS
        try (JedisSentinelPool pool = new JedisSentinelPool("mymaster", sentinels, tls, tls);
                JedisPooled reads = new JedisPooled(new HostAndPort("127.0.0.1", reader.config.tls().readPort()), tls)) {
            assertThat(pool.getCurrentHostMaster()).isEqualTo(new HostAndPort("127.0.0.1", leader.redis.port()));
            try (Jedis master = pool.getResource()) {
                assertThat(master.set("f", "before")).isEqualTo("OK");
            }
            await().atMost(ELECTION).untilAsserted(() -> assertThat(reads.get("f")).isEqualTo("before"));

            leader.redis.kill9();
            HiveFixture.Node next = hive.awaitLeaderOtherThan(leader, ELECTION);

            // the pool heard +switch-master on a TLS Sentinel port and writes to the new master
            await().atMost(ELECTION).untilAsserted(() -> assertThat(pool.getCurrentHostMaster())
                    .isEqualTo(new HostAndPort("127.0.0.1", next.redis.port())));
            await().atMost(ELECTION).ignoreExceptions().untilAsserted(() -> {
                try (Jedis master = pool.getResource()) {
                    assertThat(master.set("f", "after")).isEqualTo("OK");
                }
            });
            // the TLS Sentinel port of the agent beside the dead redis names the new master too
            try (Jedis sentinel = new Jedis(new HostAndPort("127.0.0.1", leader.config.tls().sentinelPort()), tls)) {
                await().atMost(ELECTION).untilAsserted(() -> assertThat(sentinel.sentinelGetMasterAddrByName("mymaster"))
                        .containsExactly("127.0.0.1", Integer.toString(next.redis.port())));
            }
            // the read port serves again, what was written after the failover
            await().atMost(ELECTION).ignoreExceptions().untilAsserted(() -> assertThat(reads.get("f")).isEqualTo("after"));

            // redis-cli --tls through the TLS write port of the agent whose redis died writes to the new master
            await().atMost(ELECTION).untilAsserted(() -> assertThat(redisCli(leader.config.tls().proxyPort(), client,
                    "SET", "cli", "after-failover").trim()).isEqualTo("OK"));
            assertThat(next.redis.jedis().get("cli")).isEqualTo("after-failover");
        }
    }

    // --- a bad certificate at start

    @Test
    @Order(8)
    void anAgentGivenAnExpiredCertificateOrAMissingKeyExitsNamingTheFile() throws Exception {
        TestCertificates.Pair expired = certs().expired("node-last-year");
        List<String> out = runAgent(expired.cert(), expired.key());
        assertThat(out.get(0)).as("exit code").isEqualTo("1");
        assertThat(out.get(1)).contains("--tls-cert-file " + expired.cert()).contains("expired on");

        TestCertificates.Pair good = certs().issue("node");
        Path missing = dir.resolve("no-such.key");
        out = runAgent(good.cert(), missing);
        assertThat(out.get(0)).as("exit code").isEqualTo("1");
        assertThat(out.get(1)).contains("cannot read --tls-key-file " + missing);
    }

    // --- replication on the wire

    @Test
    @Order(9)
    void replicationCrossesTheWireAsTlsOnly() throws Exception {
        // each node announces its redis at an address of its own (127.0.7.x, as a pod its IP) where a relay of the
        // test listens and passes the bytes on to the redis, recording them; the agents still reach their redis at
        // 127.0.0.1, as a sidecar does
        List<Relay> relays = new CopyOnWriteArrayList<>();
        try {
            own = HiveFixture.startWithTls(3, certs(), h -> {
                h.hostOf = i -> "127.0.7." + (1 + i);
                h.beforeAgent = (redis, i) -> relays.add(Relay.start(new InetSocketAddress("127.0.7." + (1 + i),
                        redis.port()), new InetSocketAddress("127.0.0.1", redis.port())));
            });
            HiveFixture.Node leader = own.awaitLeader(ELECTION);
            own.awaitReplicasInSync(leader);
            Relay relay = relays.get(leader.index);
            for (HiveFixture.Node n : own.nodes) {
                if (n != leader) {
                    String info = n.redis.jedis().info("replication");
                    assertThat(HiveFixture.infoField(info, "master_host")).isEqualTo("127.0.7." + (1 + leader.index));
                    assertThat(HiveFixture.infoField(info, "master_port")).isEqualTo(Integer.toString(leader.redis.port()));
                    assertThat(HiveFixture.infoField(info, "master_link_status")).isEqualTo("up");
                }
            }
            // the master sees its replicas come from the relay's side of the links
            List<Relay.Link> links = replicationLinks(leader, relay);
            assertThat(links).as("the replicas' links, through the relay").hasSize(2);

            // a value written on the master itself (not through the relay) reaches each replica through it
            String key = "wire-key-" + Long.toHexString(System.nanoTime());
            String value = "wire-value-" + "0123456789abcdefghijklmnopqrstuvwxyz".repeat(3000);
            long[] before = links.stream().mapToLong(Relay.Link::bytesToClient).toArray();
            assertThat(leader.redis.jedis().set(key, value)).isEqualTo("OK");
            for (HiveFixture.Node n : own.nodes) {
                if (n != leader) {
                    await().atMost(Duration.ofSeconds(10)).until(() -> value.equals(n.redis.jedis().get(key)));
                }
            }
            for (int i = 0; i < links.size(); i++) {
                assertThat(links.get(i).bytesToClient() - before[i]).as("bytes of the value to replica link %d", i)
                        .isGreaterThanOrEqualTo(value.length());
            }

            // on the wire: TLS records from the first byte, either way, and no RESP in the clear
            for (Relay.Link link : links) {
                byte[] up = link.toServer();
                byte[] down = link.toClient();
                assertThat(up).as("from the replica").startsWith(0x16, 0x03);
                assertThat(down).as("from the master").startsWith(0x16, 0x03);
                for (byte[] wire : List.of(up, down)) {
                    String text = new String(wire, StandardCharsets.ISO_8859_1);
                    for (String clear : List.of("PSYNC", "REPLCONF", "PING\r\n", key, value.substring(0, 40))) {
                        assertThat(text).as("%s in the clear", clear.trim()).doesNotContain(clear);
                    }
                }
            }
        } finally {
            if (own != null) {
                own.close();
                own = null;
            }
            relays.forEach(Relay::close);
        }
    }

    /**
     * The relay's links that carry {@code leader}'s replicas: redis lists each replica's connection with the address
     * it came from, which is the relay's own end of one of its links.
     */
    private static List<Relay.Link> replicationLinks(HiveFixture.Node leader, Relay relay) {
        List<Relay.Link> out = new ArrayList<>();
        Matcher m = Pattern.compile("addr=127\\.0\\.0\\.1:(\\d+)").matcher(leader.redis.jedis().clientList(
                redis.clients.jedis.args.ClientType.REPLICA));
        while (m.find()) {
            int port = Integer.parseInt(m.group(1));
            relay.links.stream().filter(l -> l.upstreamLocalPort == port).forEach(out::add);
        }
        return out;
    }

    // --- helpers

    /** What a TLS client got: the version negotiated and the first line of redis's reply to PING. */
    private record Exchange(String protocol, String reply) {}

    /**
     * PING over a new TLS connection pinned to {@code protocol}, presenting {@code client} (null: no certificate).
     *
     * @throws IOException when the handshake fails or the connection is closed before the reply (a refused client
     *                     certificate shows only after the handshake in TLSv1.3)
     */
    private static Exchange ping(int port, TestCertificates.Pair client, String protocol) throws IOException {
        SSLContext ctx = certs().clientContext(client);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.setEnabledProtocols(new String[] {protocol});
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(5000);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] reply = new byte[7];
            int n = s.getInputStream().readNBytes(reply, 0, reply.length);
            if (n < reply.length) {
                throw new EOFException("closed after " + n + " bytes of the reply");
            }
            return new Exchange(s.getSession().getProtocol(), new String(reply, 0, n - 2, StandardCharsets.US_ASCII));
        }
    }

    /** A Jedis client's TLS settings: {@code client}'s certificate (null: none), pinned to {@code protocol} if given. */
    private static JedisClientConfig config(TestCertificates.Pair client, String protocol) {
        DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder().connectionTimeoutMillis(2000)
                .socketTimeoutMillis(10_000).ssl(true).sslSocketFactory(certs().clientContext(client).getSocketFactory());
        if (protocol != null) {
            SSLParameters p = new SSLParameters();
            p.setProtocols(new String[] {protocol});
            b.sslParameters(p);
        }
        return b.build();
    }

    private static Jedis jedis(int port, TestCertificates.Pair client, String protocol) {
        return new Jedis(new HostAndPort("127.0.0.1", port), config(client, protocol));
    }

    /** GET /metrics on the node's HTTPS admin port. */
    private static String metrics(HiveFixture.Node n, TestCertificates.Pair client) throws Exception {
        return https(n, client, "TLSv1.3", "/metrics");
    }

    /** GET /livez on the node's HTTPS admin port, pinned to {@code protocol}. */
    private static String livez(HiveFixture.Node n, TestCertificates.Pair client, String protocol) throws Exception {
        return https(n, client, protocol, "/livez").trim();
    }

    /** GET {@code path} on the node's HTTPS admin port over {@code protocol}; fails unless it answers 200. */
    private static String https(HiveFixture.Node n, TestCertificates.Pair client, String protocol, String path)
            throws Exception {
        SSLParameters p = new SSLParameters();
        p.setProtocols(new String[] {protocol});
        HttpClient https = HttpClient.newBuilder().sslContext(certs().clientContext(client)).sslParameters(p)
                .connectTimeout(Duration.ofSeconds(2)).build();
        HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + n.config.httpPort()
                + path)).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET %s", path).isEqualTo(200);
        return r.body();
    }

    /** {@code redis-cli --tls} presenting {@code client} (null: no certificate): what it printed. */
    private static String redisCli(int port, TestCertificates.Pair client, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "--tls", "--cacert", certs().caFile().toString()));
        if (client != null) {
            cmd.addAll(List.of("--cert", client.cert().toString(), "--key", client.key().toString()));
        }
        cmd.addAll(List.of("-p", Integer.toString(port)));
        cmd.addAll(List.of(command));
        return ExternalProcess.outputOf(cmd.toArray(String[]::new));
    }

    /**
     * Runs the real agent ({@code java -jar skep.jar agent}) with TLS files {@code cert} and {@code key} until it
     * exits: its exit code and what it printed. Its ports are free loopback ones, so that an agent that did start
     * would disturb no one before the test ends it.
     */
    private static List<String> runAgent(Path cert, Path key) {
        Path jar = Path.of(System.getProperty("skep.jar", "agent/target/skep.jar"));
        assertThat(jar).as("built jar (run with mvn verify)").exists();
        String java = ProcessHandle.current().info().command().orElse("java");
        int peer = FreePorts.freePort();
        try (ExternalProcess agent = ExternalProcess.start("agent-bad-tls", Map.of(), java, "-jar",
                jar.toAbsolutePath().toString(), "agent", "--redis", "127.0.0.1:" + FreePorts.freePort(), "--bind",
                "127.0.0.1", "--peers", "127.0.0.1:" + peer, "--peer-port", Integer.toString(peer), "--http-port",
                Integer.toString(FreePorts.freePort()), "--proxy-port", Integer.toString(FreePorts.freePort()),
                "--read-port", Integer.toString(FreePorts.freePort()), "--sentinel-port",
                Integer.toString(FreePorts.freePort()), "--tls-cert-file", cert.toString(), "--tls-key-file",
                key.toString(), "--tls-ca-cert-file", certs().caFile().toString(), "--tls-proxy-port",
                Integer.toString(FreePorts.freePort()))) {
            int code = agent.await(60);
            return List.of(Integer.toString(code), String.join("\n", agent.lines()));
        }
    }

    /**
     * A TCP relay of the test: it listens on {@code listen}, opens a connection to {@code target} for each one it
     * accepts, and copies the bytes both ways on threads of its own, keeping them (up to a bound) for the test to
     * read. Closed by the test, which closes every socket and so ends its threads.
     */
    static final class Relay implements AutoCloseable {
        private static final int KEPT = 8 * 1024 * 1024;
        private final ServerSocket server;
        private final InetSocketAddress target;
        final List<Link> links = new CopyOnWriteArrayList<>();

        /** One relayed connection. */
        static final class Link {
            final Socket client;
            final Socket upstream;
            /** The relay's port on its connection to the target: the address the target sees the client at. */
            final int upstreamLocalPort;
            private final ByteArrayOutputStream toServer = new ByteArrayOutputStream();
            private final ByteArrayOutputStream toClient = new ByteArrayOutputStream();
            private final AtomicLong bytesToClient = new AtomicLong();

            Link(Socket client, Socket upstream) {
                this.client = client;
                this.upstream = upstream;
                this.upstreamLocalPort = upstream.getLocalPort();
            }

            byte[] toServer() {
                synchronized (toServer) {
                    return toServer.toByteArray();
                }
            }

            byte[] toClient() {
                synchronized (toClient) {
                    return toClient.toByteArray();
                }
            }

            long bytesToClient() {
                return bytesToClient.get();
            }
        }

        private Relay(ServerSocket server, InetSocketAddress target) {
            this.server = server;
            this.target = target;
        }

        static Relay start(InetSocketAddress listen, InetSocketAddress target) {
            try {
                ServerSocket s = new ServerSocket();
                s.bind(listen);
                Relay r = new Relay(s, target);
                thread("relay-accept-" + listen.getPort(), r::accept);
                return r;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("relay on " + listen, e);
            }
        }

        private static void thread(String name, Runnable body) {
            Thread t = new Thread(body, name);
            t.setDaemon(true);
            t.start();
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket client = server.accept();
                    Socket upstream = new Socket();
                    try {
                        upstream.connect(target, 2000);
                    } catch (IOException e) {
                        client.close();
                        continue;
                    }
                    Link link = new Link(client, upstream);
                    links.add(link);
                    thread("relay-up-" + upstream.getLocalPort(), () -> copy(client, upstream, link.toServer, null));
                    thread("relay-down-" + upstream.getLocalPort(),
                            () -> copy(upstream, client, link.toClient, link.bytesToClient));
                } catch (IOException e) {
                    return; // closed
                }
            }
        }

        private static void copy(Socket from, Socket to, ByteArrayOutputStream kept, AtomicLong count) {
            byte[] buf = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (kept) {
                        if (kept.size() + n <= KEPT) {
                            kept.write(buf, 0, n);
                        }
                    }
                    if (count != null) {
                        count.addAndGet(n);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // one side closed: the relay closes the other
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }

        private static void closeQuietly(Socket s) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }

        @Override
        public void close() {
            try {
                server.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            for (Link l : links) {
                closeQuietly(l.client);
                closeQuietly(l.upstream);
            }
        }
    }
}
