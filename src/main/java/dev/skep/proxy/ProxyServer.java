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
import io.netty.util.concurrent.EventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The write port (every request to the master of the current epoch) and the read port (sessions spread over
 * healthy replicas), on the shared event loops. Follows the {@link TopologyHolder}: each change is applied on
 * every event loop, where the sessions and upstream connections of that loop live.
 *
 * <p>{@link #start} and {@link #close} may be called from any thread but the event loops.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);
    private static final byte[] MAX_CLIENTS = "-ERR max number of clients reached\r\n".getBytes(StandardCharsets.US_ASCII);

    private final EventLoops loops;
    private final ProxySettings settings;
    private final TopologyHolder topology;
    private final Map<EventLoop, LoopContext> contexts = new IdentityHashMap<>();
    private final AtomicInteger clients = new AtomicInteger();
    private final List<Channel> servers = new ArrayList<>();

    public ProxyServer(EventLoops loops, ProxySettings settings, TopologyHolder topology) {
        this.loops = loops;
        this.settings = settings;
        this.topology = topology;
        for (EventExecutor e : loops.group()) {
            EventLoop loop = (EventLoop) e;
            contexts.put(loop, new LoopContext(loop, settings, loops.channel()));
        }
    }

    /** Binds the ports and starts following the topology. @throws UncheckedIOException naming the port */
    public synchronized void start() {
        topology.addListener((previous, next) -> apply(next));
        apply(topology.current());
        bind(settings.writePort(), Port.WRITE, "--proxy-port");
        if (settings.readPort() > 0) {
            bind(settings.readPort(), Port.READ, "--read-port");
        }
    }

    private void apply(Topology next) {
        for (LoopContext c : contexts.values()) {
            c.eventLoop().execute(() -> c.onTopology(next));
        }
    }

    private void bind(int port, Port route, String flag) {
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
                            ch.writeAndFlush(Unpooled.wrappedBuffer(MAX_CLIENTS)).addListener(ChannelFutureListener.CLOSE);
                            return;
                        }
                        ch.closeFuture().addListener(f -> clients.decrementAndGet());
                        ch.pipeline().addLast(new ClientSession(contexts.get(ch.eventLoop()), route));
                    }
                });
        ChannelFuture f = b.bind(settings.bindHost(), port).awaitUninterruptibly();
        if (!f.isSuccess()) {
            throw new UncheckedIOException(flag + " " + settings.bindHost() + ":" + port + ": " + f.cause().getMessage(),
                    f.cause() instanceof IOException io ? io : new IOException(f.cause()));
        }
        servers.add(f.channel());
        log.info("{} port listening on {}", route == Port.WRITE ? "write" : "read", f.channel().localAddress());
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

    /** Client connections open now, on both ports. */
    public int clients() {
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
