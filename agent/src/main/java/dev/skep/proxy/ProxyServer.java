package dev.skep.proxy;

import dev.skep.netty.EventLoops;
import dev.skep.proxy.Upstream.Port;
import dev.skep.topology.Topology;
import dev.skep.topology.TopologyHolder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.EventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The write port (every request to the master of the current epoch) and the read port (sessions spread over
 * healthy replicas), on the shared event loops. Follows the {@link TopologyHolder}: each change is applied on
 * every event loop, where the sessions and upstream connections of that loop live.
 *
 * <p>{@link #start} and {@link #close} may be called from any thread but the event loops. The counts
 * ({@link #count}, {@link #clients}, {@link #refusedConnections}) may be read from any thread; they are
 * kept per event loop, so counting costs the data path no synchronization.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);
    private static final byte[] MAX_CLIENTS = "-ERR max number of clients reached\r\n".getBytes(StandardCharsets.US_ASCII);

    private final EventLoops loops;
    private final ProxySettings settings;
    private final TopologyHolder topology;
    private final Map<EventLoop, LoopContext> contexts = new IdentityHashMap<>();
    /** A master found demoted before its topology changed, shared by every loop (LoopContext#masterDemoted). */
    private final java.util.concurrent.atomic.AtomicReference<LoopContext.Demotion> demotion =
            new java.util.concurrent.atomic.AtomicReference<>();
    private final AtomicInteger clients = new AtomicInteger();
    private final AtomicInteger[] clientsPerPort = {new AtomicInteger(), new AtomicInteger()};
    private final LongAdder refused = new LongAdder();
    private final List<Channel> servers = new ArrayList<>();
    private final ProxyTls tls;
    private final HivePassword password;
    private volatile int tlsWrite;
    private volatile int tlsRead;

    /**
     * Told of proxy events that need more than a count. Called on the event loops: implementations must be
     * thread-safe, cheap and never block.
     */
    public interface Observer {
        Observer NONE = (readPort, nanos, served) -> {};

        /**
         * A session stopped waiting for a master after {@code nanos}: it got one ({@code served}), or its
         * request was answered {@code -MASTERDOWN}.
         */
        void holdEnded(boolean readPort, long nanos, boolean served);
    }

    public ProxyServer(EventLoops loops, ProxySettings settings, TopologyHolder topology) {
        this(loops, settings, topology, Observer.NONE);
    }

    public ProxyServer(EventLoops loops, ProxySettings settings, TopologyHolder topology, Observer observer) {
        this(loops, settings, topology, observer, ProxyTls.OFF);
    }

    public ProxyServer(EventLoops loops, ProxySettings settings, TopologyHolder topology, Observer observer,
            ProxyTls tls) {
        this.loops = loops;
        this.settings = settings;
        this.tls = tls;
        this.password = new HivePassword(settings.upstreamPassword());
        this.topology = topology;
        int n = 0;
        for (EventExecutor e : loops.group()) {
            n++;
        }
        // sessions are spread evenly over the loops, so each loop gets an equal share of the bound on held bytes:
        // each enforces its own without asking the others
        long perLoop = Math.max(1, settings.heldLimit() / Math.max(1, n));
        for (EventExecutor e : loops.group()) {
            EventLoop loop = (EventLoop) e;
            LoopContext context = new LoopContext(loop, settings, loops.channel(), tls.upstream(), observer, perLoop,
                    demotion, password);
            contexts.put(loop, context);
            loops.expecting(loop, context::expectingReplies);
        }
    }

    /** Binds the ports and starts following the topology. @throws UncheckedIOException naming the port */
    public synchronized void start() {
        topology.addListener((previous, next) -> apply(next));
        apply(topology.current());
        bind(settings.writePort(), Port.WRITE, "--proxy-port", null);
        if (settings.readPort() > 0) {
            bind(settings.readPort(), Port.READ, "--read-port", null);
        }
        if (tls.writePort() > 0) {
            tlsWrite = bind(tls.writePort(), Port.WRITE, "--tls-proxy-port", tls.clients());
        }
        if (tls.readPort() > 0) {
            tlsRead = bind(tls.readPort(), Port.READ, "--tls-read-port", tls.clients());
        }
        log.info("replies held for clients that do not read them: at most {} KiB per client, {} KiB in all",
                settings.clientHeldLimit() / 1024, settings.heldLimit() / 1024);
    }

    private void apply(Topology next) {
        for (LoopContext c : contexts.values()) {
            c.eventLoop().execute(() -> c.onTopology(next));
        }
    }

    /** Binds a client port; over TLS when {@code tls} is given. Returns the bound port. */
    private int bind(int port, Port route, String flag, java.util.function.Supplier<SslContext> tls) {
        ServerBootstrap b = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (clients.incrementAndGet() > settings.maxClients()) {
                            clients.decrementAndGet();
                            refused.increment();
                            ch.writeAndFlush(Unpooled.wrappedBuffer(MAX_CLIENTS)).addListener(ChannelFutureListener.CLOSE);
                            return;
                        }
                        AtomicInteger onPort = clientsPerPort[route.ordinal()];
                        onPort.incrementAndGet();
                        ch.closeFuture().addListener(f -> {
                            clients.decrementAndGet();
                            onPort.decrementAndGet();
                        });
                        LoopContext context = contexts.get(ch.eventLoop());
                        context.counters.increment(route, ProxyCount.CONNECTIONS);
                        if (tls != null) {
                            ch.pipeline().addLast(tls.get().newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new ClientSession(context, route));
                    }
                });
        ChannelFuture f = b.bind(settings.bindHost(), port).awaitUninterruptibly();
        if (!f.isSuccess()) {
            throw new UncheckedIOException(flag + " " + settings.bindHost() + ":" + port + ": " + f.cause().getMessage(),
                    f.cause() instanceof IOException io ? io : new IOException(f.cause()));
        }
        servers.add(f.channel());
        log.info("{}{} port listening on {}", tls != null ? "TLS " : "", route == Port.WRITE ? "write" : "read",
                f.channel().localAddress());
        return ((InetSocketAddress) f.channel().localAddress()).getPort();
    }

    /** The hive password the proxy uses and accepts (a rotation changes it). */
    public HivePassword password() {
        return password;
    }

    /** The bound TLS write port (tests bind 0); 0 when there is none. */
    public int tlsWritePort() {
        return tlsWrite;
    }

    /** The bound TLS read port; 0 when there is none. */
    public int tlsReadPort() {
        return tlsRead;
    }

    /** The bound port of the write port (tests bind 0). */
    public int writePort() {
        return ((InetSocketAddress) servers.get(0).localAddress()).getPort();
    }

    /** The lowest epoch that every event loop has applied: sessions created after it see that topology. */
    public long appliedEpoch() {
        long min = Long.MAX_VALUE;
        for (LoopContext c : contexts.values()) {
            min = Math.min(min, c.appliedEpoch);
        }
        return min;
    }

    /**
     * Requests sent upstream and not yet answered, over every loop (what decides whether a loop polls for
     * replies): read on each loop in turn, so a consistent figure only when traffic has stopped. For tests.
     */
    int inFlight() {
        int sum = 0;
        for (LoopContext c : contexts.values()) {
            sum += c.eventLoop().submit(() -> c.inFlight).syncUninterruptibly().getNow();
        }
        return sum;
    }

    /**
     * Bytes of replies the proxy holds for clients that have not taken them yet (both ports), as last observed
     * on each event loop; kept under {@link ProxySettings#heldLimit}. Any thread.
     */
    public long heldBytes() {
        long sum = 0;
        for (LoopContext c : contexts.values()) {
            sum += c.heldBytes();
        }
        return sum;
    }

    /** The bound on {@link #heldBytes()}. */
    public long heldLimit() {
        return settings.heldLimit();
    }

    /** Client connections open now, on both ports. */
    public int clients() {
        return clients.get();
    }

    /** Client connections open now on the read port ({@code readPort}) or the write port. */
    public int clients(boolean readPort) {
        return clientsPerPort[readPort ? Port.READ.ordinal() : Port.WRITE.ordinal()].get();
    }

    /** Connections refused since start because {@code --max-clients} were open. */
    public long refusedConnections() {
        return refused.sum();
    }

    /** A count since start, on the read port ({@code readPort}) or the write port. */
    public long count(ProxyCount what, boolean readPort) {
        Port port = readPort ? Port.READ : Port.WRITE;
        long sum = 0;
        for (LoopContext c : contexts.values()) {
            sum += c.counters.get(port, what);
        }
        return sum;
    }

    /** Requests forwarded or answered, both ports, since start: what ops/s is measured from. */
    public long commands() {
        long sum = 0;
        for (boolean read : new boolean[] {false, true}) {
            sum += count(ProxyCount.COMMANDS_SHARED, read) + count(ProxyCount.COMMANDS_DEDICATED, read)
                    + count(ProxyCount.COMMANDS_LOCAL, read);
        }
        return sum;
    }

    /**
     * Stops accepting, then closes each client connection once it has nothing outstanding (every request
     * answered), waiting at most {@code within}; what is still open then is closed by {@link #close()}.
     * For a stopping agent whose clients' requests keep being served (by the new master) meanwhile.
     * Returns the connections still open at the end.
     */
    public synchronized int drain(Duration within) {
        for (Channel s : servers) {
            s.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        servers.clear();
        for (LoopContext c : contexts.values()) {
            if (!c.eventLoop().isShuttingDown()) {
                c.eventLoop().execute(c::drainSessions);
            }
        }
        long deadline = System.nanoTime() + within.toNanos();
        while (clients.get() > 0 && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        return clients.get();
    }

    /** Stops listening and closes every client and upstream connection. */
    @Override
    public synchronized void close() {
        for (Channel s : servers) {
            s.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        servers.clear();
        for (LoopContext c : contexts.values()) {
            if (!c.eventLoop().isShuttingDown()) {
                c.eventLoop().submit(c::closeAll).awaitUninterruptibly(2, TimeUnit.SECONDS);
            }
        }
    }
}
