package dev.skep.peer;

import dev.skep.election.NodeStatus;
import dev.skep.election.PeerMessage;
import dev.skep.netty.EventLoops;
import dev.skep.netty.OffLoopResolverGroup;
import dev.skep.topology.Endpoint;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The peer port: receives {@link PeerMessage}s from other nodes and sends them ours, over TCP.
 *
 * <p><b>Framing.</b> Each message is a 4-byte big-endian length, then a {@link PeerCodec} frame of that
 * many bytes (at most {@link PeerCodec#MAX_FRAME_BYTES}). Connections are one-way: a node sends on its own
 * outbound connection to a peer and receives on the connections its peers opened to it.
 *
 * <p><b>Receiving.</b> Every frame is decoded with the local secret. A good message goes to
 * {@link PeerListener#onMessage}; a rejected one (bad HMAC, unknown version...) is counted in
 * {@link #rejectedCount()} and reported to {@link PeerListener#onRejected}, and the connection stays open since
 * its framing is intact. A connection whose framing breaks (a length over the maximum, or bytes that do
 * not start with the Skep magic) is counted, reported and closed: only that connection, the others
 * carry on.
 *
 * <p><b>Sending.</b> {@link #send} never blocks and never throws for network reasons: the message is
 * encoded on the caller's thread and handed to the event loop that owns that peer's connection. There is
 * at most one outbound connection per peer, opened lazily. While it is not ready (connecting, or its
 * socket buffer full because the peer does not read) only the latest message for that peer is kept, and
 * written as soon as the connection can take it: messages are full, periodic states, so an older one is
 * worthless once a newer exists, and a dead peer costs one small buffer, never a growing queue. A failed
 * or closed connection is opened again by the next {@code send} to that peer. Each peer's state is
 * confined to one event loop, and host names are resolved off the event loops, so one dead or slow peer
 * does not delay the others.
 *
 * <p><b>Threads.</b> {@link #send}, {@link #retainPeers}, {@link #rejectedCount} and {@link #close} may be
 * called from any thread (in Skep: the election control thread). The {@link PeerListener} is called on a Netty
 * event loop. The event loops are borrowed from the {@link EventLoops} passed in, which the caller closes
 * after this transport.
 */
public final class PeerTransport implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerTransport.class);

    /** Length field of the framing. */
    private static final int LENGTH_BYTES = 4;

    private final EventLoops loops;
    private final String bindHost;
    private final int bindPort;
    private final byte[] secret;
    private final PeerListener listener;
    private final int connectTimeoutMillis;

    private final Map<Endpoint, PeerLink> peers = new ConcurrentHashMap<>();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder received = new LongAdder();
    private final LongAdder sent = new LongAdder();
    /** Bytes of the frames counted in {@link #sent} and {@link #received}, length fields included. */
    private final LongAdder sentBytes = new LongAdder();
    private final LongAdder receivedBytes = new LongAdder();
    private final ChannelGroup inbound = new DefaultChannelGroup("skep-peer-inbound", GlobalEventExecutor.INSTANCE);
    private final ExecutorService lookups;
    private final Bootstrap clientBootstrap;
    private volatile Channel serverChannel;
    private volatile Supplier<SslContext> serverTls;
    private volatile Supplier<SslContext> clientTls;
    private volatile boolean acceptPlain;
    private volatile boolean closed;

    /**
     * @param loops          event loops to run on (shared; not closed by this transport)
     * @param bindHost       address to listen on (e.g. {@code 0.0.0.0}, or {@code 127.0.0.1} in tests)
     * @param bindPort       peer port; 0 picks a free one (see {@link #localAddress()})
     * @param secret         {@code --peer-secret} as bytes, or null/empty for none (see {@link PeerCodec})
     * @param connectTimeout bound of one outbound connection attempt
     * @param listener       receiver of messages and rejections, called on the event loop
     */
    public PeerTransport(EventLoops loops, String bindHost, int bindPort, byte[] secret, Duration connectTimeout,
            PeerListener listener) {
        this.loops = Objects.requireNonNull(loops, "loops");
        this.bindHost = Objects.requireNonNull(bindHost, "bindHost");
        if (bindPort < 0 || bindPort > 65535) {
            throw new IllegalArgumentException("peer port: " + bindPort + " (expected: 0..65535)");
        }
        this.bindPort = bindPort;
        this.secret = secret == null ? null : secret.clone();
        this.connectTimeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
        this.listener = Objects.requireNonNull(listener, "listener");
        this.lookups = newLookupPool();
        this.clientBootstrap = new Bootstrap()
                .channel(loops.channel())
                .resolver(new OffLoopResolverGroup(lookups))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                // a peer that stops reading fills at most this much before we keep only the latest message
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(8 * 1024, 32 * 1024));
    }

    /**
     * Speaks TLS on the peer port and to peers, with the contexts given at each connection (they may have been
     * reloaded): {@code server} asks peers for a certificate the CA signed, {@code client} presents this agent's.
     * Before {@link #start()}.
     */
    public PeerTransport withTls(Supplier<SslContext> server, Supplier<SslContext> client) {
        return withTls(server, client, false);
    }

    /**
     * As {@link #withTls(Supplier, Supplier)}, for a hive moving to TLS one agent at a time: {@code client} null
     * sends plain; {@code acceptPlain} lets the peer port take plain connections besides TLS ones (told apart by
     * their first bytes), so that agents not moved yet are still heard.
     */
    public PeerTransport withTls(Supplier<SslContext> server, Supplier<SslContext> client, boolean acceptPlain) {
        this.serverTls = Objects.requireNonNull(server, "server");
        this.clientTls = client;
        this.acceptPlain = acceptPlain;
        return this;
    }

    /**
     * Binds the peer port, waiting for the bind.
     *
     * @throws UncheckedIOException when the port cannot be bound (in use, address not local)
     */
    public synchronized PeerTransport start() {
        if (closed) {
            throw new IllegalStateException("peer transport closed");
        }
        if (serverChannel != null) {
            return this;
        }
        ServerBootstrap server = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.serverChannel())
                // restart on the same port at once, without waiting for TIME_WAIT sockets to expire
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        inbound.add(ch);
                        if (serverTls != null) {
                            ch.pipeline().addLast(acceptPlain ? new OptionalSslHandler(serverTls.get())
                                    : serverTls.get().newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(
                                new LengthFieldBasedFrameDecoder(
                                        LENGTH_BYTES + PeerCodec.MAX_FRAME_BYTES, 0, LENGTH_BYTES, 0, LENGTH_BYTES,
                                        true),
                                new InboundHandler());
                    }
                });
        ChannelFuture bind = server.bind(bindHost, bindPort).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            Throwable cause = bind.cause();
            throw new UncheckedIOException("peer port " + bindHost + ":" + bindPort + ": " + cause.getMessage(),
                    cause instanceof IOException io ? io : new IOException(cause));
        }
        serverChannel = bind.channel();
        log.info("peer port listening on {} ({})", localAddress(), loops.transport().flag());
        return this;
    }

    /** The bound address of the peer port, or null before {@link #start()}. */
    public InetSocketAddress localAddress() {
        Channel ch = serverChannel;
        return ch == null ? null : (InetSocketAddress) ch.localAddress();
    }

    /**
     * Sends a message to a peer, asynchronously and at most once. Never blocks; returns at once. Delivery is
     * not confirmed: a message may be lost (peer down, connection broken, replaced by a newer one while not
     * connected). Ignored after {@link #close()}.
     *
     * @throws IllegalArgumentException when the message cannot be encoded (a bug of the caller, see
     *                                  {@link PeerCodec#encode})
     */
    public void send(Endpoint to, PeerMessage msg) {
        Objects.requireNonNull(to, "to");
        byte[] frame = PeerCodec.encode(msg, secret);
        if (closed) {
            return;
        }
        PeerLink peer = peers.computeIfAbsent(to, e -> new PeerLink(e, loops.group().next(), this::connect,
                () -> closed));
        sent.increment();
        sentBytes.add(LENGTH_BYTES + frame.length);
        peer.loop.execute(() -> peer.offer(frame));
    }

    /**
     * Forgets the peers not in {@code keep}: closes their outbound connections and drops what was pending
     * for them. Call it after each discovery round, so that departed nodes hold no sockets.
     */
    public void retainPeers(Set<Endpoint> keep) {
        for (PeerLink peer : peers.values()) {
            if (!keep.contains(peer.to) && peers.remove(peer.to, peer)) {
                peer.loop.execute(peer::shutdown);
            }
        }
    }

    /**
     * Drops the outbound connection to {@code to} if it is older than {@code olderThanMillis}, so that the
     * next send opens a new one. For a peer that has been silent: after a cut heals, a connection that
     * carried writes during it sends again only when TCP's retransmission timer, backed off meanwhile to
     * seconds, next fires, and then delivers what it had queued, stale by then; a new connection's SYN goes
     * out at once.
     */
    public void reconnectIfOlder(Endpoint to, long olderThanMillis) {
        PeerLink peer = peers.get(to);
        if (peer != null) {
            peer.loop.execute(() -> peer.reconnectIfOlder(olderThanMillis));
        }
    }

    /** The peers that have an outbound connection or one being made, for status pages and tests. */
    public Set<Endpoint> knownPeers() {
        return Set.copyOf(peers.keySet());
    }

    /** Messages received and dropped since start (bad HMAC, bad version, broken framing...). */
    public long rejectedCount() {
        return rejected.sum();
    }

    /** Messages handed to {@link #send} since start (queued for a peer; a dead peer's may never leave). */
    public long sentCount() {
        return sent.sum();
    }

    /** Messages received and passed to the listener since start. */
    public long receivedCount() {
        return received.sum();
    }

    /**
     * Bytes of the messages counted by {@link #sentCount}: frames with their length fields, without TCP/IP's
     * headers or TLS records.
     */
    public long sentBytes() {
        return sentBytes.sum();
    }

    /** Bytes of the messages counted by {@link #receivedCount}, as {@link #sentBytes} counts them. */
    public long receivedBytes() {
        return receivedBytes.sum();
    }

    /**
     * Stops listening and closes every connection, waiting a bounded time. Idempotent. Must not be called
     * on one of the event loops (it waits for them).
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        Channel server = serverChannel;
        if (server != null) {
            server.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        for (PeerLink peer : peers.values()) {
            peer.loop.execute(peer::shutdown);
        }
        peers.clear();
        inbound.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        lookups.shutdownNow();
    }

    @Override
    public String toString() {
        InetSocketAddress local = localAddress();
        return "PeerTransport[" + (local != null ? local : bindHost + ":" + bindPort) + "]";
    }

    private static ExecutorService newLookupPool() {
        AtomicInteger n = new AtomicInteger();
        // two threads: one name that takes long to fail must not hold up the others' lookups for long
        ThreadPoolExecutor pool = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = new Thread(r, "skep-peer-dns-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    private static String describe(SocketAddress address) {
        if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
            String host = inet.getAddress().getHostAddress();
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
        }
        return String.valueOf(address);
    }

    private void reject(String reason, Channel ch) {
        rejected.increment();
        String remote = describe(ch.remoteAddress());
        log.debug("peer message from {} rejected: {}", remote, reason);
        try {
            listener.onRejected(reason, remote);
        } catch (RuntimeException e) {
            log.warn("peer listener failed on a rejection from {}", remote, e);
        }
    }

    /** Decodes the frames of one inbound connection. One instance per connection, on its event loop. */
    private final class InboundHandler extends SimpleChannelInboundHandler<ByteBuf> {
        /** The node whose good messages came on this connection; null before the first. */
        private Endpoint sender;
        /** This side closed the connection (broken framing, a failed handshake): not the peer's doing. */
        private boolean closedHere;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf buf) {
            byte[] frame = ByteBufUtil.getBytes(buf);
            if (!startsWithMagic(frame)) {
                // not our protocol (or out of sync): later bytes cannot be trusted to be framed either
                reject("not a Skep peer frame (bad magic; another protocol on the peer port?)", ctx.channel());
                closedHere = true;
                ctx.close();
                return;
            }
            PeerMessage msg;
            try {
                msg = PeerCodec.decode(frame, secret);
            } catch (PeerCodecException e) {
                reject(e.getMessage(), ctx.channel());
                return;
            }
            received.increment();
            receivedBytes.add(LENGTH_BYTES + frame.length);
            if (msg instanceof NodeStatus status) {
                sender = status.node();
            }
            try {
                listener.onMessage(msg);
            } catch (RuntimeException e) {
                log.warn("peer listener failed on a message from {}", describe(ctx.channel().remoteAddress()), e);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done && !done.isSuccess()) {
                // a peer without a certificate the CA signed, or one speaking plain TCP to a TLS port
                reject("TLS handshake failed: " + done.cause().getMessage(), ctx.channel());
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            // the peer's side closed (a reset counts: exceptionCaught closes after it), unless we are stopping
            if (sender != null && !closedHere && !closed) {
                try {
                    listener.onClosed(sender);
                } catch (RuntimeException e) {
                    log.warn("peer listener failed on the close of {}'s connection", sender, e);
                }
            }
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause.getCause() instanceof javax.net.ssl.SSLException) {
                closedHere = true;
                ctx.close(); // reported by userEventTriggered
                return;
            }
            if (cause instanceof DecoderException) {
                // TooLongFrameException, CorruptedFrameException (negative length): the stream is broken
                reject("broken framing: " + cause.getMessage(), ctx.channel());
                closedHere = true;
            } else {
                log.debug("peer connection from {} failed: {}", describe(ctx.channel().remoteAddress()),
                        cause.toString());
            }
            ctx.close();
        }
    }

    private static boolean startsWithMagic(byte[] frame) {
        return frame.length >= 2 && frame[0] == PeerCodec.MAGIC_0 && frame[1] == PeerCodec.MAGIC_1;
    }

    /** Opens the outbound connection of {@code link}: TCP, with TLS on it when --tls-peers. */
    private ChannelFuture connect(PeerLink link) {
        Supplier<SslContext> tls = clientTls;
        Endpoint to = link.to;
        return clientBootstrap.clone(link.loop)
                .handler(tls == null ? link.handler() : new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(tls.get().newHandler(ch.alloc(), to.host(), to.port()), link.handler());
                    }
                })
                .connect(InetSocketAddress.createUnresolved(to.host(), to.port()));
    }
}
