package dev.skep.sentinel;

import dev.skep.netty.EventLoops;
import dev.skep.support.TestCertificates;
import dev.skep.tls.TlsMaterial;
import dev.skep.tls.TlsSettings;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;
import dev.skep.topology.TopologyHolder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Sentinel-compatible endpoint over TLS, next to its plain port: where every redis listens for TLS on one port
 * besides the plain one the hive knows ({@code --tls-redis-port}), clients that come in over TLS are given that port,
 * and plain clients the plain one.
 */
class SentinelTlsIT {
    private static final int REDIS_TLS_PORT = 16379;
    @TempDir
    Path dir;
    private final EventLoops loops = EventLoops.create(1, "sentinel-tls-test", true);
    private SentinelServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
        loops.close();
    }

    @Test
    void tlsClientsAreGivenTheRedisTlsPortAndPlainClientsThePlainOne() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        TestCertificates.Pair node = certs.issue("node");
        TlsMaterial tls = TlsMaterial.load(new TlsSettings(node.cert(), node.key(), certs.caFile(),
                TlsSettings.ClientAuth.YES, List.of(), TlsSettings.Provider.AUTO, 0), Instant.now());
        TopologyHolder topology = new TopologyHolder();
        topology.publish(new Topology(5, new Endpoint("127.0.0.1", 7380), new Endpoint("127.0.0.1", 6379),
                List.of(new Endpoint("127.0.0.2", 6379))));
        server = new SentinelServer(loops, "127.0.0.1", 0, SentinelCommandsTest.SETTINGS, 100, topology, () -> null,
                System::currentTimeMillis).withTls(0, tls::server, REDIS_TLS_PORT).start();

        try (Jedis plain = new Jedis("127.0.0.1", server.localAddress().getPort())) {
            await().untilAsserted(() -> assertThat(plain.sentinelGetMasterAddrByName("mymaster"))
                    .containsExactly("127.0.0.1", "6379"));
        }
        TestCertificates.Pair client = certs.issue("app");
        try (Jedis secure = new Jedis(new HostAndPort("127.0.0.1", server.tlsAddress().getPort()),
                DefaultJedisClientConfig.builder().ssl(true)
                        .sslSocketFactory(certs.clientContext(client).getSocketFactory()).build())) {
            assertThat(secure.sentinelGetMasterAddrByName("mymaster"))
                    .containsExactly("127.0.0.1", Integer.toString(REDIS_TLS_PORT));
            List<Map<String, String>> replicas = secure.sentinelReplicas("mymaster");
            assertThat(replicas).extracting(r -> r.get("ip") + ":" + r.get("port"))
                    .containsExactly("127.0.0.2:" + REDIS_TLS_PORT);
        }
    }
}
