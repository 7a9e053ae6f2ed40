package dev.skep.sentinel;

import dev.skep.netty.EventLoops;
import dev.skep.resp.RequestDecoder;
import dev.skep.status.HiveStatus;
import dev.skep.topology.Endpoint;
import dev.skep.topology.TopologyHolder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The Sentinel-compatible endpoint: a RESP server on {@code --sentinel-port} that answers Sentinel-aware
 * clients (Jedis {@code JedisSentinelPool}, Lettuce {@code redis-sentinel://}, redis-py {@code Sentinel},
 * ioredis) as a Redis Sentinel 7 monitoring {@code --master-name} would, and publishes
 * {@code +switch-master} when the hive's master changes. Decisions are in {@link SentinelTracker} (what to
 * tell) and {@link SentinelCommands} (how to say it); this class is the Netty shell.
 *
 * <p><b>Threads.</b> Client connections live on the event loops of the {@link EventLoops} passed in (not
 * closed by this server). One of those loops, chosen at start, owns the {@link SentinelView}: it rebuilds it
 * from the {@link TopologyHolder} and the {@link HiveStatus} when the topology changes (the holder's
 * listener, called on the election's control thread, only hands the work over) and every
 * {@code refreshMs}, publishes it through a volatile field that the client loops read, and hands the events
 * to each subscriber's own loop. {@link #start} and {@link #close} may be called from any thread but the
 * event loops.
 */
public final class SentinelServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SentinelServer.class);

    private final EventLoops loops;
    private final String bindHost;
    private final int bindPort;
    private final long refreshMs;
    private final TopologyHolder topology;
    private final Supplier<HiveStatus> status;
    private final LongSupplier clock;
    private final SentinelSettings settings;
    private final SentinelCommands commands;
    private final Set<SentinelHandler> clients = ConcurrentHashMap.newKeySet();
    private final AtomicLong nextClientId = new AtomicLong();

    private volatile SentinelView view = SentinelView.NONE;
    private volatile Channel serverChannel;
    private volatile Channel tlsChannel;
    private int tlsPort = -1;
    private Supplier<SslContext> tls;
    private int redisTlsPort;
    /** What TLS clients are told: {@link #view} with the redis TLS ports. */
    private volatile SentinelView tlsView = SentinelView.NONE;
    private volatile boolean closed;
    /** The event loop that owns the view; set once by {@link #start}. */
    private volatile EventLoop owner;
    private volatile ScheduledFuture<?> refresher;

    /**
     * @param loops     event loops to run on (shared; not closed by this server)
     * @param bindHost  address to listen on
     * @param bindPort  port to listen on; 0 picks a free one (see {@link #localAddress()})
     * @param settings  master name, id and what INFO reports
     * @param refreshMs how often the view is rebuilt besides topology changes (replica health, a leader heard
     *                  of while this node has none): the agent's heartbeat
     * @param topology  this node's topology (listened to)
     * @param status    this node's view of the hive, read at each rebuild
     * @param clock     wall clock in milliseconds
     */
    public SentinelServer(EventLoops loops, String bindHost, int bindPort, SentinelSettings settings, long refreshMs,
                          TopologyHolder topology, Supplier<HiveStatus> status, LongSupplier clock) {
        this.loops = Objects.requireNonNull(loops, "loops");
        this.bindHost = Objects.requireNonNull(bindHost, "bindHost");
        if (bindPort < 0 || bindPort > 65535) {
            throw new IllegalArgumentException("sentinel port: " + bindPort + " (expected: 0..65535)");
        }
        if (refreshMs < 1) {
            throw new IllegalArgumentException("refreshMs: " + refreshMs + " (expected: at least 1)");
        }
        this.bindPort = bindPort;
        this.settings = Objects.requireNonNull(settings, "settings");
        this.refreshMs = refreshMs;
        this.topology = Objects.requireNonNull(topology, "topology");
        this.status = Objects.requireNonNull(status, "status");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.commands = new SentinelCommands(settings);
    }

    /**
     * Builds the first view, binds the port (waiting for the bind) and starts following the topology.
     *
     * @throws UncheckedIOException when the port cannot be bound
     */
    public synchronized SentinelServer start() {
        if (closed) {
            throw new IllegalStateException("sentinel endpoint closed");
        }
        if (serverChannel != null) {
            return this;
        }
        owner = loops.group().next();
        try {
            // the first view before the port opens: a client's first question gets a real answer
            owner.submit(this::refresh).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("building the first Sentinel view failed", e);
        }
        serverChannel = bind(bindPort, null, "sentinel port");
        if (tlsPort >= 0 && tls != null) {
            tlsChannel = bind(tlsPort, tls, "--tls-sentinel-port");
        }
        topology.addListener((previous, next) -> onOwner(this::refresh));
        refresher = owner.scheduleAtFixedRate(this::refresh, refreshMs, refreshMs, TimeUnit.MILLISECONDS);
        log.info("Sentinel-compatible endpoint listening on {}{} for master name {} (id {})", localAddress(),
                tlsChannel == null ? "" : " and over TLS on " + tlsChannel.localAddress(), settings.masterName(),
                settings.myId());
        return this;
    }

    /**
     * Serves the endpoint over TLS as well, on {@code port} (0: a free one), with the context {@code tls} gives at
     * each connection. Before {@link #start()}.
     */
    public SentinelServer withTls(int port, Supplier<SslContext> context) {
        return withTls(port, context, 0);
    }

    /**
     * As {@link #withTls(int, Supplier)}; clients of the TLS port are given {@code redisTlsPort} as every redis's
     * port (the hive knows their plain ports; every redis listens for TLS on that one too). 0: the addresses as the
     * hive knows them (with --tls-redis those are the TLS ports already).
     */
    public SentinelServer withTls(int port, Supplier<SslContext> context, int redisTlsPort) {
        this.tlsPort = port;
        this.tls = context;
        this.redisTlsPort = redisTlsPort;
        return this;
    }

    /** The bound TLS address, or null when there is none. */
    public InetSocketAddress tlsAddress() {
        Channel ch = tlsChannel;
        return ch == null ? null : (InetSocketAddress) ch.localAddress();
    }

    private Channel bind(int port, Supplier<SslContext> context, String what) {
        ServerBootstrap server = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (context != null) {
                            ch.pipeline().addLast(context.get().newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new RequestDecoder(SentinelHandler.LIMITS),
                                new SentinelHandler(SentinelServer.this, nextClientId.incrementAndGet(),
                                        context != null));
                    }
                });
        ChannelFuture bind = server.bind(bindHost, port).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            Throwable cause = bind.cause();
            throw new UncheckedIOException(what + " " + bindHost + ":" + port + ": " + cause.getMessage(),
                    cause instanceof IOException io ? io : new IOException(cause));
        }
        return bind.channel();
    }

    /** The bound address, or null before {@link #start()}. */
    public InetSocketAddress localAddress() {
        Channel ch = serverChannel;
        return ch == null ? null : (InetSocketAddress) ch.localAddress();
    }

    /** The view clients are answered from now. */
    public SentinelView view() {
        return view;
    }

    // ---- owner loop ----

    private void refresh() {
        if (closed) {
            return;
        }
        try {
            SentinelTracker.Result result = SentinelTracker.next(settings.masterName(), view, topology.current(),
                    status.get(), clock.getAsLong());
            view = result.view();
            if (!result.events().isEmpty()) {
                log.info("Sentinel events: {}", result.events());
            }
            SentinelView tlsNext = redisTlsPort == 0 ? view
                    : view.withAddresses(a -> new Endpoint(a.host(), redisTlsPort));
            List<SentinelEvent> tlsEvents = redisTlsPort == 0 ? result.events()
                    : SentinelTracker.events(settings.masterName(), tlsView, tlsNext);
            tlsView = tlsNext;
            publish(result.events(), tlsEvents);
        } catch (RuntimeException e) {
            // a periodic task that throws is never run again: log and keep the previous view
            log.error("rebuilding the Sentinel view failed (keeping the previous one)", e);
        }
    }

    private void publish(List<SentinelEvent> plainEvents, List<SentinelEvent> tlsEvents) {
        for (SentinelHandler client : clients) {
            List<SentinelEvent> events = client.tls ? tlsEvents : plainEvents;
            if (events.isEmpty()) {
                continue;
            }
            EventExecutor executor = client.executor();
            if (executor != null) {
                try {
                    executor.execute(() -> client.deliver(events));
                } catch (RejectedExecutionException e) {
                    // shutting down
                }
            }
        }
    }

    private void onOwner(Runnable task) {
        EventLoop loop = owner;
        if (closed || loop == null) {
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            // the event loops are shutting down; the listener stays registered on the holder but does nothing
        }
    }

    // ---- client loops ----

    SentinelCommands commands() {
        return commands;
    }

    SentinelCommands.Context context(boolean tls) {
        return new SentinelCommands.Context(tls ? tlsView : view, clock.getAsLong(), clients.size());
    }

    void connected(SentinelHandler client) {
        clients.add(client);
    }

    void disconnected(SentinelHandler client) {
        clients.remove(client);
    }

    /** Stops listening and closes every client connection, waiting a bounded time. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (refresher != null) {
            refresher.cancel(false);
        }
        for (Channel server : new Channel[] {serverChannel, tlsChannel}) {
            if (server != null) {
                server.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
            }
        }
        for (SentinelHandler client : clients) {
            EventExecutor executor = client.executor();
            if (executor != null) {
                try {
                    executor.execute(client::close);
                } catch (RejectedExecutionException e) {
                    // already shutting down: the loop closes its channels
                }
            }
        }
    }

    @Override
    public String toString() {
        InetSocketAddress local = localAddress();
        return "SentinelServer[" + (local != null ? local : bindHost + ":" + bindPort) + "]";
    }
}
