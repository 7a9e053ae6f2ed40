package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Decodes a client's requests into their arguments, for endpoints that answer requests themselves (the
 * Sentinel-compatible one): framed by {@link RequestScanner} with Redis's own rules (multibulk and inline, the same
 * protocol errors) within {@code limits}, each emitted as a {@code List<byte[]>}; an empty request (a blank inline
 * line) is skipped, as Redis skips it. Bytes that are not RESP are emitted as the {@link RespProtocolException}, after
 * the requests before them, and nothing more is decoded: the handler answers its {@link
 * RespProtocolException#errorReply()} and closes. One instance per connection, on its event loop.
 */
public final class RequestDecoder extends ByteToMessageDecoder {
    private final RequestScanner scanner;
    private boolean broken;

    public RequestDecoder(RequestLimits limits) {
        this.scanner = new RequestScanner(limits);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (broken) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            int length = scanner.scan(in);
            if (length == RequestScanner.NEED_MORE) {
                return;
            }
            List<byte[]> args = RequestArguments.decode(in, in.readerIndex(), length);
            in.skipBytes(length);
            if (!args.isEmpty()) {
                out.add(args);
            }
        } catch (RespProtocolException e) {
            broken = true;
            in.skipBytes(in.readableBytes());
            out.add(e);
        }
    }
}
