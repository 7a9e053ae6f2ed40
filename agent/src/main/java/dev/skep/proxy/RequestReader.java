package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import dev.skep.resp.RequestLimits;
import dev.skep.resp.RequestScanner;
import dev.skep.resp.RespProtocolException;
import dev.skep.resp.Route;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session's input: the client's unscanned bytes, framed into requests without decoding them, each handed to the
 * {@link Dispatcher} in order. Consecutive plain requests on a ready shared connection go out as one slice of the
 * input (one write, one buffer); a request that cannot be sent yet is parked here until the session resumes.
 * Confined to the client channel's event loop, like the {@link ClientSession} that owns it.
 */
final class RequestReader {
    private static final Logger log = LoggerFactory.getLogger(RequestReader.class);
    private static final Slot FORWARDED = Slot.Forwarded.INSTANCE;

    /**
     * Why the session is not reading requests right now (NONE: it is). RETIRE: the master changed in a planned handover while a
     * blocking command waited on it; the old connection stays until the old master answers it (DedicatedLink).
     * VERIFY: redis closed the idle dedicated connection; a probe tells a kill from a crash (DedicatedLink).
     * AUTH: the client's credentials are being checked against redis (Dispatcher, CredentialCheck).
     */
    enum Wait { NONE, CONNECTING, DRAIN, HOLD, RETIRE, VERIFY, AUTH }

    private Wait wait = Wait.NONE;

    private final ClientSession session;
    private final Port route;
    private final PendingReplies slots;
    private final SharedLink shared;
    private final Dispatcher dispatcher;
    private final RequestScanner scanner;
    /** Unscanned request bytes. Merged as ByteToMessageDecoder does: never changed under a retained slice. */
    private ByteBuf in = Unpooled.EMPTY_BUFFER;
    /** Consecutive plain requests read but not yet handed to the shared connection: where they start, how many. */
    private int batchStart;
    private int batchCount;
    /** The batch being gathered holds a write (for --quorum majority's confirmation of writes). */
    private boolean batchHasWrite;
    /** A request that could not be sent yet (no master, connecting, draining), with its classification. */
    private Parked parked;
    /** The request being dispatched is a write: kept with it if it is parked. */
    private boolean dispatchingWrite;

    /** A request read but not sent yet, with what the dispatcher needs to send it later. */
    private record Parked(ByteBuf request, Route kind, String refusal, boolean write) {}

    RequestReader(ClientSession session, LoopContext loop, Port route, PendingReplies slots, SharedLink shared,
            Dispatcher dispatcher) {
        this.session = session;
        this.route = route;
        this.slots = slots;
        this.shared = shared;
        this.dispatcher = dispatcher;
        // CONFIG SET of what the hive owns passes only with the value it keeps
        this.scanner = new RequestScanner(RequestLimits.REDIS_DEFAULTS, loop.hiveValues());
    }

    void append(ByteBufAllocator alloc, ByteBuf bytes) {
        in = ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(alloc, in, bytes);
    }

    /**
     * Frees the consumed front of the input once no slice of it is still being written upstream (as
     * ByteToMessageDecoder does): the cumulator appends in place to a buffer nobody else holds, so a client that
     * streams large requests without pause, always leaving one incomplete, would otherwise grow it by everything
     * it ever sent (measured: 80 MB of direct memory for a 70 MB redis-cli --pipe, and the agent out of it).
     */
    void discardReadBytes() {
        if (in.refCnt() == 1) {
            in.discardSomeReadBytes();
        }
    }

    /** True when requests wait here: parked, or read and not framed yet. */
    boolean hasBuffered() {
        return parked != null || in.isReadable();
    }

    /** Frames and dispatches every complete request, until one has to wait or the input runs out. */
    void process() {
        try {
            processRequests();
        } finally {
            sendBatch();
        }
    }

    private void processRequests() {
        while (session.takesRequests()) {
            if (!session.mayForward()) {
                return; // resumed as replies come back, or when the client reads again
            }
            if (parked != null) {
                Parked p = parked;
                parked = null;
                if (!dispatch(p.request(), p.kind(), p.refusal(), p.write())) {
                    return;
                }
                continue;
            }
            int length;
            try {
                length = scanner.scan(in);
            } catch (RespProtocolException e) {
                sendBatch(); // the requests before the bad bytes are answered first
                session.protocolError(e);
                return;
            }
            if (length == RequestScanner.NEED_MORE) {
                return;
            }
            Route kind = scanner.route();
            boolean write = scanner.isWrite();
            if (kind == Route.SHARED && session.batchable() && !(route == Port.READ && write)) {
                // The common case: a plain request on a connected shared connection. Consecutive ones are
                // sent as one slice of the input (one write, one buffer), not one buffer per request.
                if (batchCount == 0) {
                    batchStart = in.readerIndex();
                }
                in.skipBytes(length);
                batchCount++;
                batchHasWrite |= write;
                slots.sent(FORWARDED);
                continue;
            }
            sendBatch();
            ByteBuf request = in.readRetainedSlice(length);
            String refusal = kind == Route.REFUSED ? "ERR " + scanner.refusal() : null;
            if (route == Port.READ && kind != Route.REFUSED && write) {
                // as a replica answers: the read port never writes, even when it falls back to the master
                kind = Route.REFUSED;
                refusal = "READONLY You can't write against a read only replica.";
            }
            if (!dispatch(request, kind, refusal, write)) {
                return;
            }
        }
    }

    private boolean dispatch(ByteBuf request, Route kind, String refusal, boolean write) {
        dispatchingWrite = write;
        return dispatcher.dispatch(request, kind, refusal, write);
    }

    /** Sends the batch of consecutive plain requests, if any, as one slice. */
    private void sendBatch() {
        if (batchCount == 0) {
            return;
        }
        int count = batchCount;
        batchCount = 0;
        shared.sendBatch(in.retainedSlice(batchStart, in.readerIndex() - batchStart), count, batchHasWrite);
        batchHasWrite = false;
    }

    /**
     * Keeps a request the dispatcher could not send yet, to be dispatched first when the session goes on, and
     * stops taking requests until then.
     */
    void park(ByteBuf request, Route kind, String refusal, Wait why) {
        if (log.isDebugEnabled()) {
            log.debug("{} park {}", session.client().remoteAddress(), why);
        }
        parked = new Parked(request, kind, refusal, dispatchingWrite);
        wait = why;
    }

    Wait waitState() {
        return wait;
    }

    void waitFor(Wait why) {
        wait = why;
    }

    /**
     * Parks a blocking command the old master gave back, to be sent again; false when another request already
     * waits to be sent (the command would have to go before it).
     */
    boolean parkResend(ByteBuf request, boolean write) {
        if (parked != null) {
            return false;
        }
        parked = new Parked(request, Route.DEDICATED, null, write);
        return true;
    }

    boolean hasParked() {
        return parked != null;
    }

    /** The parked request will never be sent (its wait expired, or the session closed). */
    void dropParked() {
        if (parked != null) {
            parked.request().release();
            parked = null;
        }
    }

    /** Nothing the client sent after the current request goes to redis (QUIT, SYNC). */
    void dropRest() {
        in.skipBytes(in.readableBytes());
    }

    /** The session closed: every buffer is released. */
    void release() {
        in.release();
        in = Unpooled.EMPTY_BUFFER;
        dropParked();
    }
}
