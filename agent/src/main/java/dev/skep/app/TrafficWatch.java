package dev.skep.app;

import dev.skep.http.StatusJson;
import dev.skep.status.HiveStatus;
import dev.skep.status.HiveStatus.Traffic;
import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Each member's proxy traffic (client connections, commands per second) for the status page and
 * {@code skep status}: this node's measured from its own proxy every second, the others' read from their
 * {@code /api/status} (the row each tells about itself) over their admin HTTP port, every second, with a
 * short timeout. Peer messages stay as they are: traffic is for operators, not for the election.
 *
 * <p>Threads: sampling and polling run on a thread of its own ({@code skep-traffic}) and the HTTP client's;
 * {@link #decorate} is called on HTTP threads. A peer that does not answer costs one timed-out request
 * per second and shows as unknown.
 */
final class TrafficWatch implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TrafficWatch.class);
    private static final long PERIOD_MS = 1000;
    private static final Duration TIMEOUT = Duration.ofMillis(800);
    /** A peer's figures older than this are shown as unknown. */
    private static final long STALE_MS = 5000;

    private record Heard(Traffic traffic, long atMillis) {}

    private final IntSupplier clients;
    private final LongSupplier commands;
    private final Supplier<HiveStatus> status;
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .build();
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "skep-traffic");
        t.setDaemon(true);
        return t;
    });
    private final Map<Endpoint, Heard> peers = new ConcurrentHashMap<>();
    private volatile Traffic own = new Traffic(0, 0);
    // skep-traffic thread only
    private long lastCommands = -1;
    private long lastSampleNanos;

    /**
     * @param clients  client connections open on this node's proxy now
     * @param commands requests through this node's proxy since start
     * @param status   this node's latest status (who the members are and their admin ports), or null
     */
    TrafficWatch(IntSupplier clients, LongSupplier commands, Supplier<HiveStatus> status) {
        this.clients = clients;
        this.commands = commands;
        this.status = status;
    }

    void start() {
        thread.scheduleAtFixedRate(this::round, 0, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    /** {@code s} with each member's traffic as last known (unknown ones left null). */
    HiveStatus decorate(HiveStatus s) {
        if (s == null) {
            return null;
        }
        long now = System.currentTimeMillis();
        return s.withTraffic(m -> {
            if (m.self()) {
                return own;
            }
            Heard h = peers.get(m.node());
            return h == null || now - h.atMillis() > STALE_MS ? null : h.traffic();
        });
    }

    private void round() {
        try {
            sampleOwn();
            pollPeers();
        } catch (RuntimeException e) {
            // a periodic task that throws is never run again
            log.warn("traffic sampling failed (continuing)", e);
        }
    }

    private void sampleOwn() {
        long n = commands.getAsLong();
        long t = System.nanoTime();
        double rate = 0;
        if (lastCommands >= 0 && t > lastSampleNanos) {
            rate = (n - lastCommands) * 1e9 / (t - lastSampleNanos);
        }
        lastCommands = n;
        lastSampleNanos = t;
        own = new Traffic(clients.getAsInt(), Math.round(rate * 10) / 10.0);
    }

    private void pollPeers() {
        HiveStatus s = status.get();
        if (s == null) {
            return;
        }
        for (HiveStatus.Member m : s.members()) {
            if (m.self() || !m.alive() || m.node() == null || m.httpPort() <= 0) {
                continue;
            }
            Endpoint node = m.node();
            URI uri = URI.create("http://" + new Endpoint(node.host(), m.httpPort()) + "/api/status");
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET().build();
            http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).whenComplete((response, error) -> {
                if (error != null || response.statusCode() != 200) {
                    return; // shown as unknown once stale
                }
                try {
                    for (HiveStatus.Member r : StatusJson.read(response.body()).members()) {
                        if (r.self() && r.clients() != null && r.opsPerSec() != null) {
                            peers.put(node, new Heard(new Traffic(r.clients(), r.opsPerSec()),
                                    System.currentTimeMillis()));
                        }
                    }
                } catch (RuntimeException e) {
                    log.debug("traffic of {} unreadable: {}", node, e.toString());
                }
            });
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
