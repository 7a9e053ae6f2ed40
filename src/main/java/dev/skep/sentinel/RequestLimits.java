package dev.skep.sentinel;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.redis.ArrayHeaderRedisMessage;
import io.netty.handler.codec.redis.BulkStringHeaderRedisMessage;
import io.netty.util.ReferenceCountUtil;

/**
 * Rejects requests too large for a Sentinel client before they are aggregated: the decoder alone would
 * buffer a bulk string of up to 512 MB. Requests to a Sentinel are a few short words, so a bulk string over
 * {@value #MAX_BULK_BYTES} bytes or an array of more than {@value #MAX_ARRAY_ELEMENTS} elements ends the
 * connection with a protocol error ({@link SentinelHandler#exceptionCaught}). One instance per connection.
 */
final class RequestLimits extends ChannelInboundHandlerAdapter {
    static final int MAX_BULK_BYTES = 64 * 1024;
    static final int MAX_ARRAY_ELEMENTS = 1024;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof BulkStringHeaderRedisMessage h && h.bulkStringLength() > MAX_BULK_BYTES) {
            ReferenceCountUtil.release(msg);
            throw new DecoderException("invalid bulk length " + h.bulkStringLength() + " (expected: <= "
                    + MAX_BULK_BYTES + ")");
        }
        if (msg instanceof ArrayHeaderRedisMessage h && h.length() > MAX_ARRAY_ELEMENTS) {
            ReferenceCountUtil.release(msg);
            throw new DecoderException("invalid multibulk length " + h.length() + " (expected: <= "
                    + MAX_ARRAY_ELEMENTS + ")");
        }
        ctx.fireChannelRead(msg);
    }
}
