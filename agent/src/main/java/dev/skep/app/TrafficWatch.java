package dev.skep.app;

import dev.skep.http.AdminHttpServer;
import dev.skep.http.StatusJson;
import dev.skep.status.HiveStatus;
import dev.skep.status.HiveStatus.Traffic;
import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Each member's proxy traffic (client connections, commands per second) for the status page and
 * {@code skep status}: this node's measured from its own proxy every second, the others' read from their
 * {@code /api/status} (the row each tells about itself) over their admin HTTP port, with a short timeout. Peer
 * messages stay as they are: traffic is for operators, not for the election.
 *
 * <p>The peers are asked only while someone looks: every second for {@value #WATCHED_MS} ms after an operator's
 * {@code /api/status} ({@link #viewed}), never otherwise. An idle hive's agents thus make no HTTP requests to each
 * other (polling every peer every second cost each agent about 1 % of a core with three nodes, and grew with the
 * square of the hive's size: N-1 peers, each answering with N rows); the first view after a quiet spell waits for
 * the peers' answers, at most {@link #TIMEOUT_MS} ms in all (the liveness probes share the HTTP threads), so that a
 * one-off {@code skep status} shows them. A
 * peer's own poll ({@link AdminHttpServer#PEER_POLL_QUERY}) is not a view, or two agents would keep each other polling.
 *
 * <p>Threads: sampling and polling run on a thread of its own ({@code skep-traffic}), with plain blocking sockets;
 * {@link #decorate} and {@link #viewed} are called on HTTP threads. A peer that does not answer costs one timed-out
 * request per second while watched and shows as unknown.
 */
final class TrafficWatch implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TrafficWatch.class);
    private static final long PERIOD_MS = 1000;
    private static final int TIMEOUT_MS = 800;
    /** How long after an operator's last view the peers are still asked. */
    static final long WATCHED_MS = 30_000;
    /** A peer's figures older than this are shown as unknown. */
    private static final long STALE_MS = 5000;
    /** The most of a peer's answer read: a hive's status is a few KiB. */
    private static final int MAX_ANSWER = 1 << 20;

    private record Heard(Traffic traffic, long atMillis) {}

    private final IntSupplier clients;
    private final LongSupplier commands;
    private final Supplier<HiveStatus> status;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "skep-traffic");
        t.setDaemon(true);
        return t;
    });
    private final Map<Endpoint, Heard> peers = new ConcurrentHashMap<>();
    private volatile Traffic own = new Traffic(0, 0);
    /** When an operator last looked ({@link System#nanoTime}); 0: never. */
    private volatile long viewedAtNanos;
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

    /**
     * An operator asked for this node's status: the peers are asked every second from now on for
     * {@value #WATCHED_MS} ms. When they were not being asked, waits (on the calling HTTP thread, at most
     * {@value #TIMEOUT_MS} ms) for one round of answers first, so that this very view shows them.
     */
    void viewed() {
        long now = System.nanoTime();
        boolean quiet = !watched(now);
        viewedAtNanos = now == 0 ? 1 : now;
        if (!quiet) {
            return;
        }
        try {
            Future<?> round = thread.submit(this::pollPeersQuietly);
            round.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException | ExecutionException | TimeoutException e) {
            // closing, or a slow peer: this view shows what is known, the next ones the rest
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean watched(long nowNanos) {
        long at = viewedAtNanos;
        return at != 0 && nowNanos - at < TimeUnit.MILLISECONDS.toNanos(WATCHED_MS);
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
            if (watched(System.nanoTime())) {
                pollPeers();
            }
        } catch (RuntimeException e) {
            // a periodic task that throws is never run again
            log.warn("traffic sampling failed (continuing)", e);
        }
    }

    private void pollPeersQuietly() {
        try {
            pollPeers();
        } catch (RuntimeException e) {
            log.warn("traffic polling failed (continuing)", e);
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
            try {
                String body = get(new Endpoint(node.host(), m.httpPort()), "/api/status?" + AdminHttpServer.PEER_POLL_QUERY);
                Traffic t = StatusJson.selfTraffic(body);
                if (t != null) {
                    peers.put(node, new Heard(t, System.currentTimeMillis()));
                }
            } catch (IOException | RuntimeException e) {
                log.debug("traffic of {} unknown: {}", node, e.toString()); // shown as unknown once stale
            }
        }
    }

    /**
     * The body of {@code GET path} from {@code at}'s admin HTTP port over plain HTTP/1.0 (one request, then the
     * server closes): a blocking socket on this thread, rather than an HTTP client's threads and TLS set-up for one
     * small answer a second.
     */
    private static String get(Endpoint at, String path) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(at.host(), at.port()), TIMEOUT_MS);
            socket.setSoTimeout(TIMEOUT_MS);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.0\r\nHost: " + at + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                answer.write(buf, 0, n);
                if (answer.size() > MAX_ANSWER) {
                    throw new IOException("answer over " + MAX_ANSWER + " bytes");
                }
            }
            String text = answer.toString(StandardCharsets.UTF_8);
            int bodyAt = text.indexOf("\r\n\r\n");
            if (!text.startsWith("HTTP/1.") || text.indexOf(' ') < 0 || bodyAt < 0) {
                throw new IOException("not an HTTP answer");
            }
            String code = text.substring(text.indexOf(' ') + 1, Math.min(text.length(), text.indexOf(' ') + 4));
            if (!code.equals("200")) {
                throw new IOException("HTTP " + code);
            }
            return text.substring(bodyAt + 4);
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
