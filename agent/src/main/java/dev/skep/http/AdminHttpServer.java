package dev.skep.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.skep.status.HandoverResult;
import dev.skep.status.HiveStatus;
import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The agent's admin HTTP server, on the JDK's {@link HttpServer}:
 * <ul>
 *   <li>{@code GET /livez}: 200 {@code ok} while the process serves HTTP at all;</li>
 *   <li>{@code GET /readyz}: 200 {@code ready} when {@link HiveStatus#ready()}, else 503 with
 *       {@link HiveStatus#readyReason()};</li>
 *   <li>{@code GET /api/status}: 200, the {@link HiveStatus} as JSON ({@link StatusJson}: camelCase field
 *       names, endpoints as {@code "host:port"}, nulls as {@code null});</li>
 *   <li>{@code GET /metrics}: 200, the metrics in the Prometheus text format (when a metrics source is
 *       given; 404 otherwise);</li>
 *   <li>{@code GET /}: the live status page ({@code status.html} beside this class, served from the jar: a
 *       single file of HTML, CSS and JavaScript that polls {@code /api/status}, with nothing fetched from
 *       elsewhere).</li>
 * </ul>
 * Any other path is 404; another method than GET (or HEAD) on a known path is 405.
 *
 * <p>Threads: {@link #start()} and {@link #close()} are called by the thread that owns the node's
 * lifecycle (start/stop order). Requests are served on this server's own small pool of daemon threads
 * ({@code skep-http-N}), which call the status and metrics suppliers: they must be cheap, non-blocking and
 * thread-safe (reading a volatile/atomic reference to the immutable status the control thread last
 * published).
 */
public final class AdminHttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminHttpServer.class);
    /** Two threads: probes and an operator's curl never queue behind one slow client. */
    private static final int THREADS = 2;
    private static final long FAILOVER_WAIT_SECONDS = 120;
    /**
     * The query string with which one agent asks another's {@code /api/status} for its own figures: served as any
     * other, but not an operator's view ({@link #onStatusViewed}).
     */
    public static final String PEER_POLL_QUERY = "poll=traffic";

    private final String bindHost;
    private final int requestedPort;
    private final Supplier<HiveStatus> status;
    private final Supplier<String> metrics;
    private final byte[] page;
    private HttpServer server;
    private SSLContext tls;
    private ExecutorService executor;
    private volatile FailoverHandler failover;
    private volatile Runnable statusViewed = () -> {};

    /**
     * Starts a planned handover ({@code POST /api/failover[?to=host:port]}); called on an HTTP thread, must
     * not block: the server waits on the future (bounded) itself.
     */
    @FunctionalInterface
    public interface FailoverHandler {
        /**
         * @param to    the successor's peer address, or null for the best in-sync replica
         * @param cause for the event log
         */
        CompletableFuture<HandoverResult> failover(Endpoint to, String cause);
    }

    /** Serves {@code POST /api/failover} with {@code handler}; before {@link #start()}. Without one it is 404. */
    public void onFailover(FailoverHandler handler) {
        this.failover = handler;
    }

    /**
     * Runs {@code listener} on the HTTP thread before answering each {@code GET /api/status} that an operator sent
     * (the status page, {@code skep status}, curl), not another agent ({@link #PEER_POLL_QUERY}); may be set at any
     * time. It may block briefly: the answer waits for it.
     */
    public void onStatusViewed(Runnable listener) {
        this.statusViewed = Objects.requireNonNull(listener, "listener");
    }

    /**
     * @param bindHost local address to listen on (e.g. {@code 0.0.0.0}, {@code 127.0.0.1})
     * @param port     port to listen on; 0 picks a free one (see {@link #port()})
     * @param status   the current status, or null while there is none yet; called on HTTP threads
     */
    public AdminHttpServer(String bindHost, int port, Supplier<HiveStatus> status) {
        this(bindHost, port, status, null);
    }

    /**
     * @param metrics the Prometheus text of {@code /metrics}, or null for none; called on HTTP threads
     */
    public AdminHttpServer(String bindHost, int port, Supplier<HiveStatus> status, Supplier<String> metrics) {
        this.bindHost = Objects.requireNonNull(bindHost, "bindHost");
        this.requestedPort = port;
        this.status = Objects.requireNonNull(status, "status");
        this.metrics = metrics;
        this.page = StatusPage.html();
    }

    /** Serves HTTPS with {@code context} instead of HTTP (no client certificate asked: probes have none). Before start. */
    public synchronized AdminHttpServer withTls(SSLContext context) {
        this.tls = context;
        return this;
    }

    /** Binds and starts serving. Throws {@link IOException} when the port cannot be bound. */
    public synchronized void start() throws IOException {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        HttpServer s;
        if (tls != null) {
            HttpsServer https = HttpsServer.create(new InetSocketAddress(bindHost, requestedPort), 50);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            s = https;
        } else {
            s = HttpServer.create(new InetSocketAddress(bindHost, requestedPort), 50);
        }
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "skep-http-" + n.incrementAndGet());
            // Daemon: an HTTP request in progress must never keep a stopping agent alive.
            t.setDaemon(true);
            return t;
        });
        s.setExecutor(pool);
        s.createContext("/", this::handle);
        s.createContext("/api/failover", this::handleFailover);
        s.start();
        server = s;
        executor = pool;
        log.info("admin {} on {}:{}", tls != null ? "HTTPS" : "HTTP", bindHost, port());
    }

    /** The bound port (useful after binding port 0). */
    public synchronized int port() {
        if (server == null) {
            throw new IllegalStateException("not started");
        }
        return server.getAddress().getPort();
    }

    /** Stops listening and releases the threads; idempotent. Requests in progress are cut. */
    @Override
    public synchronized void close() {
        if (server == null) {
            return;
        }
        server.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server = null;
        executor = null;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String method = exchange.getRequestMethod();
            boolean known = path.equals("/livez") || path.equals("/readyz") || path.equals("/api/status")
                    || path.equals("/") || (path.equals("/metrics") && metrics != null);
            if (!known) {
                text(exchange, 404, "not found: " + path + " (try /, /livez, /readyz, /api/status"
                        + (metrics != null ? ", /metrics" : "") + ")\n");
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                text(exchange, 405, "method not allowed: " + method + " (expected: GET)\n");
                return;
            }
            switch (path) {
                case "/livez" -> text(exchange, 200, "ok\n");
                case "/readyz" -> readyz(exchange);
                case "/metrics" -> send(exchange, 200, "text/plain; version=0.0.4; charset=utf-8",
                        metrics.get().getBytes(StandardCharsets.UTF_8));
                case "/" -> send(exchange, 200, "text/html; charset=utf-8", page);
                default -> apiStatus(exchange);
            }
        } catch (RuntimeException e) {
            // A bug in the status supplier must not kill the HTTP thread pool; say so in the response too.
            log.warn("admin HTTP request {} failed", exchange.getRequestURI(), e);
            try {
                text(exchange, 500, "internal error: " + e + "\n");
            } catch (IOException | RuntimeException ignored) {
                // headers already sent: nothing more can be said to this client
            }
        }
    }

    private void readyz(HttpExchange exchange) throws IOException {
        HiveStatus s = status.get();
        if (s == null) {
            text(exchange, 503, "starting\n");
        } else if (s.ready()) {
            text(exchange, 200, "ready\n");
        } else {
            String reason = s.readyReason() == null || s.readyReason().isBlank() ? "not ready" : s.readyReason();
            text(exchange, 503, reason + "\n");
        }
    }

    private void apiStatus(HttpExchange exchange) throws IOException {
        if (!PEER_POLL_QUERY.equals(exchange.getRequestURI().getQuery())) {
            statusViewed.run();
        }
        HiveStatus s = status.get();
        if (s == null) {
            send(exchange, 503, "application/json", "{\"error\":\"starting\"}\n".getBytes(StandardCharsets.UTF_8));
            return;
        }
        send(exchange, 200, "application/json", StatusJson.write(s));
    }

    /**
     * {@code POST /api/failover[?to=host:port]}: hands leadership over if this node leads, and answers when it
     * is done: 200 with the outcome as JSON, or 409 with the reason (this node does not lead, no replica in
     * sync, the successor did not catch up in time).
     */
    private void handleFailover(HttpExchange exchange) throws IOException {
        try (exchange) {
            FailoverHandler handler = failover;
            if (handler == null || !exchange.getRequestURI().getPath().equals("/api/failover")) {
                text(exchange, 404, "not found: " + exchange.getRequestURI().getPath() + "\n");
                return;
            }
            if (!exchange.getRequestMethod().equals("POST")) {
                exchange.getResponseHeaders().set("Allow", "POST");
                text(exchange, 405, "method not allowed: " + exchange.getRequestMethod() + " (expected: POST)\n");
                return;
            }
            Endpoint to = null;
            String query = exchange.getRequestURI().getQuery();
            if (query != null && !query.isEmpty()) {
                if (!query.startsWith("to=")) {
                    text(exchange, 400, "unknown parameter: " + query + " (expected: to=host:port)\n");
                    return;
                }
                try {
                    to = Endpoint.parse(query.substring(3));
                } catch (IllegalArgumentException e) {
                    text(exchange, 400, "to: " + e.getMessage() + "\n");
                    return;
                }
            }
            HandoverResult r;
            try {
                r = handler.failover(to, "skep failover" + (to == null ? "" : " --to " + to))
                        .get(FAILOVER_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                text(exchange, 504, "the handover did not end within " + FAILOVER_WAIT_SECONDS + " s\n");
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                text(exchange, 503, "interrupted\n");
                return;
            } catch (ExecutionException e) {
                text(exchange, 500, "handover failed: " + e.getCause() + "\n");
                return;
            }
            send(exchange, r.ok() ? 200 : 409, "application/json", StatusJson.write(r));
        } catch (RuntimeException e) {
            log.warn("admin HTTP request {} failed", exchange.getRequestURI(), e);
        }
    }

    private static void text(HttpExchange exchange, int code, String body) throws IOException {
        send(exchange, code, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int code, String contentType, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        if (exchange.getRequestMethod().equals("HEAD")) {
            exchange.sendResponseHeaders(code, -1);
            return;
        }
        exchange.sendResponseHeaders(code, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
