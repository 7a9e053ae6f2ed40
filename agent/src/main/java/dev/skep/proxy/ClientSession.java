package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import dev.skep.resp.RequestScanner;
import dev.skep.resp.RespProtocolException;
import dev.skep.resp.RespWriter;
import dev.skep.resp.Route;
import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection on the write or read port. It frames the client's requests without decoding them
 * and forwards the original bytes: plain requests over a shared upstream connection, and, from the first
 * request off the shared allowlist on, everything over a dedicated connection of its own (after the
 * shared requests still in flight have been answered, so replies stay in order).
 *
 * <p>Replies go back in request order. Each request leaves a slot: an upstream slot, answered by the
 * next reply from its connection, or a local reply (a refused command, {@code -MASTERDOWN}...) that is
 * written as soon as every slot before it has been answered.
 *
 * <p>Backpressure, in bytes: the client is read, and its requests forwarded, only while its connection can
 * take more output (less than 256 KB of replies waiting for it), its upstream can take more input, and its
 * unanswered requests are within its {@link ReplyWindow}: as deep as the client pipelines, and no more than its
 * replies, at their typical size so far, fill {@link ReplyWindow#SHARED_IN_FLIGHT_BYTES} (on a dedicated
 * connection {@link ReplyWindow#DEDICATED_IN_FLIGHT_BYTES}). A shared connection must keep reading (one slow client must not stall
 * the others), so the replies to what was sent arrive whether or not the client reads them, ahead of other
 * sessions' replies, and are held for a client that stopped reading: the window is what bounds them, which is
 * why it counts bytes rather than requests. A session whose replies turn out large ({@link ReplyWindow#LARGE_REPLY}) moves to a dedicated
 * connection, where the proxy stops reading from redis while its client lags and its replies hold up no one
 * else's. Whatever is held is bounded all the same ({@link HeldOutput}): past
 * {@link ProxySettings#clientHeldLimit} for one client, or its loop's share of {@link ProxySettings#heldLimit}
 * for all (the client holding the most first), the client is closed, as redis closes one over its
 * {@code client-output-buffer-limit}.
 *
 * <p>Confined to the client channel's event loop, like every upstream connection it uses.
 */
final class ClientSession extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    private static final Slot FORWARDED = Slot.Forwarded.INSTANCE;

    /**
     * Why the session is not reading requests right now. RETIRE: the master changed in a planned handover while a
     * blocking command waited on it; the old connection stays until the old master answers it (DedicatedLink).
     * VERIFY: redis closed the idle dedicated connection; a probe tells a kill from a crash (DedicatedLink).
     */
    enum Wait { NONE, CONNECTING, DRAIN, HOLD, RETIRE, VERIFY }

    private final LoopContext loop;
    final Port route;
    private Channel client;
    /** Unscanned request bytes. Merged as ByteToMessageDecoder does: never changed under a retained slice. */
    private ByteBuf in = Unpooled.EMPTY_BUFFER;
    private final RequestScanner scanner;
    /**
     * One {@link Slot} per unanswered request, in order: forwarded as it is, a state change, a blocking command
     * kept for a re-send, a reply to replace, a local reply, or the WAIT the proxy sent after a write (--quorum
     * majority; its reply releases {@link #heldReply}).
     */
    private final PendingReplies slots = new PendingReplies();
    /** The session's place on the shared connections. */
    private final SharedLink shared;
    /** The session's connection of its own, once it needs one. */
    private final DedicatedLink dedicated;
    private final SessionState state = new SessionState();
    /** Where each request goes. */
    private final Dispatcher dispatcher;
    private boolean closeWhenAnswered;
    /** Close at the next moment nothing is outstanding ({@link #closeWhenIdle}). */
    private boolean draining;
    /** Consecutive plain requests read but not yet handed to the shared connection: where they start, how many. */
    private int batchStart;
    private int batchCount;
    /** The client broke the protocol: nothing more is read from it. */
    private boolean broken;
    private boolean closed;
    private Wait wait = Wait.NONE;
    /** A request that could not be sent yet (no master, connecting, draining), with its classification. */
    private Parked parked;

    /** A request read but not sent yet, with what {@link #dispatch} needs to send it later. */
    private record Parked(ByteBuf request, Route kind, String refusal, boolean write) {}
    /** The request being dispatched is a write (for --quorum majority's confirmation of writes). */
    private boolean requestIsWrite;
    /** The batch being gathered holds a write. */
    private boolean batchHasWrite;
    private final MasterHold hold;
    /** Read port: the replica this session reads from (null: none chosen, or the master). */
    Endpoint readReplica;
    /** Where this session's requests went last, and whether it lost any in flight since the master changed. */
    private Endpoint lastUpstream;
    private boolean lostRequests;
    /**
     * The session sent SYNC: its connection is a replica link, redis's bytes pass as they come, and what the client
     * sends is dropped (a replica's acknowledgements could make a write look replicated when it is not).
     */
    private boolean replicaStream;
    /** A raw session sent QUIT to redis: nothing more is read; redis's close of its end closes the client's. */
    private boolean quitting;

    /** How many requests may be unanswered, learned from the replies' size. */
    private final ReplyWindow window = new ReplyWindow();
    /** What the client has not taken of its replies, against the proxy's bounds. */
    private final HeldOutput output;

    ClientSession(LoopContext loop, Port route) {
        this.loop = loop;
        this.route = route;
        this.output = new HeldOutput(loop, this);
        this.hold = new MasterHold(loop, this, route);
        this.dedicated = new DedicatedLink(this, loop, route, slots, state);
        this.shared = new SharedLink(this, loop, route, slots);
        this.dispatcher = new Dispatcher(this, loop, route, slots, state, shared, dedicated, window);
        this.scanner = new RequestScanner(dev.skep.resp.RequestLimits.REDIS_DEFAULTS,
                loop.hiveValues()); // CONFIG SET of what the hive owns passes only with the value it keeps
    }

    // ---- client channel events ----

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
        output.attach(client);
        slots.attach(client);
        loop.sessionOpened(this);
        client.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf bytes = (ByteBuf) msg;
        if (closed || closeWhenAnswered || replicaStream || quitting) {
            bytes.release(); // after QUIT (or a protocol error) nothing the client sends runs, as on redis
            return;
        }
        if (log.isTraceEnabled()) {
            log.trace("{} read {} bytes wait={} inFlight={}", client.remoteAddress(), bytes.readableBytes(), wait, slots.inFlight());
        }
        in = ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), in, bytes);
        process();
        discardReadBytes();
    }

    /**
     * Frees the consumed front of {@link #in} once no slice of it is still being written upstream (as
     * ByteToMessageDecoder does): the cumulator appends in place to a buffer nobody else holds, so a client that
     * streams large requests without pause, always leaving one incomplete, would otherwise grow it by everything
     * it ever sent (measured: 80 MB of direct memory for a 70 MB redis-cli --pipe, and the agent out of it).
     */
    private void discardReadBytes() {
        if (in.refCnt() == 1) {
            in.discardSomeReadBytes();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        flushUpstreams();
        maybeRead();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (client.isWritable()) {
            output.refresh();
            dedicated.resumeReads();
            maybeRead();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cleanUp();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("client {}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    // ---- requests ----

    /** Frames and dispatches every complete request, until one has to wait or the input runs out. */
    private void process() {
        try {
            processRequests();
        } finally {
            sendBatch();
        }
    }

    private void processRequests() {
        while (!closed && !broken && !closeWhenAnswered && !quitting && wait == Wait.NONE) {
            if (!mayForward()) {
                return; // resumed as replies come back, or when the client reads again
            }
            if (parked != null) {
                Parked p = parked;
                parked = null;
                requestIsWrite = p.write();
                if (!dispatch(p.request(), p.kind(), p.refusal())) {
                    return;
                }
                continue;
            }
            int length;
            try {
                length = scanner.scan(in);
            } catch (RespProtocolException e) {
                sendBatch(); // the requests before the bad bytes are answered first
                protocolError(e);
                return;
            }
            if (length == RequestScanner.NEED_MORE) {
                return;
            }
            Route kind = scanner.route();
            if (kind == Route.SHARED && batchable() && !(route == Port.READ && scanner.isWrite())) {
                // The common case: a plain request on a connected shared connection. Consecutive ones are
                // sent as one slice of the input (one write, one buffer), not one buffer per request.
                if (batchCount == 0) {
                    batchStart = in.readerIndex();
                }
                in.skipBytes(length);
                batchCount++;
                batchHasWrite |= scanner.isWrite();
                slots.sent(FORWARDED);
                continue;
            }
            sendBatch();
            ByteBuf request = in.readRetainedSlice(length);
            String refusal = kind == Route.REFUSED ? "ERR " + scanner.refusal() : null;
            if (route == Port.READ && kind != Route.REFUSED && scanner.isWrite()) {
                // as a replica answers: the read port never writes, even when it falls back to the master
                kind = Route.REFUSED;
                refusal = "READONLY You can't write against a read only replica.";
            }
            requestIsWrite = scanner.isWrite();
            if (!dispatch(request, kind, refusal)) {
                return;
            }
        }
    }

    /**
     * True while the session may forward another request: its client takes its replies (less than the high water
     * mark waits in its outbound buffer), and fewer than its {@link ReplyWindow} are unanswered. Checked before every
     * request, parked ones included: a client that does not read gets no more replies made for it.
     */
    private boolean mayForward() {
        return !window.full(slots.inFlight()) && client.isWritable();
    }

    /** True when a shared request can go straight into the current batch. */
    private boolean batchable() {
        return dispatcher.sharedPath() && !hold.active() && shared.ready();
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

    /** Sends, answers or parks one request (see {@link Dispatcher}); false when it was parked. */
    private boolean dispatch(ByteBuf request, Route kind, String refusal) {
        return dispatcher.dispatch(request, kind, refusal, requestIsWrite);
    }

    void park(ByteBuf request, Route kind, String refusal, Wait why) {
        if (log.isDebugEnabled()) {
            log.debug("{} park {} dedicated={} shared={}", client.remoteAddress(), why, dedicated, shared);
        }
        parked = new Parked(request, kind, refusal, requestIsWrite);
        wait = why;
    }

    /** No master (or it cannot be reached): wait for one, up to --hold-ms, then answer -MASTERDOWN. */
    boolean hold(ByteBuf request, Route kind, String refusal) {
        park(request, kind, refusal, Wait.HOLD);
        hold.begin(client, this::holdExpired);
        return false;
    }

    void holdDone() {
        hold.served();
    }

    private void holdExpired() {
        if (closed) {
            return;
        }
        if (parked != null) {
            parked.request().release();
            parked = null;
        }
        wait = Wait.NONE;
        local(errorReply("MASTERDOWN no master is available in the hive (waited " + loop.settings().holdMs() + " ms)"));
        flushClient();
        process();
        maybeRead();
    }

    /** Called when what the session waited for may have happened (connected, new topology, drained). */
    void resume() {
        if (log.isDebugEnabled()) {
            log.debug("{} resume from {}", client.remoteAddress(), wait);
        }
        if (closed || wait == Wait.NONE || wait == Wait.RETIRE || wait == Wait.VERIFY) {
            return; // a retiring (verifying) session goes on when its old connection gave back what it owed (the probe answered)
        }
        wait = Wait.NONE;
        goOn();
    }

    /** Sends what is buffered or parked, flushes, and reads the client again when it may. */
    void goOn() {
        process();
        flushUpstreams();
        maybeRead();
    }

    void maybeRead() {
        if (closed || broken || wait != Wait.NONE) {
            return;
        }
        if ((parked != null || in.isReadable()) && mayForward()) {
            process(); // requests already buffered come before new bytes
            flushUpstreams();
            if (wait != Wait.NONE || parked != null) {
                return;
            }
        }
        if (mayForward() && upstreamWritable()) {
            client.read();
        } else if (log.isTraceEnabled()) {
            log.trace("{} not reading: writable={} inFlight={} window={} upstreamWritable={}", client.remoteAddress(),
                    client.isWritable(), slots.inFlight(), window.size(), upstreamWritable());
        }
    }

    private boolean upstreamWritable() {
        if (dispatcher.dedicatedMode()) {
            return dedicated.writable();
        }
        return shared.writable();
    }

    private void flushUpstreams() {
        if (slots.takeUnflushed()) {
            flushClient();
        }
        shared.flush();
        dedicated.flush();
    }

    // ---- replies ----

    boolean onDedicatedPartial(ByteBuf in, int n) {
        return dedicated.onPartial(in, n);
    }

    void streamed(ByteBuf chunk) {
        window.streamed(chunk.readableBytes());
        client.write(chunk, client.voidPromise());
    }

    void sized(long bytes, int count, long largest) {
        window.replied(bytes, count, largest, dispatcher.dedicatedMode());
    }

    /** One reply of {@code size} bytes from the dedicated connection is complete. */
    void sized(long size) {
        sized(size, 1, size);
    }

    /** A frame from the dedicated connection: a reply, or (raw session, RESP3 push) a message of its own. */
    void onDedicatedFrame(ByteBuf frame, boolean push) {
        dedicated.onFrame(frame, push);
    }

    /** A frame goes to the client as it is, followed by the local replies now first in line. */
    void passOn(ByteBuf frame) {
        window.frameDone(); // a frame of a raw session (pub/sub message, MONITOR line...) may have streamed in
        client.write(frame, client.voidPromise());
        slots.writeLocalReplies();
    }

    void write(ByteBuf reply) {
        client.write(reply, client.voidPromise());
    }

    /** Bytes of the replica link this session's SYNC opened, passed on as they came. */
    void onReplicaStream(ByteBuf bytes) {
        if (closed) {
            bytes.release();
            return;
        }
        client.write(bytes, client.voidPromise());
    }

    private void writeLocalReplies() {
        slots.writeLocalReplies();
    }

    /** Flushes what was written to the client, then continues what waited for replies. */
    void flushClient() {
        slots.takeUnflushed();
        if (closed) {
            return;
        }
        if (closeWhenAnswered && slots.isEmpty()) {
            closeOnceWritten();
            return;
        }
        client.flush();
        HeldOutput.Verdict verdict = output.observe();
        if (verdict == HeldOutput.Verdict.OVER_CLIENT_LIMIT) {
            overload(false);
        }
        if (verdict != HeldOutput.Verdict.WITHIN) {
            return; // closed: it held too much
        }
        if (wait == Wait.DRAIN && slots.inFlight() == 0) {
            resume();
        } else {
            maybeRead();
        }
        closeIfIdleAndDraining();
    }

    // ---- bytes held for the client ----

    long refreshHeld() {
        return output.refresh();
    }

    long held() {
        return output.held();
    }

    /**
     * Closes the client for what the proxy holds for it ({@code total}: all clients of the loop together held too
     * much, this one the most), as redis closes a client over its output buffer limits: its replies not yet taken
     * are dropped, and so are those still to come for it (as they stream in, on a shared connection). The client
     * sees the connection closed (reset, since it had sent requests the proxy had not read).
     */
    void overload(boolean total) {
        loop.counters.increment(route, total ? ProxyCount.OVERLOAD_TOTAL : ProxyCount.OVERLOAD_CLIENT);
        loop.overloadLog.closed(String.valueOf(client.remoteAddress()), route, output.held(), total);
        output.stop();
        closed = true; // from here on, what arrives for it is released at once
        client.close();
    }

    /**
     * The agent is stopping (after handing over): close this connection as soon as the client has nothing
     * outstanding, every reply written, rather than cut it with a request in flight.
     */
    void closeWhenIdle() {
        draining = true;
        closeIfIdleAndDraining();
    }

    private void closeIfIdleAndDraining() {
        if (draining && !closed && client != null && slots.isEmpty() && parked == null && !in.isReadable()) {
            closeOnceWritten();
        }
    }

    boolean clientWritable() {
        return !closed && client.isWritable();
    }

    // ---- upstream failures and failover ----

    /** The shared connection the session used is gone: the next request picks another one; reads resume. */
    void detachShared(SharedUpstream u) {
        if (shared.detach(u)) {
            maybeRead();
        }
    }

    private void leaveShared() {
        shared.leave();
    }

    void dedicatedReady(DedicatedUpstream d) {
        dedicated.onReady(d);
    }

    /** The dedicated connection is gone (DedicatedLink decides what the client sees). */
    void onDedicatedLost(DedicatedUpstream d, String reason, boolean wasConnected) {
        if (log.isDebugEnabled()) {
            log.debug("{} dedicated lost {} (current {}) wasConnected={} inFlight={} wait={}: {}", client.remoteAddress(),
                    d, dedicated, wasConnected, slots.inFlight(), wait, reason);
        }
        dedicated.onLost(d, reason, wasConnected);
    }

    /** Closes the client after the replies already in: what was still in flight is dropped. */
    void closeAfterReplies() {
        writeLocalReplies();
        closeOnceWritten();
    }

    /** Marks the session closed (what still arrives for it is dropped) and closes the client after what is written. */
    private void closeOnceWritten() {
        closed = true;
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * The master changed from {@code oldMaster}: counts how that treats this write-port session, if its
     * requests went there. Called before the old master's connections are closed, so requests still in flight
     * on them count as lost.
     */
    void countMasterChange(Endpoint oldMaster) {
        if (closed || route != Port.WRITE || !oldMaster.equals(lastUpstream)) {
            return;
        }
        boolean closing = dedicated.pinnedAndConnected() && !state.onlySubscribed();
        if (!closing) {
            // a pinned session is counted when it is closed (SESSIONS_CLOSED)
            loop.counters.increment(route, lostRequests || slots.inFlight() > 0
                    ? ProxyCount.SESSIONS_FAILED : ProxyCount.SESSIONS_REATTACHED);
        }
        lostRequests = false;
    }

    /** The topology changed: leave an upstream that is no longer where this session's traffic should go. */
    void onTopologyChanged(String reason) {
        if (closed) {
            return;
        }
        Endpoint target = loop.target(this);
        if (target != null) {
            // with no master for a moment the dedicated connection stays (a pinned session survives a leader that
            // was only briefly silent); new requests wait for a master (the links hold them)
            dedicated.onTopologyChanged(target, reason);
        }
        shared.onTopologyChanged(loop.target(this));
        if (wait == Wait.HOLD) {
            resume();
        }
    }

    /**
     * The upstream went while a reply was streaming to the client: the client has the start of a reply whose end
     * will never come, and no error can follow it that the client would read as one. So the connection closes
     * after what was passed on, as a direct connection to a redis that died mid-reply would.
     */
    void cutMidReply() {
        loop.counters.increment(route, ProxyCount.ERRORS_FAILOVER);
        lostRequests = true;
        closeOnceWritten();
    }

    // ---- errors and teardown ----

    /** Answers the error after the replies owed for earlier requests, then closes, as redis does. */
    private void protocolError(RespProtocolException e) {
        log.debug("client {}: {}", client.remoteAddress(), e.getMessage());
        loop.counters.increment(route, ProxyCount.ERRORS_PROTOCOL);
        broken = true;
        local(Unpooled.wrappedBuffer(e.errorReply()));
        closeWhenAnswered = true;
        flushClient();
    }

    static ByteBuf errorReply(String text) {
        return RespWriter.errorBuffer(text);
    }

    void closeClient() {
        if (client != null) {
            client.close();
        }
    }

    private void cleanUp() {
        closed = true;
        output.stop();
        in.release();
        in = Unpooled.EMPTY_BUFFER;
        if (parked != null) {
            parked.request().release();
            parked = null;
        }
        slots.clear();
        hold.cancel();
        dedicated.close();
        leaveShared();
        loop.sessionClosed(this);
    }

    // ---- for DedicatedLink ----

    boolean isClosed() {
        return closed;
    }

    Channel client() {
        return client;
    }

    Wait waitState() {
        return wait;
    }

    void waitFor(Wait why) {
        wait = why;
    }

    boolean hasParked() {
        return parked != null;
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

    /** The session's requests went to {@code target}. */
    void sentTo(Endpoint target) {
        lastUpstream = target;
    }

    /** Part of a reply streamed to the client: a cut now leaves it half-sent. */
    boolean streamedMidReply() {
        return window.streamedSoFar() > 0;
    }

    /** A request of the client's was lost with its connection (its error is written by the caller). */
    void lost() {
        loop.counters.increment(route, ProxyCount.ERRORS_FAILOVER);
        lostRequests = true;
    }

    SharedLink shared() {
        return shared;
    }

    // ---- for Dispatcher ----

    /** Nothing the client sent after the current request goes to redis (QUIT, SYNC). */
    void dropRestOfInput() {
        in.skipBytes(in.readableBytes());
    }

    /** The client's connection closes once every reply owed is written (QUIT). */
    void closeWhenAnswered() {
        closeWhenAnswered = true;
    }

    /** A subscribed session's QUIT went to redis: nothing more is read; redis's close of its end closes the client's. */
    void quitting() {
        quitting = true;
    }

    /** The session's connection became a replica link (SYNC): what the client sends from now on is dropped. */
    void replicaStream() {
        replicaStream = true;
    }

    void local(ByteBuf reply) {
        slots.local(reply);
    }
}
