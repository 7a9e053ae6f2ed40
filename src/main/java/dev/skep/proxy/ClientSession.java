package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import dev.skep.resp.Route;
import dev.skep.resp.RequestScanner;
import dev.skep.resp.RespProtocolException;
import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;

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
    /** A dedicated reply held until the WAIT after it says enough replicas have the write. */
    private ByteBuf heldReply;
    /** A MULTI was sent and no EXEC, DISCARD or RESET after it: a WAIT now would be queued in the transaction. */
    private boolean txOpen;
    /** The session said HELLO 3 on the shared path: it uses the shared connections that speak RESP3. */
    private boolean resp3;
    private static final byte[] OK = "+OK\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NOAUTH = "-NOAUTH Authentication required.\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] WRONGPASS = ("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
            .getBytes(StandardCharsets.US_ASCII);

    /**
     * Why the session is not reading requests right now. RETIRE: the master changed in a planned handover while a
     * blocking command waited on it; the old connection stays until the old master answers it (see {@link #retire}).
     * VERIFY: redis closed the idle dedicated connection; a probe tells a kill from a crash ({@link #verifyKilled}).
     */
    private enum Wait { NONE, CONNECTING, DRAIN, HOLD, RETIRE, VERIFY }

    /** A command no redis knows: sent inside MULTI in place of one the proxy refuses, so the transaction aborts. */
    private static final byte[] ABORT_TRANSACTION = "*1\r\n$33\r\nSKEP-REFUSED-INSIDE-A-TRANSACTION\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private static final byte[] UNBLOCKED_BY_DEMOTION = "-UNBLOCKED force unblock".getBytes(StandardCharsets.US_ASCII);

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
    private boolean dedicatedMode;
    private SharedUpstream shared;
    private DedicatedUpstream dedicated;
    private boolean wroteShared;
    private boolean wroteDedicated;
    private final SessionState state = new SessionState();
    private boolean needAuth;
    private boolean closeWhenAnswered;
    /** Close at the next moment nothing is outstanding ({@link #closeWhenIdle}). */
    private boolean draining;
    /** Consecutive plain requests read but not yet handed to the shared connection: where they start, how many. */
    private int batchStart;
    private int batchCount;
    /** A shared connection got replies for this session and will flush its client after its read batch. */
    boolean flushPending;
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
     * A redis this session's blocking command found demoted (it answered that the command did not run): the
     * command is sent again only once the write port goes elsewhere. Null otherwise.
     */
    private Endpoint demoted;
    /**
     * The session sent {@code CLIENT KILL} on its current dedicated connection: if redis then closes that
     * connection, the kill may have named it, and the client's own connection closes as it would on redis.
     */
    private boolean killSent;
    /**
     * The session sent SYNC: its connection is a replica link, redis's bytes pass as they come, and what the client
     * sends is dropped (a replica's acknowledgements could make a write look replicated when it is not).
     */
    private boolean replicaStream;
    /** A raw session sent QUIT to redis: nothing more is read; redis's close of its end closes the client's. */
    private boolean quitting;
    /** Bounds how long a retiring connection may take to give back its blocked command ({@link #retire}). */
    private ScheduledFuture<?> retireTimer;

    /** How many requests may be unanswered, learned from the replies' size. */
    private final ReplyWindow window = new ReplyWindow();
    /** What the client has not taken of its replies, against the proxy's bounds. */
    private final HeldOutput output;

    ClientSession(LoopContext loop, Port route) {
        this.loop = loop;
        this.route = route;
        this.output = new HeldOutput(loop, this);
        this.hold = new MasterHold(loop, this, route);
        this.needAuth = !loop.settings().upstreamPassword().isEmpty();
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
            if (dedicated != null) {
                dedicated.resumeReads();
            }
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
        return !dedicatedMode && !window.largeReplies() && !needAuth && !hold.active() && shared != null && shared.connected
                && !shared.closed && !(loop.holdWrites && route == Port.WRITE);
    }

    /** Sends the batch of consecutive plain requests, if any, as one slice. */
    private void sendBatch() {
        if (batchCount == 0) {
            return;
        }
        int count = batchCount;
        batchCount = 0;
        ByteBuf requests = in.retainedSlice(batchStart, in.readerIndex() - batchStart);
        loop.counters.add(route, ProxyCount.COMMANDS_SHARED, count);
        lastUpstream = shared.target;
        shared.send(this, requests, count, batchHasWrite);
        batchHasWrite = false;
        wroteShared = true;
    }

    /**
     * Sends, answers or parks one request. Returns false when it was parked (the session then waits for a
     * connection, for the shared replies to drain, or for a master), true when it was dealt with.
     */
    private boolean dispatch(ByteBuf request, Route kind, String refusal) {
        if (kind == Route.REFUSED) {
            request.release();
            loop.counters.increment(route,
                    refusal.startsWith("READONLY") ? ProxyCount.ERRORS_READONLY : ProxyCount.ERRORS_REFUSED);
            if (txOpen && dedicated != null && dedicated.connected && !state.raw()) {
                // Inside MULTI, redis aborts the whole transaction when it refuses a command (EXECABORT): so must a
                // refusal of the proxy's, or EXEC would run the rest of it. A command redis does not know is
                // refused by redis at queue time too, and marks the transaction; its reply is replaced by ours.
                slots.sent(new Slot.Instead(errorReply(refusal)));
                dedicated.send(Unpooled.wrappedBuffer(ABORT_TRANSACTION));
                wroteDedicated = true;
                return true;
            }
            local(errorReply(refusal));
            return true;
        }
        if (kind == Route.SHARED && !dedicatedMode) {
            if (needAuth) {
                request.release();
                loop.counters.increment(route, ProxyCount.ERRORS_AUTH);
                local(Unpooled.wrappedBuffer(NOAUTH));
                return true;
            }
            if (!window.largeReplies()) {
                return sendShared(request, kind, refusal);
            }
            // Replies this large would stand ahead of every other session's on the shared connection, and be held
            // by the proxy while this client lags: from now on the session has a connection of its own (once its
            // shared requests are answered, so replies stay in order), as a stateful one does.
            if (slots.inFlight() > 0) {
                park(request, kind, refusal, Wait.DRAIN);
                return false;
            }
            toDedicated();
            return sendDedicated(request, kind, refusal, null);
        }
        if (kind == Route.SHARED) {
            return sendDedicated(request, kind, refusal, null); // plain command, no state change to track
        }
        List<byte[]> args = dev.skep.resp.RequestArguments.decode(request);
        String cmd = RequestArgs.upper(args, 0);
        if (cmd.equals("QUIT") && dedicatedMode && dedicated != null && dedicated.connected
                && !(loop.holdWrites && route == Port.WRITE) && demoted == null && loop.target(this) != null) {
            // A connection of its own: redis answers, and closes its end as it does, before the client hears +OK,
            // as on redis: a tracking redirect to it breaks, its blocked state is gone, before the client's next
            // move (answered here, the upstream's close could reach redis after another client's next request).
            in.skipBytes(in.readableBytes());
            if (state.raw()) {
                // subscribed (or replies off): no slot tells when +OK has passed; redis's close of its end does
                killSent = true;
                quitting = true;
            } else {
                closeWhenAnswered = true;
            }
            return sendDedicated(request, kind, refusal, args);
        }
        if (cmd.equals("QUIT")) {
            request.release();
            loop.counters.increment(route, ProxyCount.COMMANDS_LOCAL);
            local(Unpooled.wrappedBuffer(OK));
            closeWhenAnswered = true; // requests pipelined after it are dropped unread, as redis drops them
            in.skipBytes(in.readableBytes());
            return true;
        }
        if (cmd.equals("SYNC") && loop.settings().refuseSync()) {
            request.release();
            loop.counters.increment(route, ProxyCount.ERRORS_REFUSED);
            local(errorReply("ERR SYNC is not allowed through the Skep proxy: under --quorum majority, redis would "
                    + "count a SYNC replica as holding every write (WAIT), and confirm writes no majority has"));
            return true;
        }
        if (cmd.equals("SYNC")) {
            // the connection becomes a replica link: every reply before it must be in, as its bytes are not framed
            if (slots.inFlight() > 0) {
                park(request, kind, refusal, Wait.DRAIN);
                return false;
            }
            in.skipBytes(in.readableBytes()); // nothing the client sends after it goes to redis
        }
        if (!dedicatedMode && cmd.equals("CLIENT") && RequestArgs.upper(args, 1).equals("SETINFO")) {
            // Client libraries (Jedis 5, redis-py 5) send it on every connect; it only labels the
            // connection in CLIENT LIST. Answered here, it does not cost the session its shared path.
            request.release();
            loop.counters.increment(route, ProxyCount.COMMANDS_LOCAL);
            local(Unpooled.wrappedBuffer(OK));
            return true;
        }
        if (!dedicatedMode && cmd.equals("AUTH") && args.size() == 2 && !loop.settings().upstreamPassword().isEmpty()) {
            // The proxy checks the password itself, so the session can stay on the shared connections.
            request.release();
            boolean ok = java.security.MessageDigest.isEqual(args.get(1), // constant time: no timing hint about the password
                    loop.settings().upstreamPassword().getBytes(StandardCharsets.UTF_8));
            loop.counters.increment(route, ok ? ProxyCount.COMMANDS_LOCAL : ProxyCount.ERRORS_AUTH);
            if (ok) {
                needAuth = false;
                state.apply(new SessionState.Change("AUTH", args), false);
            }
            local(Unpooled.wrappedBuffer(ok ? OK : WRONGPASS));
            return true;
        }
        if (!dedicatedMode && !needAuth && !window.largeReplies() && cmd.equals("HELLO") && args.size() == 2
                && RequestArgs.upper(args, 1).equals("3")) {
            // Lettuce and redis-py 5 open with HELLO 3. The session stays on the shared path, over connections
            // that speak RESP3 themselves (HELLO 3 there again only returns the server's map), once its
            // RESP2 requests are answered: replies come back in order only from one connection at a time.
            if (!resp3) {
                if (slots.inFlight() > 0) {
                    park(request, kind, refusal, Wait.DRAIN);
                    return false;
                }
                resp3 = true;
                leaveShared();
                state.apply(new SessionState.Change("HELLO", args), false); // replayed if it moves to dedicated
            }
            return sendShared(request, kind, refusal);
        }
        if (!dedicatedMode) {
            if (slots.inFlight() > 0) {
                park(request, kind, refusal, Wait.DRAIN);
                return false;
            }
            toDedicated();
        }
        return sendDedicated(request, kind, refusal, args);
    }

    private void toDedicated() {
        dedicatedMode = true;
        leaveShared();
    }

    private boolean sendShared(ByteBuf request, Route kind, String refusal) {
        if (loop.holdWrites && route == Port.WRITE) {
            return hold(request, kind, refusal); // a handover: wait for the successor (or for writes to resume)
        }
        SharedUpstream u = shared;
        if (u == null || u.closed) {
            Endpoint target = loop.target(this);
            u = target == null ? null : loop.shared(route, target, resp3);
            if (u == null) {
                return hold(request, kind, refusal);
            }
            if (u.closed) {
                return hold(request, kind, refusal); // refused at once: the target is down
            }
            shared = u;
            u.attached.add(this);
        }
        if (!u.connected) {
            u.awaitConnect(this);
            park(request, kind, refusal, Wait.CONNECTING);
            return false;
        }
        holdDone();
        loop.counters.increment(route, ProxyCount.COMMANDS_SHARED);
        lastUpstream = u.target;
        u.send(this, request, 1, requestIsWrite);
        slots.sent(FORWARDED);
        wroteShared = true;
        return true;
    }

    private boolean sendDedicated(ByteBuf request, Route kind, String refusal, List<byte[]> args) {
        if (loop.holdWrites && route == Port.WRITE) {
            return hold(request, kind, refusal);
        }
        if (demoted != null) {
            // a blocking command is to be sent again: not to the redis that gave it back, which is a replica now
            if (dedicated != null && dedicated.target.equals(demoted)) {
                DedicatedUpstream old = dedicated;
                dedicated = null;
                old.closeDeliberately("its redis became a replica");
            }
            Endpoint target = loop.target(this);
            if (target == null || target.equals(demoted)) {
                return hold(request, kind, refusal);
            }
            demoted = null;
        }
        if (dedicated != null && loop.target(this) == null) {
            return hold(request, kind, refusal); // no master at the moment: its connection is kept, not used
        }
        DedicatedUpstream d = dedicated;
        if (d == null) {
            Endpoint target = loop.target(this);
            if (target == null || loop.isDown(target)) {
                return hold(request, kind, refusal);
            }
            killSent = false;
            d = loop.takeSpare(route, target);
            if (d != null) {
                dedicated = d;
                d.adopt(this, state.replay()); // connected already: the request goes out now, in its order
            } else {
                d = new DedicatedUpstream(loop, target, route, this);
                dedicated = d;
                // parked first: a connection refused at once calls onDedicatedLost, which resumes us
                park(request, kind, refusal, Wait.CONNECTING);
                d.start(state.replay());
                return false;
            }
        }
        if (!d.connected) {
            park(request, kind, refusal, Wait.CONNECTING);
            return false;
        }
        holdDone();
        SessionState.Change change = args == null ? null : state.onRequest(args);
        if (!state.raw()) {
            if (change != null) {
                slots.sent(new Slot.StateChange(change));
            } else if (args != null && route == Port.WRITE && BlockingRequest.resendable(args)) {
                slots.sent(new Slot.Blocked(args, System.nanoTime(), requestIsWrite));
            } else {
                slots.sent(FORWARDED);
            }
        }
        loop.counters.increment(route, ProxyCount.COMMANDS_DEDICATED);
        lastUpstream = d.target;
        d.send(request);
        String cmd = args == null ? "" : RequestArgs.upper(args, 0);
        if (cmd.equals("CLIENT") && RequestArgs.upper(args, 1).equals("KILL")) {
            killSent = true;
        } else if (cmd.equals("SYNC")) {
            replicaStream = true;
            d.rawBytes = true;
        }
        if (cmd.equals("MULTI")) {
            txOpen = true; // as sent: the replies that would tell the session state have not come back yet
        } else if (cmd.equals("EXEC") || cmd.equals("DISCARD") || cmd.equals("RESET")) {
            txOpen = false;
        }
        WriteConfirmation needed = route == Port.WRITE ? loop.confirmation() : null;
        if (needed != null && !txOpen && !state.raw() && (requestIsWrite || cmd.equals("EXEC"))) {
            // --quorum majority: as on the shared path, the reply waits until enough replicas have the write
            slots.sent(new Slot.Confirmation(needed));
            d.send(Unpooled.wrappedBuffer(needed.request()));
        }
        wroteDedicated = true;
        return true;
    }

    private void park(ByteBuf request, Route kind, String refusal, Wait why) {
        if (log.isDebugEnabled()) {
            log.debug("{} park {} dedicated={} shared={}", client.remoteAddress(), why, dedicated, shared);
        }
        parked = new Parked(request, kind, refusal, requestIsWrite);
        wait = why;
    }

    /** No master (or it cannot be reached): wait for one, up to --hold-ms, then answer -MASTERDOWN. */
    private boolean hold(ByteBuf request, Route kind, String refusal) {
        park(request, kind, refusal, Wait.HOLD);
        hold.begin(client, this::holdExpired);
        return false;
    }

    private void holdDone() {
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
    private void goOn() {
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
        if (dedicatedMode) {
            return dedicated == null || !dedicated.connected || dedicated.channel.isWritable();
        }
        return shared == null || !shared.connected || shared.channel.isWritable();
    }

    private void flushUpstreams() {
        if (slots.takeUnflushed()) {
            flushClient();
        }
        if (wroteShared) {
            wroteShared = false;
            if (shared != null) {
                shared.flush();
            }
        }
        if (wroteDedicated) {
            wroteDedicated = false;
            if (dedicated != null) {
                dedicated.flush();
            }
        }
    }

    // ---- replies ----

    /** The reply to this session's oldest shared request (what is left of it, when its start streamed). */
    void onUpstreamReply(ByteBuf frame) {
        if (closed) {
            frame.release();
            return;
        }
        slots.answered();
        int size = frame.readableBytes();
        sized(size, 1, size);
        client.write(frame, client.voidPromise());
        slots.writeLocalReplies();
    }

    /** The replies to this session's {@code count} oldest shared requests, in one buffer; the largest so many bytes. */
    void onUpstreamReplies(ByteBuf frames, int count, int largest) {
        if (closed) {
            frames.release();
            return;
        }
        slots.answered(count);
        sized(frames.readableBytes(), count, largest);
        client.write(frames, client.voidPromise());
        writeLocalReplies();
    }

    /**
     * The start of this session's next reply on its shared connection, passed on as it streams in (the rest
     * comes whole, to {@link #onUpstreamReply} or {@link #onUpstreamReplies}). Dropped when the client is gone.
     */
    void onPartialReply(ByteBuf chunk) {
        if (closed) {
            chunk.release();
            return;
        }
        streamed(chunk);
    }

    /**
     * The start of a frame on the dedicated connection, {@code n} bytes at {@code in.readerIndex()}: taken (and
     * passed on) unless the reply must reach the session whole: a state change to learn the outcome of, or a write
     * whose reply waits for the WAIT after it.
     */
    boolean onDedicatedPartial(ByteBuf in, int n) {
        if (!closed) {
            Slot head = slots.peek();
            if (head == null ? !state.raw() : head != FORWARDED || slots.secondIsConfirmation()) {
                // a Blocked reply comes whole too: it may say the command did not run
                return false;
            }
            streamed(in.readRetainedSlice(n));
        } else {
            in.skipBytes(n);
        }
        return true;
    }

    private void streamed(ByteBuf chunk) {
        window.streamed(chunk.readableBytes());
        client.write(chunk, client.voidPromise());
    }

    private void sized(long bytes, int count, long largest) {
        window.replied(bytes, count, largest, dedicatedMode);
    }

    /** True when no local reply waits among the slots: replies can then be written several at once. */
    boolean canTakeRepliesTogether() {
        return !slots.localsQueued() && !closed;
    }

    /** A frame from the dedicated connection: a reply, or (raw session, RESP3 push) a message of its own. */
    void onDedicatedFrame(ByteBuf frame, boolean push) {
        if (closed) {
            frame.release();
            return;
        }
        if (!push) {
            Slot head = slots.peek();
            if (head instanceof Slot.Instead instead) {
                slots.answered();
                frame.release();
                client.write(instead.reply(), client.voidPromise());
                writeLocalReplies();
                return;
            }
            if (head instanceof Slot.Blocked b && didNotRun(frame)) {
                frame.release();
                sendAgain(b);
                return;
            }
            if (head == FORWARDED && route == Port.WRITE && frame.getByte(frame.readerIndex()) == '-'
                    && Upstream.startsWith(frame, frame.readerIndex(), Upstream.READONLY) && dedicated != null) {
                // the master is a replica now (demoted before this proxy heard): the request did not run, and no
                // more go there (as on the shared connections, SharedUpstream#onFrame)
                demoted = dedicated.target;
                loop.masterDemoted(demoted);
                if (loop.settings().closeOnUnknown()) {
                    frame.release();
                    slots.answered();
                    cutMidReply();
                    return;
                }
            }
            if (head instanceof Slot.Confirmation confirmation) {
                slots.answered();
                releaseHeldReply(confirmation.needed(), frame);
                writeLocalReplies();
                return;
            }
            if (head == FORWARDED || head instanceof Slot.Blocked || head instanceof Slot.StateChange) {
                slots.answered();
                int size = frame.readableBytes();
                sized(size, 1, size);
                if (head instanceof Slot.StateChange c) {
                    state.apply(c.change(), frame.getByte(frame.readerIndex()) == '-');
                }
                if (slots.peek() instanceof Slot.Confirmation) {
                    heldReply = frame;
                    return;
                }
            }
        }
        window.frameDone(); // a frame of a raw session (pub/sub message, MONITOR line...) that streamed in
        client.write(frame, client.voidPromise());
        writeLocalReplies();
        if (wait == Wait.RETIRE && slots.inFlight() == 0) {
            retired();
        }
    }

    /**
     * A reply by which a redis says that a blocking command did not run because it is no longer a master:
     * {@code -UNBLOCKED force unblock...} (it became a replica while the command waited) or {@code -READONLY}
     * (the command was held by the handover's write pause and ran once it was a replica).
     */
    private static boolean didNotRun(ByteBuf frame) {
        return Upstream.startsWith(frame, frame.readerIndex(), UNBLOCKED_BY_DEMOTION)
                || Upstream.startsWith(frame, frame.readerIndex(), Upstream.READONLY);
    }

    /**
     * The master gave back blocking command {@code b} unrun: it is sent again, with what is left of its timeout,
     * to the next master (not to this redis, a replica now), after whatever was sent before it is answered. The
     * client sees one command that waited. Should a later request of the client already wait to be sent (it
     * would have to go after this one), the client's connection is closed instead: it did not run, and a client
     * retries on a new connection.
     */
    private void sendAgain(Slot.Blocked b) {
        slots.answered();
        if (parked != null) {
            cutMidReply();
            return;
        }
        loop.counters.increment(route, ProxyCount.RESENT);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - b.sentNanos());
        parked = new Parked(Unpooled.wrappedBuffer(RequestArgs.encode(BlockingRequest.withElapsed(b.args(), elapsedMs))),
                Route.DEDICATED, null, b.write());
        demoted = dedicated.target;
        loop.masterDemoted(demoted);
        if (log.isDebugEnabled()) {
            log.debug("{} {} gave back a blocking command unrun: sending it again", client.remoteAddress(), demoted);
        }
        if (wait == Wait.RETIRE) {
            if (slots.inFlight() == 0) {
                retired();
            }
        } else {
            wait = Wait.DRAIN; // sent once the replies before it are in (flushClient resumes)
        }
    }

    /**
     * The master changed while this session's one request in flight is a blocking command on the old master,
     * whose connection is still up: rather than close it (the command's outcome would be unknown), keep it until
     * the old master answers. Demoted (at once in a planned handover, whose write pause also kept the command
     * from being served), it gives the command back unrun ({@link #sendAgain}); if it served it meanwhile, the
     * reply is passed on, as it would have been a moment earlier. Nothing else is sent or read until then, so
     * replies stay in order; past --hold-ms (an old master no agent can reach) the connection is closed as any
     * lost one is. This does not depend on the proxy having seen the handover's hold: under load a proxy may
     * learn of the new master before it learns writes were held.
     *
     * @return true when the session retires its connection this way
     */
    private boolean retire() {
        if (wait == Wait.RETIRE) {
            return true;
        }
        if (route != Port.WRITE || !dedicated.connected || wait != Wait.NONE || parked != null || state.pinned()
                || !slots.onlyOne(Slot.Blocked.class)) {
            return false;
        }
        wait = Wait.RETIRE;
        retireTimer = client.eventLoop().schedule(this::retireExpired, loop.settings().holdMs(), TimeUnit.MILLISECONDS);
        return true;
    }

    private void retireExpired() {
        retireTimer = null;
        if (closed || wait != Wait.RETIRE || dedicated == null) {
            return;
        }
        wait = Wait.NONE;
        dedicated.closeDeliberately("failover: the old master did not answer the blocked command within --hold-ms");
    }

    /** The retiring connection owes nothing more: it closes, and the session goes on (on the new master). */
    private void retired() {
        if (retireTimer != null) {
            retireTimer.cancel(false);
            retireTimer = null;
        }
        DedicatedUpstream old = dedicated;
        dedicated = null;
        old.closeDeliberately("retired after a handover");
        wait = Wait.NONE;
        goOn();
    }

    /** Bytes of the replica link this session's SYNC opened, passed on as they came. */
    void onReplicaStream(ByteBuf bytes) {
        if (closed) {
            bytes.release();
            return;
        }
        client.write(bytes, client.voidPromise());
    }

    /** The reply to our WAIT: the held write reply goes to the client if enough replicas confirmed, else an error. */
    private void releaseHeldReply(WriteConfirmation wait, ByteBuf waitReply) {
        String error = wait.unconfirmed(waitReply);
        ByteBuf reply = heldReply;
        heldReply = null;
        if (reply == null) {
            return;
        }
        if (error == null) {
            client.write(reply, client.voidPromise());
        } else {
            reply.release();
            client.write(errorReply(error), client.voidPromise());
        }
    }

    private void writeLocalReplies() {
        slots.writeLocalReplies();
    }

    private void local(ByteBuf reply) {
        slots.local(reply);
    }

    /** Flushes what was written to the client, then continues what waited for replies. */
    void flushClient() {
        slots.takeUnflushed();
        if (closed) {
            return;
        }
        if (closeWhenAnswered && slots.isEmpty()) {
            closed = true;
            client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
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
        loop.logOverload(String.valueOf(client.remoteAddress()), route, output.held(), total);
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
            closed = true;
            client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    boolean clientWritable() {
        return !closed && client.isWritable();
    }

    // ---- upstream failures and failover ----

    /** One of our requests on a shared connection is lost with it: answer it with an error instead. */
    void onUpstreamLost(SharedUpstream u, String reason) {
        if (loop.settings().closeOnUnknown()) {
            if (!closed) {
                cutMidReply(); // the replies before it are written: it is the oldest unanswered
            }
            return;
        }
        onUpstreamError("ERR " + reason + ": the command may or may not have been executed");
    }

    /** One of our shared requests gets this error reply (without the leading '-') in place of redis's reply. */
    void onUpstreamError(String error) {
        if (closed) {
            return;
        }
        if (window.streamedSoFar() > 0) {
            cutMidReply();
            return;
        }
        slots.answered();
        if (error.startsWith("NOREPLICAS")) {
            loop.counters.increment(route, ProxyCount.ERRORS_NOREPLICAS);
        } else {
            loop.counters.increment(route, ProxyCount.ERRORS_FAILOVER);
            lostRequests = true;
        }
        client.write(errorReply(error), client.voidPromise());
        writeLocalReplies();
    }

    /** {@code u} is gone: the next request picks another connection. Reads resume (u may have paused them). */
    void detachShared(SharedUpstream u) {
        if (shared == u) {
            shared = null;
            maybeRead();
        }
    }

    private void leaveShared() {
        if (shared != null) {
            shared.attached.remove(this);
            shared = null;
        }
    }

    void dedicatedReady(DedicatedUpstream d) {
        if (log.isDebugEnabled()) {
            log.debug("{} dedicated ready {} (current {}) wait={}", client.remoteAddress(), d, dedicated, wait);
        }
        if (d == dedicated) {
            resume();
        }
    }

    /** The dedicated connection is gone: unanswered requests get errors; a pinned session is closed. */
    void onDedicatedLost(DedicatedUpstream d, String reason, boolean wasConnected) {
        if (log.isDebugEnabled()) {
            log.debug("{} dedicated lost {} (current {}) wasConnected={} inFlight={} wait={}: {}", client.remoteAddress(),
                    d, dedicated, wasConnected, slots.inFlight(), wait, reason);
        }
        if (d != dedicated || closed) {
            return;
        }
        dedicated = null;
        if (retireTimer != null) {
            retireTimer.cancel(false);
            retireTimer = null;
        }
        if (wait == Wait.RETIRE) {
            wait = Wait.NONE;
        }
        if (window.streamedSoFar() > 0) {
            cutMidReply();
            return;
        }
        if (killSent && wasConnected && !d.deliberate) {
            // CLIENT KILL named this session's own connection (ID, ADDR, SKIPME no...): redis answered the kill and
            // closed it, and would have closed the client's connection: so does the proxy, after the replies
            closeAsRedisDid();
            return;
        }
        if (wasConnected && state.onlySubscribed() && !unknownOutcome()) {
            Endpoint target = loop.target(this);
            if (target != null && !target.equals(d.target) && !loop.isDown(target)) {
                resubscribe(target);
                return;
            }
        }
        if (loop.settings().closeOnUnknown() && (unknownOutcome() || (wasConnected && state.pinned()))) {
            // As a client of a demoted master sees under Sentinel: the connection closes, after the replies owed
            // before the first request whose outcome is unknown; libraries reconnect (and replay their state).
            if (state.pinned() && !unknownOutcome()) {
                loop.counters.increment(route, ProxyCount.SESSIONS_CLOSED);
                closeAsRedisDid();
            } else {
                if (heldReply != null) {
                    heldReply.release();
                    heldReply = null;
                }
                writeLocalReplies();
                cutMidReply();
            }
            return;
        }
        if (wasConnected && !d.deliberate && !unknownOutcome() && !state.pinned() && wait == Wait.NONE
                && parked == null) {
            verifyKilled(d.target);
            return;
        }
        if (heldReply != null) {
            heldReply.release();
            heldReply = null;
            client.write(errorReply("ERR " + reason + ": the command may or may not have been executed"),
                    client.voidPromise());
        }
        slots.failAll(s -> {
            if (!(s instanceof Slot.Confirmation)) { // a request of the client's: its reply will not come
                s.release();
                loop.counters.increment(route, ProxyCount.ERRORS_FAILOVER);
                lostRequests = true;
                client.write(errorReply("ERR " + reason + ": the command may or may not have been executed"),
                        client.voidPromise());
            }
        });
        if (wasConnected && state.pinned()) {
            // MULTI, WATCH, subscriptions, MONITOR, tracking, replies off: state the new master cannot be
            // given; the client must see the break and start again.
            loop.counters.increment(route, ProxyCount.SESSIONS_CLOSED);
            client.writeAndFlush(errorReply("ERR " + reason + ": this connection's state (transaction, "
                    + "subscription...) cannot move to the new master; reconnect"))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        client.flush();
        // Continue whatever waited (a parked request reconnects with the state replayed, or holds), and
        // read again: the client may have been paused because the dying connection had stopped being writable.
        resume();
        maybeRead();
    }

    /**
     * Redis closed this session's idle dedicated connection, and the proxy did not ask it to: either the redis is
     * gone (crashed, stopped), and the session waits for a master as usual, or it is up and closed just that
     * connection ({@code CLIENT KILL} by another client, its {@code timeout}, an output buffer limit), and the
     * client's connection closes as it would have on redis. A TCP connect to the redis tells which; nothing of
     * the client's is read meanwhile.
     */
    private void verifyKilled(Endpoint target) {
        wait = Wait.VERIFY;
        loop.connect(target, new ChannelInboundHandlerAdapter()).addListener((ChannelFutureListener) f -> {
            boolean up = f.isSuccess();
            if (up) {
                f.channel().close();
            }
            if (closed || wait != Wait.VERIFY) {
                return;
            }
            wait = Wait.NONE;
            if (up && target.equals(loop.target(this))) {
                closeAsRedisDid();
            } else {
                goOn();
            }
        });
    }

    /**
     * The master changed under a session that is only subscribed (a Celery worker's remote control, a cache's
     * invalidation listener): it subscribes again on the new master, with its state replayed first, and the
     * confirmations are consumed, so the client sees nothing but the messages published from then on. Messages
     * published while it moved are not delivered, as pub/sub promises no more than once (a client of a demoted
     * master under Sentinel is closed instead, and misses them as well).
     */
    private void resubscribe(Endpoint target) {
        DedicatedUpstream next = new DedicatedUpstream(loop, target, route, this);
        dedicated = next;
        killSent = false;
        lastUpstream = target;
        next.start(state.replay(), state.resubscribe(), state.subscriptions(), state.protocol() == 3);
        client.flush();
        maybeRead();
    }

    /** Closes the client after the replies already in: what was still in flight on the killed connection is dropped. */
    private void closeAsRedisDid() {
        if (heldReply != null) {
            heldReply.release();
            heldReply = null;
        }
        writeLocalReplies();
        closed = true;
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    /** True when a request was sent on the dedicated connection and not answered (or its reply is held). */
    private boolean unknownOutcome() {
        if (heldReply != null) {
            return true;
        }
        return slots.anyClientRequest();
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
        boolean closing = dedicated != null && dedicated.connected && state.pinned() && !state.onlySubscribed();
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
        if (target == null) {
            // no master for a moment: keep the connections (a pinned session survives a leader that was only
            // briefly silent); new requests wait for a master (sendShared and sendDedicated hold them)
            if (shared != null) {
                leaveShared();
            }
            if (wait == Wait.HOLD) {
                resume();
            }
            return;
        }
        if (dedicated != null && !dedicated.target.equals(target) && !retire()) {
            dedicated.closeDeliberately(reason);
        }
        if (shared != null && !shared.target.equals(loop.target(this))) {
            leaveShared();
        }
        if (wait == Wait.HOLD) {
            resume();
        }
    }

    /**
     * The upstream went while a reply was streaming to the client: the client has the start of a reply whose end
     * will never come, and no error can follow it that the client would read as one. So the connection closes
     * after what was passed on, as a direct connection to a redis that died mid-reply would.
     */
    private void cutMidReply() {
        loop.counters.increment(route, ProxyCount.ERRORS_FAILOVER);
        lostRequests = true;
        closed = true;
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
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

    private static ByteBuf errorReply(String text) {
        String clean = text.replace('\r', ' ').replace('\n', ' ');
        return Unpooled.wrappedBuffer(("-" + clean + "\r\n").getBytes(StandardCharsets.UTF_8));
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
        if (heldReply != null) {
            heldReply.release();
            heldReply = null;
        }
        hold.cancel();
        if (retireTimer != null) {
            retireTimer.cancel(false);
        }
        if (dedicated != null) {
            dedicated.close();
            dedicated = null;
        }
        leaveShared();
        loop.sessionClosed(this);
    }
}
