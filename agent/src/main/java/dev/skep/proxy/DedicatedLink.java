package dev.skep.proxy;

import dev.skep.proxy.RequestReader.Wait;
import dev.skep.proxy.Upstream.Port;
import dev.skep.resp.RequestArguments;
import dev.skep.resp.RespWriter;
import dev.skep.resp.Route;
import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A session's connection of its own to redis, once it needs one (a stateful command, large replies): what it sends
 * there and tracks (state changes, blocking commands kept for a re-send, transactions, CLIENT KILL, SYNC, the WAIT
 * of {@code --quorum majority}), how each reply is passed on, and what happens when the connection goes: replies
 * owed before a lost request are written, then the client's connection closes (or each lost request gets an error
 * with {@code --unknown-outcome error}); a blocking command a demoted master gives back is sent again to the next
 * one; a connection redis closed on purpose (CLIENT KILL) closes the client's as redis would.
 *
 * <p>Its session ({@link ClientSession}) frames the client's requests and keeps their replies in order; this class
 * owns only the dedicated connection's side. Confined to the client channel's event loop.
 */
final class DedicatedLink {
    private static final Logger log = LoggerFactory.getLogger(DedicatedLink.class);
    private static final Slot FORWARDED = Slot.Forwarded.INSTANCE;
    /** A command no redis knows: sent inside MULTI in place of one the proxy refuses, so the transaction aborts. */
    private static final byte[] ABORT_TRANSACTION = "*1\r\n$33\r\nSKEP-REFUSED-INSIDE-A-TRANSACTION\r\n"
            .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] UNBLOCKED_BY_DEMOTION = "-UNBLOCKED force unblock".getBytes(StandardCharsets.US_ASCII);

    private final ClientSession session;
    private final LoopContext loop;
    private final Port route;
    private final PendingReplies slots;
    private final SessionState state;
    private DedicatedUpstream conn;
    private final LinkLoss loss;
    /** The write reply held until the WAIT after it says enough replicas have the write. */
    private final ConfirmationGate<ClientSession> gate = new ConfirmationGate<>();
    /** A MULTI was sent and no EXEC, DISCARD or RESET after it: a WAIT now would be queued in the transaction. */
    private boolean txOpen;
    /**
     * A redis this session's blocking command found demoted (it answered that the command did not run): the
     * command is sent again only once the write port goes elsewhere. Null otherwise.
     */
    private Endpoint demoted;
    /**
     * The session sent {@code CLIENT KILL} on its current connection: if redis then closes that connection, the
     * kill may have named it, and the client's own connection closes as it would on redis.
     */
    private boolean killSent;
    /** Bounds how long a retiring connection may take to give back its blocked command ({@link #retire}). */
    private ScheduledFuture<?> retireTimer;
    private boolean wrote;

    DedicatedLink(ClientSession session, LoopContext loop, Port route, PendingReplies slots, SessionState state) {
        this.session = session;
        this.loop = loop;
        this.route = route;
        this.slots = slots;
        this.state = state;
        this.loss = new LinkLoss(this, session, loop, route, slots, state);
    }

    // ---- sending ----

    /**
     * Sends one request (its arguments, when it was decoded, tell what it changes), or parks it while the connection
     * is made, or holds it while there is no master. Returns false when it was parked or held.
     */
    boolean send(ByteBuf request, Route kind, String refusal, List<byte[]> args, boolean write) {
        if (loop.holdWrites && route == Port.WRITE) {
            return session.hold(request, kind, refusal);
        }
        if (demoted != null) {
            // a blocking command is to be sent again: not to the redis that gave it back, which is a replica now
            if (conn != null && conn.target.equals(demoted)) {
                DedicatedUpstream old = conn;
                conn = null;
                old.closeDeliberately("its redis became a replica");
            }
            Endpoint target = loop.target(session);
            if (target == null || target.equals(demoted)) {
                return session.hold(request, kind, refusal);
            }
            demoted = null;
        }
        if (conn != null && loop.target(session) == null) {
            return session.hold(request, kind, refusal); // no master at the moment: its connection is kept, not used
        }
        DedicatedUpstream d = conn;
        if (d == null) {
            Endpoint target = loop.target(session);
            if (target == null || loop.isDown(target)) {
                return session.hold(request, kind, refusal);
            }
            killSent = false;
            d = loop.takeSpare(route, target);
            if (d != null) {
                conn = d;
                d.adopt(this, state.replay()); // connected already: the request goes out now, in its order
            } else {
                d = new DedicatedUpstream(loop, target, route, this);
                conn = d;
                // parked first: a connection refused at once calls onLost, which resumes the session
                session.reader().park(request, kind, refusal, Wait.CONNECTING);
                d.start(state.replay());
                return false;
            }
        }
        if (!d.connected) {
            session.reader().park(request, kind, refusal, Wait.CONNECTING);
            return false;
        }
        session.holdDone();
        SessionState.Change change = args == null ? null : state.onRequest(args);
        if (!state.raw()) {
            if (change != null) {
                slots.sent(new Slot.StateChange(change));
            } else if (args != null && route == Port.WRITE && BlockingRequest.resendable(args)) {
                slots.sent(new Slot.Blocked(args, System.nanoTime(), write));
            } else {
                slots.sent(FORWARDED);
            }
        }
        loop.counters.increment(route, ProxyCount.COMMANDS_DEDICATED);
        session.failover().sentTo(d.target);
        d.send(request);
        String cmd = args == null ? "" : RequestArguments.upper(args, 0);
        if (cmd.equals("CLIENT") && RequestArguments.upper(args, 1).equals("KILL")) {
            killSent = true;
        } else if (cmd.equals("SYNC")) {
            d.rawBytes = true;
        }
        if (cmd.equals("MULTI")) {
            txOpen = true; // as sent: the replies that would tell the session state have not come back yet
        } else if (cmd.equals("EXEC") || cmd.equals("DISCARD") || cmd.equals("RESET")) {
            txOpen = false;
        }
        WriteConfirmation needed = route == Port.WRITE ? loop.confirmation() : null;
        if (needed != null && !txOpen && !state.raw() && (write || cmd.equals("EXEC"))) {
            // --quorum majority: as on the shared path, the reply waits until enough replicas have the write
            slots.sent(new Slot.Confirmation(needed));
            gate.waitSent();
            d.send(Unpooled.wrappedBuffer(needed.request()));
        }
        wrote = true;
        return true;
    }

    /**
     * Inside MULTI, redis aborts the whole transaction when it refuses a command (EXECABORT): so must a refusal of
     * the proxy's, or EXEC would run the rest of it. A command redis does not know is refused by redis at queue time
     * too, and marks the transaction; its reply is replaced by {@code error}. Returns false when no transaction is
     * open on a connected link.
     */
    boolean abortTransaction(ByteBuf error) {
        if (!txOpen || conn == null || !conn.connected || state.raw()) {
            return false;
        }
        slots.sent(new Slot.Instead(error));
        conn.send(Unpooled.wrappedBuffer(ABORT_TRANSACTION));
        wrote = true;
        return true;
    }

    /**
     * QUIT can go to redis: redis answers, and closes its end as it does, before the client hears +OK, so a
     * tracking redirect to it breaks and its blocked state is gone before the client's next move (answered by the
     * proxy, the upstream's close could reach redis after another client's next request: unit/tracking).
     */
    boolean canQuitThroughRedis() {
        return conn != null && conn.connected && !(loop.holdWrites && route == Port.WRITE) && demoted == null
                && loop.target(session) != null;
    }

    /** A subscribed session's QUIT went to redis: no slot tells when +OK has passed; redis's close of its end does. */
    void quitThroughRedis() {
        killSent = true;
    }

    void flush() {
        if (wrote) {
            wrote = false;
            if (conn != null) {
                conn.flush();
            }
        }
    }

    /** True when the connection can take more requests (or there is none yet, so nothing waits on it). */
    boolean writable() {
        return conn == null || !conn.connected || conn.channel.isWritable();
    }

    void resumeReads() {
        if (conn != null) {
            conn.resumeReads();
        }
    }

    /** True when the connection is up and the session's state is one only it holds (a transaction, subscriptions). */
    boolean pinnedAndConnected() {
        return conn != null && conn.connected && state.pinned();
    }

    /** True when a request was sent and not answered (or its reply is held): its outcome would be unknown now. */
    boolean unknownOutcome() {
        return gate.holding() || slots.anyClientRequest();
    }

    // ---- replies ----

    /**
     * The start of a frame, {@code n} bytes at {@code in.readerIndex()}: taken (and passed on) unless the reply must
     * reach the session whole: a state change to learn the outcome of, a blocking command's (it may say it did not
     * run), or a write whose reply waits for the WAIT after it.
     */
    boolean onPartial(ByteBuf in, int n) {
        if (session.isClosed()) {
            in.skipBytes(n);
            return true;
        }
        Slot head = slots.peek();
        if (head == null ? !state.raw() : head != FORWARDED || slots.secondIsConfirmation()) {
            return false;
        }
        session.streamed(in.readRetainedSlice(n));
        return true;
    }

    /** A frame from the connection: a reply, or (raw session, RESP3 push) a message of its own. */
    void onFrame(ByteBuf frame, boolean push) {
        if (session.isClosed()) {
            frame.release();
            return;
        }
        if (!push && !onReply(frame)) {
            return;
        }
        session.passOn(frame);
        if (session.reader().waitState() == Wait.RETIRE && slots.inFlight() == 0) {
            retired();
        }
    }

    /** Settles the reply's slot; returns true when the frame goes to the client as it is. */
    private boolean onReply(ByteBuf frame) {
        Slot head = slots.peek();
        if (head instanceof Slot.Instead instead) {
            slots.answered();
            frame.release();
            session.passOn(instead.reply());
            return false;
        }
        if (head instanceof Slot.Blocked b && didNotRun(frame)) {
            frame.release();
            sendAgain(b);
            return false;
        }
        if (head == FORWARDED && route == Port.WRITE && frame.getByte(frame.readerIndex()) == '-'
                && Upstream.startsWith(frame, frame.readerIndex(), Upstream.READONLY) && conn != null) {
            // the master is a replica now (demoted before this proxy heard): the request did not run, and no more
            // go there (as on the shared connections, SharedUpstream#onFrame)
            demoted = conn.target;
            loop.masterDemoted(demoted);
            if (loop.settings().closeOnUnknown()) {
                frame.release();
                slots.answered();
                session.cutMidReply();
                return false;
            }
        }
        if (head instanceof Slot.Confirmation confirmation) {
            slots.answered();
            gate.answered(confirmation.needed(), frame, RELEASE);
            slots.writeLocalReplies();
            return false;
        }
        if (head == FORWARDED || head instanceof Slot.Blocked || head instanceof Slot.StateChange) {
            slots.answered();
            session.sized(frame.readableBytes());
            if (head instanceof Slot.StateChange c) {
                state.apply(c.change(), frame.getByte(frame.readerIndex()) == '-');
            }
            if (slots.peek() instanceof Slot.Confirmation) {
                gate.hold(session, frame, true);
                return false;
            }
        }
        return true;
    }

    /** The reply to our WAIT: the held write reply goes to the client if enough replicas confirmed, else an error. */
    private static final ConfirmationGate.Sink<ClientSession> RELEASE = new ConfirmationGate.Sink<>() {
        @Override
        public void reply(ClientSession session, ByteBuf reply) {
            session.write(reply);
        }

        @Override
        public void unconfirmed(ClientSession session, String error) {
            session.write(ClientSession.errorReply(error));
        }
    };

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
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - b.sentNanos());
        ByteBuf again = Unpooled.wrappedBuffer(RespWriter.request(BlockingRequest.withElapsed(b.args(), elapsedMs)));
        if (!session.reader().parkResend(again, b.write())) {
            again.release();
            session.cutMidReply();
            return;
        }
        loop.counters.increment(route, ProxyCount.RESENT);
        demoted = conn.target;
        loop.masterDemoted(demoted);
        if (session.reader().waitState() == Wait.RETIRE) {
            if (slots.inFlight() == 0) {
                retired();
            }
        } else {
            session.reader().waitFor(Wait.DRAIN); // sent once the replies before it are in (flushClient resumes)
        }
    }

    // ---- a new master ----

    /**
     * The write port's master is now {@code target}: the connection to the old one closes, unless its one request
     * in flight is a blocking command, whose connection is kept until the old master answers it ({@link #retire}).
     */
    void onTopologyChanged(Endpoint target, String reason) {
        if (conn != null && !conn.target.equals(target) && !retire()) {
            conn.closeDeliberately(reason);
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
     * learn of the new master before it learns writes were held (InFlightAtFailoverIT).
     *
     * @return true when the session retires its connection this way
     */
    private boolean retire() {
        if (session.reader().waitState() == Wait.RETIRE) {
            return true;
        }
        if (route != Port.WRITE || !conn.connected || session.reader().waitState() != Wait.NONE || session.reader().hasParked()
                || state.pinned() || !slots.onlyOne(Slot.Blocked.class)) {
            return false;
        }
        session.reader().waitFor(Wait.RETIRE);
        retireTimer = session.client().eventLoop().schedule(this::retireExpired, loop.settings().holdMs(),
                TimeUnit.MILLISECONDS);
        return true;
    }

    private void retireExpired() {
        retireTimer = null;
        if (session.isClosed() || session.reader().waitState() != Wait.RETIRE || conn == null) {
            return;
        }
        session.reader().waitFor(Wait.NONE);
        conn.closeDeliberately("failover: the old master did not answer the blocked command within --hold-ms");
    }

    /** The retiring connection owes nothing more: it closes, and the session goes on (on the new master). */
    private void retired() {
        cancelRetire();
        DedicatedUpstream old = conn;
        conn = null;
        old.closeDeliberately("retired after a handover");
        session.reader().waitFor(Wait.NONE);
        session.goOn();
    }

    private void cancelRetire() {
        if (retireTimer != null) {
            retireTimer.cancel(false);
            retireTimer = null;
        }
    }

    // ---- the connection going ----

    /** Bytes of the replica link this session's SYNC opened, passed on as they came. */
    void onReplicaStream(ByteBuf bytes) {
        if (session.isClosed()) {
            bytes.release();
            return;
        }
        session.write(bytes);
    }

    ClientSession session() {
        return session;
    }

    void onReady(DedicatedUpstream d) {
        if (d == conn) {
            session.resume();
        }
    }

    /** The connection is gone: {@link LinkLoss} decides what the client sees. */
    void onLost(DedicatedUpstream d, String reason, boolean wasConnected) {
        if (log.isDebugEnabled()) {
            log.debug("{} dedicated lost {} (current {}) wasConnected={} inFlight={} wait={}: {}",
                    session.client().remoteAddress(), d, conn, wasConnected, slots.inFlight(), session.reader().waitState(), reason);
        }
        if (d != conn || session.isClosed()) {
            return;
        }
        conn = null;
        cancelRetire();
        if (session.reader().waitState() == Wait.RETIRE) {
            session.reader().waitFor(Wait.NONE);
        }
        loss.handle(d, reason, wasConnected, killSent);
    }

    /** A session that was only subscribed goes on at {@code next}, its subscriptions made again there. */
    void resubscribed(DedicatedUpstream next) {
        conn = next;
        killSent = false;
    }

    /** Closes the client after the replies already in: what was still in flight on the connection is dropped. */
    void closeAsRedisDid() {
        dropHeldReply();
        session.closeAfterReplies();
    }

    /** A reply held for the WAIT after it is dropped; true when there was one. */
    boolean dropHeldReply() {
        boolean had = gate.holding();
        gate.fail(owner -> { }); // the caller tells the client
        return had;
    }

    /** The session is gone: the connection closes, and what it held is released. */
    void close() {
        dropHeldReply();
        cancelRetire();
        if (conn != null) {
            conn.close();
            conn = null;
        }
    }

    @Override
    public String toString() {
        return String.valueOf(conn);
    }
}
