package dev.skep.proxy;

import dev.skep.netty.EventLoops;
import dev.skep.support.FreePorts;
import dev.skep.support.RedisServerFixture;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;
import dev.skep.topology.TopologyHolder;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A proxy in this JVM in front of real redis servers, with the topology set by the test (no election):
 * for testing what clients see through the write and read ports, failovers included.
 */
final class ProxyFixture implements AutoCloseable {
    final TopologyHolder topology = new TopologyHolder();
    /** The system property that puts the fixtures' event loops on another transport (ProxyIoUringIT). */
    static final String TRANSPORT_PROPERTY = "skep.test.ioTransport";
    // polling as with --spin-us 50 (epoll only), so that the ITs cover that path too
    final EventLoops loops = EventLoops.create(2, "test-proxy", true, TimeUnit.MICROSECONDS.toNanos(50),
            EventLoops.Transport.parse(System.getProperty(TRANSPORT_PROPERTY, "auto")));
    final ProxyServer proxy;
    final int writePort;
    final int readPort;
    private long epoch;

    ProxyFixture(long holdMs, String password) {
        this(holdMs, password, false);
    }

    /** With SYNC refused, as under {@code --quorum majority}. */
    ProxyFixture(long holdMs, String password, boolean refuseSync) {
        this(new ProxySettings("127.0.0.1", FreePorts.freePort(), FreePorts.freePort(), holdMs, 100, password, 2)
                .withRefuseSync(refuseSync));
    }

    /** A proxy whose bounds on what it holds for clients are {@code clientHeldLimit} each, {@code heldLimit} in all. */
    ProxyFixture(long clientHeldLimit, long heldLimit) {
        this(new ProxySettings("127.0.0.1", FreePorts.freePort(), FreePorts.freePort(), 2000, 100, "", 2,
                clientHeldLimit, heldLimit));
    }

    private ProxyFixture(ProxySettings settings) {
        writePort = settings.writePort();
        readPort = settings.readPort();
        proxy = new ProxyServer(loops, settings, topology);
        proxy.start();
    }

    /** Publishes a new epoch with {@code master} (null: no master) and {@code replicas}. */
    void master(RedisServerFixture master, RedisServerFixture... replicas) {
        epoch++;
        List<Endpoint> r = java.util.Arrays.stream(replicas).map(RedisServerFixture::endpoint).toList();
        topology.publish(new Topology(epoch, master == null ? null : new Endpoint("127.0.0.1", 1),
                master == null ? null : master.endpoint(), r));
        // the proxy applies it on its event loops asynchronously: tests act once it has
        long e = epoch;
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> proxy.appliedEpoch() >= e);
    }

    /** Publishes a new epoch with {@code master}, whose writes need {@code syncReplicas} replicas' confirmation. */
    void masterWithSyncReplicas(RedisServerFixture master, int syncReplicas) {
        epoch++;
        topology.publish(new Topology(epoch, new Endpoint("127.0.0.1", 1), master.endpoint(), List.of(), false,
                syncReplicas));
        long e = epoch;
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> proxy.appliedEpoch() >= e);
    }

    Jedis writeClient() {
        return client(writePort, "");
    }

    Jedis client(int port, String password) {
        DefaultJedisClientConfig.Builder c = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(2000).socketTimeoutMillis(10_000);
        if (!password.isEmpty()) {
            c.password(password);
        }
        return new Jedis(new HostAndPort("127.0.0.1", port), c.build());
    }

    @Override
    public void close() {
        proxy.close();
        loops.close();
    }
}
