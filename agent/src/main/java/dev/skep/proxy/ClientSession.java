package dev.skep.proxy;

import dev.skep.proxy.RequestReader.Wait;
import dev.skep.proxy.Upstream.Port;
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
 * unanswered requests are within its {@link ReplyWindow} (whose Javadoc says why the window counts bytes). Whatever
 * the proxy holds for a client that stopped reading is bounded by {@link HeldOutput}.
 *
 * <p>Confined to the client channel's event loop, like every upstream connection it uses.
 */
final class ClientSession extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    /**
     * What becomes of the client's input. OPEN: requests are read and run. ANSWERING: QUIT was answered by the
     * proxy, the connection closes once every reply owed is written; nothing more runs. BROKEN: likewise after a
     * protocol error, and nothing more is read either. QUITTING: a raw session's QUIT went to redis, whose close of
     * its end closes the client's. REPLICA: the session sent SYNC, its connection is a replica link whose bytes pass
     * as they come, and what the client sends is read and dropped (a replica's acknowledgements could make a write
     * look replicated when it is not). CLOSED: what still arrives for the session is released at once.
     */
    enum Phase { OPEN, ANSWERING, BROKEN, QUITTING, REPLICA, CLOSED }

    private final LoopContext loop;
    final Port route;
    private Channel client;
    /** The client's bytes, framed into requests and dispatched in order. */
    private final RequestReader reader;
    /**
     * One {@link Slot} per unanswered request, in order: forwarded as it is, a state change, a blocking command
     * kept for a re-send, a reply to replace, a local reply, or the WAIT the proxy sent after a write (--quorum
     * majority; its reply releases the write's, see {@link ConfirmationGate}).
     */
    private final PendingReplies slots = new PendingReplies();
    /** The session's place on the shared connections. */
    private final SharedLink shared;
    /** The session's connection of its own, once it needs one. */
    private final DedicatedLink dedicated;
    private final SessionState state = new SessionState();
    /** Where each request goes. */
    private final Dispatcher dispatcher;
    private Phase phase = Phase.OPEN;
    /** Close at the next moment nothing is outstanding ({@link #closeWhenIdle}). */
    private boolean draining;
    private final MasterHold hold;
    /** Read port: the replica this session reads from (null: none chosen, or the master). */
    Endpoint readReplica;
    /** What master changes did to the session, for the failover counters. */
    private final FailoverTally failover;

    /** How many requests may be unanswered, learned from the replies' size. */
    private final ReplyWindow window = new ReplyWindow();
    /** What the client has not taken of its replies, against the proxy's bounds. */
    private final HeldOutput output;

    ClientSession(LoopContext loop, Port route) {
        this.loop = loop;
        this.route = route;
        this.output = new HeldOutput(loop, this);
        this.failover = new FailoverTally(loop, route);
        this.hold = new MasterHold(loop, this, route);
        this.dedicated = new DedicatedLink(this, loop, route, slots, state);
        this.shared = new SharedLink(this, loop, route, slots);
        this.dispatcher = new Dispatcher(this, loop, route, slots, state, shared, dedicated, window);
        this.reader = new RequestReader(this, loop, route, slots, shared, dispatcher);
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
        if (phase != Phase.OPEN) {
            bytes.release(); // after QUIT (or a protocol error) nothing the client sends runs, as on redis
            return;
        }
        if (log.isTraceEnabled()) {
            log.trace("{} read {} bytes wait={} inFlight={}", client.remoteAddress(), bytes.readableBytes(), reader.waitState(), slots.inFlight());
        }
        reader.append(ctx.alloc(), bytes);
        reader.process();
        reader.discardReadBytes();
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

    /** True while the reader may frame and dispatch the next request. */
    boolean takesRequests() {
        return phase == Phase.OPEN && reader.waitState() == Wait.NONE;
    }

    /**
     * True while the session may forward another request: its client takes its replies (less than the high water
     * mark waits in its outbound buffer), and fewer than its {@link ReplyWindow} are unanswered. Checked before every
     * request, parked ones included: a client that does not read gets no more replies made for it.
     */
    boolean mayForward() {
        return !window.full(slots.inFlight()) && client.isWritable();
    }

    /** True when a shared request can go straight into the current batch. */
    boolean batchable() {
        return dispatcher.sharedPath() && !hold.active() && shared.ready();
    }

    /** No master (or it cannot be reached): wait for one, up to --hold-ms, then answer -MASTERDOWN. */
    boolean hold(ByteBuf request, Route kind, String refusal) {
        reader.park(request, kind, refusal, Wait.HOLD);
        hold.begin(client, this::holdExpired);
        return false;
    }

    void holdDone() {
        hold.served();
    }

    private void holdExpired() {
        if (isClosed()) {
            return;
        }
        reader.dropParked();
        reader.waitFor(Wait.NONE);
        local(errorReply("MASTERDOWN no master is available in the hive (waited " + loop.settings().holdMs() + " ms)"));
        flushClient();
        reader.process();
        maybeRead();
    }

    /** Called when what the session waited for may have happened (connected, new topology, drained). */
    void resume() {
        if (log.isDebugEnabled()) {
            log.debug("{} resume from {}", client.remoteAddress(), reader.waitState());
        }
        Wait wait = reader.waitState();
        if (isClosed() || wait == Wait.NONE || wait == Wait.RETIRE || wait == Wait.VERIFY || wait == Wait.AUTH) {
            return; // a retiring (verifying) session goes on when its old connection gave back what it owed (the probe answered)
        }
        reader.waitFor(Wait.NONE);
        goOn();
    }

    /** Sends what is buffered or parked, flushes, and reads the client again when it may. */
    void goOn() {
        reader.process();
        flushUpstreams();
        maybeRead();
    }

    void maybeRead() {
        if (phase == Phase.CLOSED || phase == Phase.BROKEN || reader.waitState() != Wait.NONE) {
            return;
        }
        if (reader.hasBuffered() && mayForward()) {
            reader.process(); // requests already buffered come before new bytes
            flushUpstreams();
            if (reader.waitState() != Wait.NONE || reader.hasParked()) {
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

    void streamed(ByteBuf chunk) {
        window.streamed(chunk.readableBytes());
        client.write(chunk, client.voidPromise());
    }

    void sized(long bytes, int count, long largest) {
        window.replied(bytes, count, largest, dispatcher.dedicatedMode(), slots.inFlight());
    }

    /** One reply of {@code size} bytes from the dedicated connection is complete. */
    void sized(long size) {
        sized(size, 1, size);
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

    /** Flushes what was written to the client, then continues what waited for replies. */
    void flushClient() {
        slots.takeUnflushed();
        if (isClosed()) {
            return;
        }
        if ((phase == Phase.ANSWERING || phase == Phase.BROKEN) && slots.isEmpty()) {
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
        if (reader.waitState() == Wait.DRAIN && slots.inFlight() == 0) {
            resume();
        } else {
            maybeRead();
        }
        closeIfIdleAndDraining();
    }

    // ---- bytes held for the client ----

    HeldOutput output() {
        return output;
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
        phase = Phase.CLOSED; // from here on, what arrives for it is released at once
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
        if (draining && !isClosed() && client != null && slots.isEmpty() && !reader.hasBuffered()) {
            closeOnceWritten();
        }
    }

    boolean clientWritable() {
        return !isClosed() && client.isWritable();
    }

    // ---- upstream failures and failover ----

    /** The shared connection the session used is gone: the next request picks another one; reads resume. */
    void detachShared(SharedUpstream u) {
        if (shared.detach(u)) {
            maybeRead();
        }
    }

    /** Closes the client after the replies already in: what was still in flight is dropped. */
    void closeAfterReplies() {
        slots.writeLocalReplies();
        closeOnceWritten();
    }

    /** Marks the session closed (what still arrives for it is dropped) and closes the client after what is written. */
    private void closeOnceWritten() {
        phase = Phase.CLOSED;
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * The master changed from {@code oldMaster}: counts how that treats this write-port session, if its
     * requests went there. Called before the old master's connections are closed, so requests still in flight
     * on them count as lost.
     */
    void countMasterChange(Endpoint oldMaster) {
        if (!isClosed()) {
            failover.masterChanged(oldMaster, dedicated.pinnedAndConnected() && !state.onlySubscribed(), slots.inFlight());
        }
    }

    /** The topology changed: leave an upstream that is no longer where this session's traffic should go. */
    void onTopologyChanged(String reason) {
        if (isClosed()) {
            return;
        }
        Endpoint target = loop.target(this);
        if (target != null) {
            // with no master for a moment the dedicated connection stays (a pinned session survives a leader that
            // was only briefly silent); new requests wait for a master (the links hold them)
            dedicated.onTopologyChanged(target, reason);
        }
        shared.onTopologyChanged(loop.target(this));
        if (reader.waitState() == Wait.HOLD) {
            resume();
        }
    }

    /**
     * The upstream went while a reply was streaming to the client: the client has the start of a reply whose end
     * will never come, and no error can follow it that the client would read as one. So the connection closes
     * after what was passed on, as a direct connection to a redis that died mid-reply would.
     */
    void cutMidReply() {
        failover.lost();
        closeOnceWritten();
    }

    // ---- errors and teardown ----

    /** Answers the error after the replies owed for earlier requests, then closes, as redis does. */
    void protocolError(RespProtocolException e) {
        log.debug("client {}: {}", client.remoteAddress(), e.getMessage());
        loop.counters.increment(route, ProxyCount.ERRORS_PROTOCOL);
        phase = Phase.BROKEN;
        local(Unpooled.wrappedBuffer(e.errorReply()));
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
        phase = Phase.CLOSED;
        output.stop();
        reader.release();
        slots.clear();
        hold.cancel();
        dedicated.close();
        shared.leave();
        loop.sessionClosed(this);
    }

    // ---- for DedicatedLink ----

    boolean isClosed() {
        return phase == Phase.CLOSED;
    }

    Channel client() {
        return client;
    }

    RequestReader reader() {
        return reader;
    }

    FailoverTally failover() {
        return failover;
    }

    /** Part of a reply streamed to the client: a cut now leaves it half-sent. */
    boolean streamedMidReply() {
        return window.streamedSoFar() > 0;
    }

    // ---- for Dispatcher ----

    /** Nothing the client sent after the current request goes to redis (QUIT, SYNC). */
    void dropRestOfInput() {
        reader.dropRest();
    }

    /** The client's connection closes once every reply owed is written (QUIT). */
    void closeWhenAnswered() {
        phase = Phase.ANSWERING;
    }

    /** A subscribed session's QUIT went to redis: nothing more is read; redis's close of its end closes the client's. */
    void quitting() {
        phase = Phase.QUITTING;
    }

    /** The session's connection became a replica link (SYNC): what the client sends from now on is dropped. */
    void replicaStream() {
        phase = Phase.REPLICA;
    }

    void local(ByteBuf reply) {
        slots.local(reply);
    }
}
