package dev.skep.sentinel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.InlineCommandRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
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
final class SentinelHandler extends SimpleChannelInboundHandler<RedisMessage> {
    private static final Logger log = LoggerFactory.getLogger(SentinelHandler.class);

    private final SentinelServer server;
    private final SentinelSession session;
    private ChannelHandlerContext ctx;

    SentinelHandler(SentinelServer server, long clientId) {
        this.server = server;
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
    protected void channelRead0(ChannelHandlerContext ctx, RedisMessage msg) {
        List<String> argv;
        if (msg instanceof ArrayRedisMessage array) {
            argv = new ArrayList<>(array.children().size());
            for (RedisMessage child : array.children()) {
                if (!(child instanceof FullBulkStringRedisMessage bulk) || bulk.isNull()) {
                    protocolError(ctx, "expected bulk strings in a request");
                    return;
                }
                argv.add(bulk.content().toString(StandardCharsets.ISO_8859_1));
            }
        } else if (msg instanceof InlineCommandRedisMessage inline) {
            argv = splitInline(inline.content());
        } else {
            protocolError(ctx, "expected a request (an array of bulk strings, or an inline command)");
            return;
        }
        byte[] reply = server.commands().execute(argv, session, server.context());
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
        if (cause instanceof DecoderException) {
            protocolError(ctx, cause.getCause() != null ? cause.getCause().getMessage() : cause.getMessage());
        } else {
            log.debug("Sentinel client {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    private static void protocolError(ChannelHandlerContext ctx, String detail) {
        ByteBuf error = Unpooled.wrappedBuffer(new Resp().error("ERR Protocol error: " + detail).toBytes());
        ctx.writeAndFlush(error).addListener(ChannelFutureListener.CLOSE);
    }

    /** An inline command ({@code PING}, typed into telnet) split on spaces and tabs. */
    static List<String> splitInline(String line) {
        List<String> argv = new ArrayList<>();
        for (String part : line.trim().split("[ \t]+")) {
            if (!part.isEmpty()) {
                argv.add(part);
            }
        }
        return argv;
    }
}
