package dev.skep.peer;

import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * One peer's outbound side for {@link PeerTransport}: the connection to it, opened on the first send and again
 * after it closes, and the latest message not yet written (a newer one replaces it: peers want the latest status,
 * not a backlog). Every field is confined to {@link #loop} (the event loop that also runs the connection), so no
 * locking is needed.
 */
final class PeerLink {
    private static final Logger log = LoggerFactory.getLogger(PeerLink.class);
    private static final int LENGTH_BYTES = 4;

    final Endpoint to;
    final EventLoop loop;
    private final Function<PeerLink, ChannelFuture> connector;
    private final BooleanSupplier transportClosed;
    Channel channel;
    private boolean connecting;
    private boolean shut;
    /** The latest message not yet written, or null. */
    private byte[] pending;
    /** Consecutive failed connection attempts, to log the first at INFO and the rest at DEBUG. */
    private int failures;
    /** When {@link #channel} was connected (nanoTime). */
    private long connectedAt;

    /** {@code connector} opens a connection whose pipeline ends with {@link #handler()}. */
    PeerLink(Endpoint to, EventLoop loop, Function<PeerLink, ChannelFuture> connector, BooleanSupplier transportClosed) {
        this.to = to;
        this.loop = loop;
        this.connector = connector;
        this.transportClosed = transportClosed;
    }

    /** The last handler of a connection to this peer: it watches writability and failures. */
    ChannelHandler handler() {
        return new OutboundHandler(this);
    }

    void reconnectIfOlder(long olderThanMillis) {
        Channel ch = channel;
        if (ch != null && System.nanoTime() - connectedAt > olderThanMillis * 1_000_000L) {
            log.debug("peer {} silent: replacing our connection to it", to);
            channel = null;
            ch.close();
        }
    }

    void offer(byte[] frame) {
        if (shut || transportClosed.getAsBoolean()) {
            return; // removed by retainPeers, or a send that raced with close()
        }
        Channel ch = channel;
        if (ch != null && ch.isActive()) {
            if (ch.isWritable()) {
                write(ch, frame);
            } else {
                pending = frame; // written by channelWritabilityChanged
            }
            return;
        }
        pending = frame;
        if (!connecting) {
            connect();
        }
    }

    private void connect() {
        connecting = true;
        connector.apply(this).addListener((ChannelFutureListener) done -> {
            connecting = false;
            if (!done.isSuccess()) {
                if (failures++ == 0) {
                    log.info("cannot connect to peer {}: {} (retrying on each send)", to, done.cause().toString());
                } else {
                    log.debug("cannot connect to peer {}: {}", to, done.cause().toString());
                }
                return; // pending stays: the next send tries again and delivers the latest
            }
            Channel ch = done.channel();
            if (shut) {
                ch.close();
                return;
            }
            if (failures > 0) {
                log.info("connected to peer {} after {} failed attempts", to, failures);
            }
            failures = 0;
            channel = ch;
            connectedAt = System.nanoTime();
            ch.closeFuture().addListener(c -> {
                if (channel == ch) {
                    channel = null; // the next send reconnects
                }
            });
            flushPending(ch);
        });
    }

    void flushPending(Channel ch) {
        byte[] frame = pending;
        if (frame != null && ch.isActive() && ch.isWritable()) {
            pending = null;
            write(ch, frame);
        }
    }

    private void write(Channel ch, byte[] frame) {
        ByteBuf buf = ch.alloc().buffer(LENGTH_BYTES + frame.length);
        buf.writeInt(frame.length).writeBytes(frame);
        ch.writeAndFlush(buf).addListener((ChannelFutureListener) w -> {
            if (!w.isSuccess()) {
                log.debug("write to peer {} failed: {}", to, w.cause().toString());
                w.channel().close();
            }
        });
    }

    void shutdown() {
        shut = true;
        pending = null;
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }

    /** Outbound connections carry nothing back; this only watches writability and failures. */
    private static final class OutboundHandler extends ChannelInboundHandlerAdapter {
        private final PeerLink peer;

        OutboundHandler(PeerLink peer) {
            this.peer = peer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg); // a peer never answers on our connection: ignore anything
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable() && peer.channel == ctx.channel()) {
                peer.flushPending(ctx.channel());
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("connection to peer {} failed: {}", peer.to, cause.toString());
            ctx.close();
        }
    }
}
