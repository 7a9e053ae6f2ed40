package dev.skep.proxy;

import dev.skep.resp.ReplyScanner;
import dev.skep.resp.RespProtocolException;
import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection from the proxy to a redis: frames the replies (without decoding them) and hands each to
 * {@link #onReply}. Subclasses decide whose reply it is: a shared connection serves many sessions in
 * order, a dedicated one a single session. Lives on one event loop (the sessions' own), so nothing here
 * is synchronized.
 *
 * <p>Requests the proxy sends on its own (AUTH of a shared connection, the state replayed on a dedicated
 * one) have their replies consumed here: {@link #internalReplies} counts them; an error among them closes
 * the connection, since it would not behave as the sessions expect.
 */
abstract class Upstream extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(Upstream.class);

    final LoopContext loop;
    final Endpoint target;
    final Port route;
    Channel channel;
    boolean connected;
    boolean closed;
    /** Closed on purpose (failover, shutdown): says nothing about the redis being down. */
    boolean deliberate;
    /** What this connection adds to {@link LoopContext#inFlight}: its requests sent and not yet answered. */
    private int counted;
    /** Replies still expected for requests the proxy sent itself. */
    int internalReplies;
    /** RESP3 pushes still expected for requests the proxy sent itself (subscribe confirmations); dropped. */
    int internalPushes;
    /** Unscanned reply bytes, merged as ByteToMessageDecoder does (never changed under a retained slice). */
    private ByteBuf cumulation = Unpooled.EMPTY_BUFFER;
    private final ReplyScanner scanner = new ReplyScanner();
    /**
     * Once the replies to the proxy's own requests are in, every byte from redis goes to {@link #onRawBytes}
     * unframed: the connection became a replica link (SYNC), whose RDB payload is not RESP.
     */
    boolean rawBytes;

    Upstream(LoopContext loop, Endpoint target, Port route) {
        this.loop = loop;
        this.target = target;
        this.route = route;
    }

    /** Starts connecting; {@link #onConnected()} or {@link #onFailed(String, boolean)} follows on the loop. */
    void connect(java.util.List<byte[]> setup) {
        connect(setup, setup.size(), 0);
    }

    /**
     * Starts connecting and sends {@code setup} first, whose answers are {@code replies} replies and {@code pushes}
     * RESP3 pushes, consumed here (a SUBSCRIBE of n channels is answered n times).
     */
    void connect(java.util.List<byte[]> setup, int replies, int pushes) {
        ChannelFuture f = loop.connect(target, this);
        channel = f.channel();
        f.addListener((ChannelFutureListener) done -> {
            if (!done.isSuccess()) {
                fail("cannot connect to " + target + ": " + rootMessage(done.cause()), false);
                return;
            }
            if (closed) {
                done.channel().close();
                return;
            }
            writeOwn(setup);
            internalReplies += replies;
            internalPushes += pushes;
            channel.flush();
            connected = true;
            channel.read();
            onConnected();
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        if (closed) {
            // a read already under way when the connection failed (a kill -9): nothing reads the cumulation any
            // more, so this buffer would leak
            in.release();
            return;
        }
        cumulation = ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, in);
        try {
            int len;
            while (!closed && !(rawBytes && internalReplies == 0) && (len = scanner.scan(cumulation)) >= 0) {
                boolean push = scanner.isPush();
                if (push && internalPushes > 0) {
                    cumulation.skipBytes(len);
                    internalPushes--;
                    continue;
                }
                if (!push && internalReplies > 0) {
                    ByteBuf frame = cumulation.readRetainedSlice(len);
                    internalReplies--;
                    boolean error = frame.getByte(frame.readerIndex()) == '-';
                    String text = error ? frame.toString(java.nio.charset.StandardCharsets.UTF_8).trim() : "";
                    frame.release();
                    if (error) {
                        fail("redis " + target + " refused the proxy's setup: " + text, true);
                        return;
                    }
                    continue;
                }
                onFrame(cumulation, len, push);
            }
            if (!closed && rawBytes && internalReplies == 0) {
                if (cumulation.isReadable()) {
                    onRawBytes(cumulation.readRetainedSlice(cumulation.readableBytes()));
                }
                return;
            }
            if (!closed) {
                endOfFrames(cumulation);
                streamPartial();
                if (cumulation.refCnt() == 1) {
                    // no slice of it is out: free the consumed front, or a reply stream that always ends mid-reply
                    // grows the buffer in place by everything it ever carried (see ClientSession#discardReadBytes)
                    cumulation.discardSomeReadBytes();
                }
            }
        } catch (RespProtocolException e) {
            fail("redis " + target + " sent bytes that are not RESP: " + e.getMessage(), true);
        }
    }

    /**
     * The reply in progress is passed on as far as it has come once that is {@link #STREAM_FROM} bytes or more,
     * rather than held until it is complete: so a large value costs the proxy one read's worth of memory, not its
     * whole size, and reaches its client as it comes (the rest follows as a whole reply when it completes).
     * Not before the replies to the proxy's own requests, nor a push (whose owner only its whole tells).
     */
    private void streamPartial() {
        int n = scanner.partial();
        if (n < STREAM_FROM || internalReplies > 0 || scanner.partialType() == '>') {
            return;
        }
        int taken = onPartial(cumulation, n);
        if (taken > 0) {
            scanner.consumedPartial(taken);
        }
    }

    /** Bytes of a replica link ({@link #rawBytes}), as they came. Ownership passes to the callee. */
    void onRawBytes(ByteBuf bytes) {
        bytes.release();
    }

    /** Below this, a reply in progress waits to be complete: it usually is at the next read. */
    static final int STREAM_FROM = 32 * 1024;

    /**
     * The first {@code n} bytes at {@code in.readerIndex()} are the start of a reply not yet complete: the callee
     * consumes all of them (passed on, or dropped when their client is gone) and returns {@code n}, or none and
     * returns 0 (the reply must reach its session whole).
     */
    int onPartial(ByteBuf in, int n) {
        return 0;
    }

    /**
     * A complete reply (or RESP3 push) of {@code length} bytes at {@code in.readerIndex()}: the callee consumes
     * exactly those bytes (a retained slice, or skipped and sliced later in {@link #endOfFrames}).
     */
    void onFrame(ByteBuf in, int length, boolean push) {
        onReply(in.readRetainedSlice(length), push);
    }

    /** Every complete frame of this read has been passed to {@link #onFrame}; {@code in} is still intact. */
    void endOfFrames(ByteBuf in) {
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        afterReads();
        if (!closed && readWanted()) {
            ctx.read();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            onWritable();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail("connection to redis " + target + " closed", true);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("upstream {}: {}", target, cause.toString());
        fail("connection to redis " + target + " failed: " + rootMessage(cause), true);
    }

    /** Writes requests of the proxy's own (not flushed); the caller counts the replies they bring. */
    final void writeOwn(java.util.List<byte[]> requests) {
        for (byte[] request : requests) {
            channel.write(channel.alloc().buffer(request.length).writeBytes(request), channel.voidPromise());
        }
    }

    /** The start of redis's error to a write on a replica: the server is not a master (any more). */
    static final byte[] READONLY = "-READONLY ".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** True when the bytes of {@code buf} at {@code at} start with {@code prefix} (within its written bytes). */
    static boolean startsWith(ByteBuf buf, int at, byte[] prefix) {
        if (buf.writerIndex() - at < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (buf.getByte(at + i) != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Closes the connection on purpose (a failover moved its traffic, a session retired it): sessions waiting on
     * it learn why, and its redis is not presumed down. Idempotent.
     */
    final void closeDeliberately(String reason) {
        deliberate = true;
        fail(reason, connected);
    }

    /** Closes the connection; sessions waiting on it learn why. Idempotent. */
    final void fail(String reason, boolean wasConnected) {
        if (closed) {
            return;
        }
        repliesSettled();
        closed = true;
        connected = false;
        endOfFrames(cumulation); // replies already received are delivered before the failure is
        cumulation.release();
        cumulation = Unpooled.EMPTY_BUFFER;
        if (channel != null) {
            channel.close();
        }
        onFailed(reason, wasConnected);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "@" + Integer.toHexString(System.identityHashCode(this)) + "->" + target
                + (connected ? "" : closed ? "(closed)" : "(connecting)");
    }

    /** {@code n} requests on this connection await replies now (the loop may poll for them rather than sleep). */
    final void inFlight(int n) {
        loop.inFlight += n - counted;
        counted = n;
    }

    /** Nothing more is due on this connection (all answered, or it is closed). */
    final void repliesSettled() {
        inFlight(0);
    }

    boolean writable() {
        return connected && channel.isWritable();
    }

    /** The connection is open and set up: requests may be written. */
    abstract void onConnected();

    /** A complete reply (or RESP3 push) arrived. Ownership of {@code frame} passes to the callee. */
    abstract void onReply(ByteBuf frame, boolean push);

    /** After a batch of reads: flush what was written to clients. */
    abstract void afterReads();

    /** Whether to keep reading from redis (false while the one client of a dedicated connection lags). */
    abstract boolean readWanted();

    abstract void onWritable();

    /** The connection is gone (or never came up: {@code wasConnected} false). */
    abstract void onFailed(String reason, boolean wasConnected);

    static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
    }

    /** An upstream is either for the write port (the master) or the read port (a replica or the master). */
    enum Port { WRITE, READ }
}
