package dev.skep.metrics;

import dev.skep.proxy.ProxyCount;
import dev.skep.proxy.ProxyServer;
import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.SkepVersion;
import dev.skep.topology.Topology;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Every metric of one agent, declared here and nowhere else, served at {@code /metrics} in the Prometheus
 * text format ({@link #scrape()}). Names follow Prometheus conventions: {@code skep_} prefix, base units in
 * the name ({@code _seconds}, {@code _bytes}), {@code _total} on counters.
 *
 * <p>Three ways values arrive, so that nothing costs the data path:
 * <ul>
 *   <li><b>read at scrape time</b>: node state, role, epoch and replication come from the latest
 *       {@link HiveStatus}; proxy and peer counts from counters their owners keep anyway
 *       ({@link ProxyServer#count}, kept per event loop);</li>
 *   <li><b>told as they happen</b>, all rare: events ({@link #onEvent}), topology changes
 *       ({@link #onTopology}), redis probes ({@link #probed}), holds ({@link #holdEnded}), handover pauses
 *       ({@link #handoverPause}); the meters they touch are looked up once, here, and kept in fields;</li>
 *   <li>the JVM's own (memory, GC, threads, classes, CPU, uptime) from Micrometer's binders.</li>
 * </ul>
 *
 * <p>Threads: built and bound by the thread that starts the node; {@link #onEvent} and {@link #onTopology}
 * are called on the control thread, {@link #probed} on the redis thread, {@link #holdEnded} on event loops,
 * {@link #handoverPause} from whichever thread runs a handover, {@link #scrape} on HTTP threads. All are
 * thread-safe.
 */
public final class SkepMetrics implements AutoCloseable {
    /** Election states and redis roles, as {@link HiveStatus} names them; one gauge series each. */
    public static final List<String> STATES =
            List.of("ALONE", "PROPOSING", "PROMOTING", "FOLLOWING", "LEADING", "NOT_READY");
    public static final List<String> ROLES = List.of("MASTER", "REPLICA", "UNKNOWN");

    private static final Duration[] PROBE_BUCKETS = millis(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000);
    private static final Duration[] PAUSE_BUCKETS = millis(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000);

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Supplier<HiveStatus> status;
    private volatile JvmGcMetrics gc;

    private final Counter leaderChanges;
    private final Map<String, Counter> elections = new ConcurrentHashMap<>();
    private final Map<String, Counter> events = new ConcurrentHashMap<>();
    private final ElectionCauses causes = new ElectionCauses();
    private final Timer probe;
    private final Counter probeFailures;
    private final Timer[] holds = new Timer[4];
    private final Timer handoverPause;
    private final MultiGauge replicationOffset;
    private final MultiGauge replicationLag;
    private long lastLeadership = -1;
    /**
     * What function counters read: Micrometer holds the object behind a function meter weakly, so the
     * suppliers of {@link #bindPeerMessages} (lambdas nobody else keeps) are kept here, or a GC would
     * freeze them.
     */
    private final List<Object> keep = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** @param status the node's latest status (null while starting); read at each scrape */
    public SkepMetrics(Supplier<HiveStatus> status) {
        this.status = Objects.requireNonNull(status, "status");

        for (String state : STATES) {
            Gauge.builder("skep.node.state", () -> is(s -> s.state() == null ? null : s.state().name(), state))
                    .tag("state", state.toLowerCase(Locale.ROOT))
                    .description("1 for the election state this node is in, 0 for the others")
                    .register(registry);
        }
        for (String role : ROLES) {
            Gauge.builder("skep.redis.role", () -> is(SkepMetrics::ownRole, role))
                    .tag("role", role.toLowerCase(Locale.ROOT))
                    .description("1 for the role the local redis reports (INFO replication), 0 for the others")
                    .register(registry);
        }
        Gauge.builder("skep.build.info", () -> 1)
                .tag("version", SkepVersion.CURRENT)
                .description("Always 1; the version label is the Skep version this agent runs")
                .register(registry);
        Gauge.builder("skep.ready", () -> value(s -> s.ready() ? 1 : 0))
                .description("1 when /readyz answers 200: local redis healthy, in the role the hive wants, leader known")
                .register(registry);
        Gauge.builder("skep.lease.held", () -> value(s -> s.lease() != null && s.lease().heldHere() ? 1 : 0))
                .description("1 while this node holds the Kubernetes Lease (--election lease) and its hold has not run out")
                .register(registry);
        Gauge.builder("skep.epoch", () -> value(s -> s.epoch()))
                .description("The highest epoch this node has accepted (each leadership has its own)")
                .register(registry);
        Gauge.builder("skep.members.alive", () -> value(s -> s.members().stream().filter(HiveStatus.Member::alive).count()))
                .description("Members of the hive this node hears (itself included)")
                .register(registry);
        leaderChanges = Counter.builder("skep.leader.changes")
                .description("New leaderships (epochs with a confirmed master) this node has followed or led")
                .register(registry);
        for (String cause : ElectionCauses.ALL) {
            elections.put(cause, Counter.builder("skep.elections").tag("cause", cause)
                    .description("Elections this node entered (it proposed), by why it had no leader")
                    .register(registry));
        }
        probe = Timer.builder("skep.redis.probe")
                .description("Time of one probe of the local redis (PING + INFO), failed ones included")
                .serviceLevelObjectives(PROBE_BUCKETS)
                .register(registry);
        probeFailures = Counter.builder("skep.redis.probe.failures")
                .description("Probes of the local redis that failed (refused, timed out, error reply)")
                .register(registry);
        replicationOffset = MultiGauge.builder("skep.replication.offset").baseUnit("bytes")
                .description("Replication offset of each member's redis, as this node last heard it")
                .register(registry);
        replicationLag = MultiGauge.builder("skep.replication.lag").baseUnit("bytes")
                .description("How far each replica's offset is behind the master's, as this node last heard them")
                .register(registry);
        for (String port : List.of("write", "read")) {
            for (String outcome : List.of("served", "masterdown")) {
                holds[holdIndex(port.equals("read"), outcome.equals("served"))] = Timer.builder("skep.proxy.hold")
                        .tags("port", port, "outcome", outcome)
                        .description("How long requests waited for a master: until one was reachable (served), "
                                + "or --hold-ms before -MASTERDOWN")
                        .serviceLevelObjectives(PAUSE_BUCKETS)
                        .register(registry);
            }
        }
        handoverPause = Timer.builder("skep.handover.pause")
                .description("How long writes were paused during a planned handover to another node")
                .serviceLevelObjectives(PAUSE_BUCKETS)
                .register(registry);

    }

    /**
     * Publishes the JVM's own metrics (memory, GC, threads, classes, CPU, uptime): called once, by the starting
     * thread, after the agent's ports are open. They read the JDK's management beans, whose classes take tens of
     * milliseconds to load: not in the way of the peer port at start (docs/benchmarks.md#agent-footprint).
     */
    public void bindJvm() {
        new JvmMemoryMetrics().bindTo(registry);
        JvmGcMetrics g = new JvmGcMetrics();
        g.bindTo(registry);
        gc = g;
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    /** Publishes the proxy's connections, commands, errors, failover sessions and holds. */
    public void bindProxy(ProxyServer proxy) {
        keep.add(proxy);
        for (boolean read : new boolean[] {false, true}) {
            String port = read ? "read" : "write";
            Gauge.builder("skep.proxy.connections.open", proxy, p -> p.clients(read)).tag("port", port)
                    .description("Client connections open on the proxy port").register(registry);
            counter("skep.proxy.connections", "Client connections accepted on the proxy port",
                    proxy, read, ProxyCount.CONNECTIONS, Tags.of("port", port));
            for (ProxyCount c : List.of(ProxyCount.COMMANDS_SHARED, ProxyCount.COMMANDS_DEDICATED,
                    ProxyCount.COMMANDS_LOCAL)) {
                counter("skep.proxy.commands", "Requests through the proxy, by the path they took: shared "
                        + "upstream connections, a session's dedicated one, or answered by the proxy itself",
                        proxy, read, c, Tags.of("port", port, "path", suffix(c, "COMMANDS_")));
            }
            for (ProxyCount c : List.of(ProxyCount.ERRORS_MASTERDOWN, ProxyCount.ERRORS_FAILOVER,
                    ProxyCount.ERRORS_REFUSED, ProxyCount.ERRORS_READONLY, ProxyCount.ERRORS_AUTH,
                    ProxyCount.ERRORS_PROTOCOL, ProxyCount.ERRORS_NOREPLICAS)) {
                counter("skep.proxy.errors", "Error replies the proxy gave itself, by kind: masterdown (no "
                        + "master within --hold-ms), failover (request in flight lost with its upstream), refused, "
                        + "readonly, auth, protocol, noreplicas (a write too few replicas confirmed, --quorum)", proxy, read, c, Tags.of("port", port, "kind", suffix(c, "ERRORS_")));
            }
            for (ProxyCount c : List.of(ProxyCount.SESSIONS_REATTACHED, ProxyCount.SESSIONS_FAILED,
                    ProxyCount.SESSIONS_CLOSED)) {
                counter("skep.proxy.failover.sessions", "Client sessions at a change of master: reattached "
                        + "(moved, nothing lost), failed (requests in flight got errors), closed (state could not move)",
                        proxy, read, c, Tags.of("port", port, "outcome", suffix(c, "SESSIONS_")));
            }
            counter("skep.proxy.resent", "Blocking requests (BRPOP, XREADGROUP BLOCK...) a master demoted in a "
                    + "handover gave back unrun, re-sent by the proxy to the new master with what was left of their "
                    + "timeout", proxy, read, ProxyCount.RESENT, Tags.of("port", port));
            counter("skep.proxy.holds", "Times a session started waiting for a master", proxy, read,
                    ProxyCount.HOLDS, Tags.of("port", port));
            for (ProxyCount c : List.of(ProxyCount.OVERLOAD_CLIENT, ProxyCount.OVERLOAD_TOTAL)) {
                counter("skep.proxy.overload.closed", "Client connections the proxy closed for holding too many "
                        + "of their replies unread: over the bound for one client (client), or the most when all "
                        + "together were over theirs (total)", proxy, read, c,
                        Tags.of("port", port, "bound", suffix(c, "OVERLOAD_")));
            }
        }
        Gauge.builder("skep.proxy.held", proxy, ProxyServer::heldBytes).baseUnit("bytes")
                .description("Bytes of replies the proxy holds for clients that have not read them yet (both ports)")
                .register(registry);
        Gauge.builder("skep.proxy.held.limit", proxy, ProxyServer::heldLimit).baseUnit("bytes")
                .description("The bound on skep_proxy_held_bytes, past which the clients holding the most are closed")
                .register(registry);
        FunctionCounter.builder("skep.proxy.connections.refused", proxy, ProxyServer::refusedConnections)
                .description("Client connections refused because --max-clients were open").register(registry);
    }

    /** Publishes the peer messages counts of the transport. */
    public void bindPeerMessages(LongSupplier sent, LongSupplier received, LongSupplier rejected) {
        keep.addAll(List.of(sent, received, rejected));
        FunctionCounter.builder("skep.peer.messages.sent", sent, LongSupplier::getAsLong)
                .description("Messages to peers (heartbeats, proposals, announcements) handed to the transport")
                .register(registry);
        FunctionCounter.builder("skep.peer.messages.received", received, LongSupplier::getAsLong)
                .description("Messages from peers accepted").register(registry);
        FunctionCounter.builder("skep.peer.messages.rejected", rejected, LongSupplier::getAsLong)
                .description("Messages from peers dropped: bad HMAC (--peer-secret), malformed, unknown version")
                .register(registry);
    }

    /**
     * The peer traffic in bytes (frames with their length fields, without TCP/IP or TLS overhead): what a hive's
     * size costs each node's network. Sent counts what was handed to the transport, as for the messages.
     */
    public void bindPeerBytes(LongSupplier sent, LongSupplier received) {
        keep.addAll(List.of(sent, received));
        FunctionCounter.builder("skep.peer.sent", sent, LongSupplier::getAsLong).baseUnit("bytes")
                .description("Bytes of the messages to peers handed to the transport").register(registry);
        FunctionCounter.builder("skep.peer.received", received, LongSupplier::getAsLong).baseUnit("bytes")
                .description("Bytes of the messages from peers accepted").register(registry);
    }

    /**
     * TLS: seconds until the certificate in use expires (negative once it has), read at each scrape so a reload
     * shows at once; {@code provider} says which implementation serves it (OPENSSL, JDK).
     */
    public void bindTls(java.util.function.Supplier<java.time.Instant> notAfter, String provider) {
        java.util.function.Supplier<Number> left = () -> java.time.Duration.between(java.time.Instant.now(),
                notAfter.get()).toSeconds();
        keep.add(left);
        Gauge.builder("skep.tls.certificate.expiry", left).baseUnit("seconds").tag("provider", provider)
                .description("Seconds until the TLS certificate in use expires").strongReference(true)
                .register(registry);
    }

    // ---- told as it happens ----

    /** An event of this node (control thread): counted by kind, and as an election by cause. */
    public void onEvent(HiveEvent e) {
        String kind = e.kind() == null || e.kind().isEmpty() ? "unknown" : e.kind();
        events.computeIfAbsent(kind, k -> Counter.builder("skep.events").tag("kind", k)
                .description("Events of this node (what /api/status lists), by kind").register(registry)).increment();
        String cause;
        synchronized (causes) {
            cause = causes.onEvent(e);
        }
        if (cause != null) {
            elections.get(cause).increment();
        }
    }

    /** The topology clients follow changed (control thread): a new epoch with a master is a new leadership. */
    public synchronized void onTopology(Topology previous, Topology next) {
        if (next.hasMaster() && next.epoch() != lastLeadership) {
            lastLeadership = next.epoch();
            leaderChanges.increment();
        }
    }

    /** A probe of the local redis took {@code nanos} (redis thread). */
    public void probed(long nanos, boolean ok) {
        probe.record(nanos, TimeUnit.NANOSECONDS);
        if (!ok) {
            probeFailures.increment();
        }
    }

    /** A proxy session stopped waiting for a master (event loop). */
    public void holdEnded(boolean readPort, long nanos, boolean served) {
        holds[holdIndex(readPort, served)].record(nanos, TimeUnit.NANOSECONDS);
    }

    /** Writes were paused for {@code pause} during a planned handover. */
    public void handoverPause(Duration pause) {
        handoverPause.record(pause);
    }

    // ---- scrape ----

    /** The metrics in the Prometheus text format (version 0.0.4); HTTP threads. */
    public synchronized String scrape() {
        refreshReplication();
        return registry.scrape();
    }

    /** The Content-Type of {@link #scrape()}. */
    public static String contentType() {
        return "text/plain; version=0.0.4; charset=utf-8";
    }

    private void refreshReplication() {
        HiveStatus s = status.get();
        List<MultiGauge.Row<?>> offsets = new ArrayList<>();
        List<MultiGauge.Row<?>> lags = new ArrayList<>();
        if (s != null) {
            for (HiveStatus.Member m : s.members()) {
                if (m.node() == null) {
                    continue;
                }
                Tags tags = Tags.of("node", m.node().toString(), "redis", m.redis() == null ? "" : m.redis().toString());
                offsets.add(MultiGauge.Row.of(tags, m.replOffset()));
                if (m.lagBytes() >= 0) {
                    lags.add(MultiGauge.Row.of(tags, m.lagBytes()));
                }
            }
        }
        // overwrite: members that left the hive disappear from the scrape
        replicationOffset.register(offsets, true);
        replicationLag.register(lags, true);
    }

    @Override
    public void close() {
        JvmGcMetrics g = gc;
        if (g != null) {
            g.close();
        }
        registry.close();
    }

    // ---- helpers ----

    private void counter(String name, String help, ProxyServer proxy, boolean read, ProxyCount what, Tags tags) {
        FunctionCounter.builder(name, proxy, p -> p.count(what, read)).tags(tags).description(help).register(registry);
    }

    private static String suffix(ProxyCount c, String prefix) {
        return c.name().substring(prefix.length()).toLowerCase(Locale.ROOT);
    }

    private static int holdIndex(boolean readPort, boolean served) {
        return (readPort ? 2 : 0) + (served ? 0 : 1);
    }

    private double value(ToDoubleFunction<HiveStatus> f) {
        HiveStatus s = status.get();
        return s == null ? Double.NaN : f.applyAsDouble(s);
    }

    private double is(java.util.function.Function<HiveStatus, String> f, String expected) {
        HiveStatus s = status.get();
        return s != null && expected.equals(f.apply(s)) ? 1 : 0;
    }

    private static String ownRole(HiveStatus s) {
        for (HiveStatus.Member m : s.members()) {
            if (m.self()) {
                return m.redisRole();
            }
        }
        return "UNKNOWN";
    }

    private static Duration[] millis(long... ms) {
        Duration[] d = new Duration[ms.length];
        for (int i = 0; i < ms.length; i++) {
            d[i] = Duration.ofMillis(ms[i]);
        }
        return d;
    }
}
