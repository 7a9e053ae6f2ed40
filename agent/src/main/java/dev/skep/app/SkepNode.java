package dev.skep.app;

import dev.skep.config.AgentConfig;
import dev.skep.config.ConfigException;
import dev.skep.config.PasswordFile;
import dev.skep.config.TlsConfig;
import dev.skep.discovery.DnsPeerSource;
import dev.skep.discovery.PeerSource;
import dev.skep.discovery.StaticPeerSource;
import dev.skep.election.ElectionLoop;
import dev.skep.election.ElectionSettings;
import dev.skep.election.Quorum;
import dev.skep.http.AdminHttpServer;
import dev.skep.lease.KubernetesLeaseStore;
import dev.skep.lease.LeaseStore;
import dev.skep.metrics.SkepMetrics;
import dev.skep.netty.EventLoops;
import dev.skep.peer.PeerTransport;
import dev.skep.proxy.ProxyServer;
import dev.skep.proxy.ProxySettings;
import dev.skep.proxy.ProxyTls;
import dev.skep.redis.RedisController;
import dev.skep.sentinel.SentinelServer;
import dev.skep.sentinel.SentinelSettings;
import dev.skep.status.EventLog;
import dev.skep.status.HandoverResult;
import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.tls.CurrentSslContext;
import dev.skep.tls.TlsException;
import dev.skep.tls.TlsMaterial;
import dev.skep.tls.TlsReloader;
import dev.skep.topology.Endpoint;
import dev.skep.topology.TopologyHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One agent: builds its components from an {@link AgentConfig}, starts them in dependency order and stops
 * them in reverse. The only class that sees every package (DESIGN.md's dependency rule).
 *
 * <p>{@link #start} and {@link #close} may be called from any thread; {@link #runUntilStopped} blocks the
 * calling thread until the JVM is asked to stop (SIGTERM, SIGINT).
 */
public final class SkepNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SkepNode.class);
    private static final int EVENTS_KEPT = 50;
    /** Shared upstream connections per event loop: a few let redis batch many clients' commands. */
    private static final int SHARED_PER_LOOP = 1;
    /** How long a stopping agent lets its proxy's clients finish what they sent. */
    private static final long DRAIN_MS = 2_000;

    private final AgentConfig config;
    private final TopologyHolder topology = new TopologyHolder();
    private final EventLog events = new EventLog(EVENTS_KEPT);
    /** What to close, last started first. */
    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    /** Set once while starting; read by HTTP threads, which may come before it. */
    private volatile ElectionLoop election;
    private AdminHttpServer http;
    private SentinelServer sentinel;
    private ProxyServer proxy;
    private volatile SkepMetrics metrics;
    private volatile TrafficWatch traffic;
    private TlsReloader tls;

    private SkepNode(AgentConfig config) {
        this.config = config;
    }

    /**
     * Starts an agent. When a port cannot be bound, what was started is stopped again and the error is
     * thrown: {@link UncheckedIOException} naming the port.
     */
    public static SkepNode start(AgentConfig config) {
        SkepNode node = new SkepNode(config);
        try {
            node.startComponents();
            return node;
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
    }

    private void startComponents() {
        if (!config.peersDns().isEmpty()) {
            // Pods come and go with new addresses: every lookup must reach DNS, not a cache of the JVM's.
            DnsPeerSource.disableJvmDnsCache();
        }
        PeerSource peers = config.peersDns().isEmpty()
                ? new StaticPeerSource(config.staticPeers())
                : new DnsPeerSource(config.peersDns(), config.peerPort());
        ElectionSettings settings = new ElectionSettings(config.self(), config.announcedRedis(), config.httpPort(),
                config.heartbeatMs(), config.peerTimeoutMs(), config.redisFailures(), config.maxLagMs(),
                config.handoverTimeoutMs(), config.quorum().equals("majority") ? Quorum.MAJORITY : Quorum.NONE,
                config.lease() == null ? 0 : config.lease().durationSeconds(), config.busyGraceMs(),
                config.server().zone());

        tls = startTls();
        startHttp();
        EventLoops loops = EventLoops.create(config.eventLoops(), "skep-io", false,
                TimeUnit.MICROSECONDS.toNanos(config.spinUs()), EventLoops.Transport.parse(config.ioTransport()));
        if (config.spinUs() > 0 && !loops.isEpoll()) {
            log.warn("--spin-us {} has no effect on the {} transport (epoll only)", config.spinUs(),
                    loops.transport().flag());
        }
        started.push(loops);
        RedisController controller = new RedisController(config.redis(), config.announcedRedis(), config.redisUser(),
                config.redisPassword(), redisIoTimeout(), redisTls(), config.server());
        started.push(controller);
        // each request bounded by a heartbeat or two: a slow API server must not hold the Lease thread for long
        LeaseStore leaseStore = config.lease() == null ? null
                : new KubernetesLeaseStore(config.lease(), Math.max(500, 2 * config.heartbeatMs()));
        election = new ElectionLoop(settings, controller, peers, topology, events, System::currentTimeMillis, leaseStore);
        started.push(election);
        startMetrics();

        byte[] secret = config.peerSecret().isEmpty() ? null : config.peerSecret().getBytes(StandardCharsets.UTF_8);
        PeerTransport transport = new PeerTransport(loops, config.bindHost(), config.peerPort(), secret,
                Duration.ofMillis(config.peerTimeoutMs()), election);
        TlsConfig.PeerTls peerTls = config.tls().peers();
        if (peerTls != TlsConfig.PeerTls.OFF) {
            transport.withTls(() -> tls.current().peerServer(), peerTls.sendsTls() ? () -> tls.current().client() : null,
                    peerTls.acceptsPlain());
        }
        started.push(transport);
        try {
            transport.start();
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException("--peer-port " + e.getMessage(), e.getCause());
        }
        election.start(transport);

        metrics.bindPeerMessages(transport::sentCount, transport::receivedCount, transport::rejectedCount);
        metrics.bindPeerBytes(transport::sentBytes, transport::receivedBytes);
        // the Sentinel endpoint after the peer port: peer statuses flow first (the start's order, docs/benchmarks.md)
        SentinelSettings sentinelSettings = new SentinelSettings(config.masterName(),
                SentinelSettings.idFor(new Endpoint(config.announceHost(), config.sentinelPort())),
                config.sentinelPort(), config.peerTimeoutMs(), ProcessHandle.current().pid(),
                System.currentTimeMillis());
        sentinel = new SentinelServer(loops, config.bindHost(), config.sentinelPort(), sentinelSettings,
                config.heartbeatMs(), topology, election::status, System::currentTimeMillis);
        if (config.tls().sentinelPort() > 0) {
            sentinel.withTls(config.tls().sentinelPort(), () -> tls.current().server(), config.tls().redisTlsPort());
        }
        started.push(sentinel);
        try {
            sentinel.start();
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException("--sentinel-port " + e.getMessage(), e.getCause());
        }

        proxy = new ProxyServer(loops, new ProxySettings(config.bindHost(), config.proxyPort(),
                // with ACL users, clients authenticate to redis themselves (the proxy checks each AUTH against it)
                config.readPort(), config.holdMs(), config.maxClients(),
                config.redisUser().isEmpty() ? config.redisPassword() : "", SHARED_PER_LOOP)
                .withCloseOnUnknown(config.unknownOutcome().equals("close"))
                .withRefuseSync(config.quorum().equals("majority")),
                topology, metrics::holdEnded, proxyTls());
        started.push(proxy);
        proxy.start();
        metrics.bindProxy(proxy);
        startPasswordRotation(controller);
        TrafficWatch watch = new TrafficWatch(proxy::clients, proxy::commands, election::status);
        started.push(watch);
        watch.start();
        http.onStatusViewed(watch::viewed);
        traffic = watch;
        metrics.bindJvm();
        log.info("skep agent {} started: {}", config.self(), config.withSecretsHidden());
    }

    /**
     * The admin HTTP port, first of all: {@code /livez} answers as soon as the JVM can serve it (a liveness probe, an
     * operator's curl), while the rest starts; until the election exists {@code /readyz} and {@code /api/status}
     * answer 503 "starting" and {@code /metrics} is empty.
     */
    private void startHttp() {
        http = new AdminHttpServer(config.bindHost(), config.httpPort(), this::status, () -> {
            SkepMetrics m = metrics;
            return m == null ? "" : m.scrape();
        });
        http.onFailover(this::handover);
        if (config.tls().http()) {
            http.withTls(new CurrentSslContext(() -> tls.current().jdk()));
        }
        try {
            http.start();
        } catch (IOException e) {
            throw new UncheckedIOException("--http-port " + config.bindHost() + ":" + config.httpPort() + ": "
                    + e.getMessage(), e);
        }
        started.push(http);
    }

    /**
     * Loads the TLS files before anything listens (a bad, expired or unreadable one stops the agent with a message
     * naming it) and checks them for a change every --tls-reload-ms; null when TLS is off.
     */
    private TlsReloader startTls() {
        TlsConfig t = config.tls();
        if (!t.enabled()) {
            return null;
        }
        TlsMaterial first;
        try {
            first = TlsMaterial.load(t.files(), Instant.now());
        } catch (TlsException e) {
            throw new ConfigException(e.getMessage());
        }
        String self = config.self().toString();
        TlsReloader reloader = new TlsReloader(first, Clock.systemUTC(), outcome -> {
            if (outcome instanceof TlsReloader.Outcome.Reloaded r) {
                events.add(new HiveEvent(System.currentTimeMillis(), self, "tls-reloaded", "certificate "
                        + r.material().certificate().getSubjectX500Principal().getName() + " valid until "
                        + r.material().notAfter()));
            } else if (outcome instanceof TlsReloader.Outcome.Refused f) {
                events.add(new HiveEvent(System.currentTimeMillis(), self, "tls-reload-refused",
                        f.reason() + " (the previous certificate stays in use)"));
            }
        });
        ScheduledExecutorService checker = daemonScheduler("skep-tls");
        started.push(reloader);
        reloader.start(checker);
        log.info("TLS: certificate {} valid until {}, provider {}", first.certificate().getSubjectX500Principal()
                .getName(), first.notAfter(), first.providerName());
        return reloader;
    }

    /** Watches --redis-password-file and rotates a new password into the hive ({@link PasswordRotator}). */
    private void startPasswordRotation(RedisController controller) {
        PasswordFile pf = config.passwordFile();
        if (pf == null) {
            return;
        }
        PasswordRotator rotator = new PasswordRotator(pf.file(), config.redisPassword(), config.redisUser(),
                config.redis(), redisTls(), controller,
                // with --redis-user the proxy holds no password: clients authenticate to redis themselves
                config.redisUser().isEmpty() ? proxy.password() : null, election::status, events,
                config.self().toString(), pf.windowMs(), redisIoTimeout(), System::currentTimeMillis);
        ScheduledExecutorService checker = daemonScheduler("skep-password");
        started.push(rotator);
        rotator.start(checker, pf.checkMs());
    }

    /** A scheduler on one daemon thread named {@code name}, shut down when the node closes. */
    private ScheduledExecutorService daemonScheduler(String name) {
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread th = new Thread(r, name);
            th.setDaemon(true);
            return th;
        });
        started.push(s::shutdownNow);
        return s;
    }

    /** The JDK TLS context of the agent's blocking connections to redis (--tls-redis); null: plain. */
    private java.util.function.Supplier<javax.net.ssl.SSLContext> redisTls() {
        return config.tls().redis() ? () -> tls.current().jdk() : null;
    }

    /** TLS on the proxy's client ports and its connections to redis, as --tls-* ask. */
    private ProxyTls proxyTls() {
        TlsConfig t = config.tls();
        if (!t.enabled()) {
            return ProxyTls.OFF;
        }
        return new ProxyTls(t.proxyPort(), t.readPort(), () -> tls.current().server(),
                t.redis() ? () -> tls.current().client() : null);
    }

    /** The TLS material in use; null when TLS is off. */
    public TlsReloader tls() {
        return tls;
    }

    /** Metrics: declared in {@link SkepMetrics}, fed by the election's events, topology and probes. */
    private void startMetrics() {
        metrics = new SkepMetrics(election::status);
        started.push(metrics);
        events.addListener(metrics::onEvent);
        topology.addListener(metrics::onTopology);
        election.observeProbes(metrics::probed);
        if (tls != null) {
            metrics.bindTls(() -> tls.current().notAfter(), tls.current().providerName());
        }
    }

    /**
     * The bound on each redis command of the controller: a redis that does not answer a PING within two
     * heartbeats (at least 200 ms) counts as a failed probe.
     */
    private Duration redisIoTimeout() {
        return Duration.ofMillis(Math.max(200, 2L * config.heartbeatMs()));
    }

    /** Asks this node to hand its leadership over ({@code skep failover}); see {@link ElectionLoop#requestHandover}. */
    public CompletableFuture<HandoverResult> handover(Endpoint to, String cause) {
        ElectionLoop election = this.election;
        if (election == null) {
            return CompletableFuture.completedFuture(new HandoverResult(false, "the agent is starting", null, 0, 0));
        }
        return election.requestHandover(to, cause).whenComplete((r, e) -> {
            if (r != null && r.ok()) {
                metrics.handoverPause(Duration.ofMillis(r.pausedMs()));
            }
        });
    }

    /** This node's current view of the hive, with each member's proxy traffic as far as it is known. */
    public HiveStatus status() {
        ElectionLoop e = election;
        if (e == null) {
            return null; // starting
        }
        TrafficWatch t = traffic;
        HiveStatus s = t == null ? e.status() : t.decorate(e.status());
        TlsReloader r = tls;
        if (r == null) {
            return s;
        }
        TlsMaterial m = r.current();
        return s.withTls(new HiveStatus.Tls(m.certificate().getSubjectX500Principal().getName(),
                m.notAfter().toEpochMilli(), m.providerName()));
    }

    /** This node's metrics ({@code /metrics}); the handover reports its pauses here. */
    public SkepMetrics metrics() {
        return metrics;
    }

    /** The topology clients are sent to (proxies and the Sentinel endpoint listen to it). */
    public TopologyHolder topology() {
        return topology;
    }

    /** The bound address of the Sentinel-compatible endpoint. */
    public InetSocketAddress sentinelAddress() {
        return sentinel.localAddress();
    }

    public AgentConfig config() {
        return config;
    }

    /**
     * Hands leadership over first when this node leads (DESIGN.md invariant 5: the successor has every
     * acknowledged write before it is promoted), then stops. What SIGTERM does. Returns the handover's
     * outcome, or null when this node did not lead.
     */
    public HandoverResult shutdownGracefully() {
        HandoverResult result = null;
        if (election != null && election.leading()) {
            log.info("stopping while leading: handing over first (at most {} ms)", config.handoverTimeoutMs());
            try {
                result = handover(null, "shutting down")
                        .get(config.handoverTimeoutMs() + 2L * config.peerTimeoutMs(), TimeUnit.MILLISECONDS);
                log.info("handover: {}", result.detail());
            } catch (TimeoutException e) {
                log.warn("handover did not finish in time: stopping anyway");
            } catch (ExecutionException e) {
                log.warn("handover failed: {}", e.getCause().toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (election != null && election.leading()) {
            // no successor took over (none in sync, say the last pod of a release): under --election lease, give
            // the Lease back rather than make the next leader wait for it to expire
            election.releaseLeadershipForStop("agent stopping with no successor", 2_000);
        }
        if (proxy != null) {
            // clients of this node's write port are being served by the new master: let each finish what it
            // sent, then close its connection between two requests rather than in the middle of one
            int left = proxy.drain(Duration.ofMillis(DRAIN_MS));
            if (left > 0) {
                log.info("{} client connection(s) still busy after {} ms: closing them", left, DRAIN_MS);
            }
        }
        close();
        return result;
    }

    /** Stops everything that was started, in reverse order; idempotent. */
    @Override
    public synchronized void close() {
        while (!started.isEmpty()) {
            AutoCloseable c = started.pop();
            try {
                c.close();
            } catch (Exception e) {
                log.warn("while stopping {}: {}", c, e.toString());
            }
        }
    }

    /**
     * Runs an agent until the JVM is asked to stop. Returns the process exit code: 0 after a clean stop, 1
     * when it could not start (the cause is logged).
     */
    public static int runUntilStopped(AgentConfig config) {
        SkepNode node;
        try {
            node = start(config);
        } catch (UncheckedIOException | ConfigException e) {
            log.error("cannot start: {}", e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping skep agent {}", config.self());
            node.shutdownGracefully();
            stopped.countDown();
        }, "skep-shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
