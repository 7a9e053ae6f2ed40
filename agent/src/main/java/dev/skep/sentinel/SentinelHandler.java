package dev.skep.sentinel;

import dev.skep.resp.RespProtocolException;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.EventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One client connection of the Sentinel-compatible endpoint, on its event loop: turns each decoded request
 * into arguments, asks {@link SentinelCommands} for the reply and writes it; delivers the events the
 * {@link SentinelServer} hands to this loop. Everything it touches is confined to its event loop.
 *
 * <p>Arguments are decoded as ISO-8859-1, so every byte a client sends maps to one char and back. A client
 * that sends bytes that are not RESP gets {@code -ERR Protocol error: ...} and is disconnected; one that does
 * not read its replies stops being read until it does.
 */
final class SentinelHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(SentinelHandler.class);

    /**
     * Requests to a Sentinel are a few short words: a bulk string over 64 KiB, an array of more than 1024 elements
     * or an inline line over 64 KiB ends the connection with a protocol error, before it is buffered whole.
     */
    static final dev.skep.resp.RequestLimits LIMITS = dev.skep.resp.RequestLimits.REDIS_DEFAULTS
            .withMaxBulkLength(64 * 1024).withMaxArguments(1024);

    private final SentinelServer server;
    private final SentinelSession session;
    private ChannelHandlerContext ctx;

    /** The client came in over TLS: it is given the redis servers' TLS ports. */
    final boolean tls;

    SentinelHandler(SentinelServer server, long clientId, boolean tls) {
        this.server = server;
        this.tls = tls;
        this.session = new SentinelSession(clientId);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        server.connected(this);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        server.disconnected(this);
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof RespProtocolException e) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(e.errorReply())).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        @SuppressWarnings("unchecked")
        List<byte[]> args = (List<byte[]>) msg; // from resp.RequestDecoder
        List<String> argv = new ArrayList<>(args.size());
        for (byte[] a : args) {
            argv.add(new String(a, StandardCharsets.ISO_8859_1));
        }
        byte[] reply = server.commands().execute(argv, session, server.context(tls));
        if (reply.length > 0) {
            ctx.write(Unpooled.wrappedBuffer(reply));
        }
        if (session.closeAfterReply) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.flush();
        if (!ctx.channel().isWritable()) {
            // the client does not read its replies: stop reading its requests until it does
            ctx.channel().config().setAutoRead(false);
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            ctx.channel().config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** Writes the events this client subscribed to. Called on this connection's event loop. */
    void deliver(List<SentinelEvent> events) {
        if (ctx == null || !ctx.channel().isActive() || !session.subscribed()) {
            return;
        }
        if (!ctx.channel().isWritable()) {
            // a subscriber that does not read would make us buffer every event forever (Redis: output buffer limit)
            log.debug("closing Sentinel subscriber {}: it does not read its messages", ctx.channel().remoteAddress());
            ctx.close();
            return;
        }
        boolean wrote = false;
        for (SentinelEvent e : events) {
            byte[] bytes = SentinelCommands.deliver(session, e);
            if (bytes.length > 0) {
                ctx.write(Unpooled.wrappedBuffer(bytes));
                wrote = true;
            }
        }
        if (wrote) {
            ctx.flush();
        }
    }

    /** The executor of this connection's event loop, or null before it is active. */
    EventExecutor executor() {
        return ctx == null ? null : ctx.executor();
    }

    /** Closes the connection; on this connection's event loop. */
    void close() {
        if (ctx != null) {
            ctx.close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("Sentinel client {}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
