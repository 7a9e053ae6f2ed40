package dev.skep.proxy;

import dev.skep.proxy.RequestReader.Wait;
import dev.skep.proxy.Upstream.Port;
import dev.skep.resp.Route;
import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;

/**
 * A session's place on the shared connections: which one its plain requests go to (one at a time, so their replies
 * come back in order), whether it speaks RESP3 there, and sending on it. A session leaves it for a dedicated
 * connection of its own once it needs one; the replies come back through {@link SharedUpstream}, which calls the
 * session. Confined to the client channel's event loop.
 */
final class SharedLink implements SharedUpstream.Awaited {
    private static final Slot FORWARDED = Slot.Forwarded.INSTANCE;

    private final ClientSession session;
    private final LoopContext loop;
    private final Port route;
    private final PendingReplies slots;
    private SharedUpstream conn;
    /** The session said HELLO 3 on the shared path: it uses the shared connections that speak RESP3. */
    private boolean resp3;
    /** The user the session proved to be; null: none (the proxy's own connections). */
    private Identity identity;
    private boolean wrote;
    /** The connection got replies for this session and will flush its client after its read batch. */
    boolean flushPending;

    SharedLink(ClientSession session, LoopContext loop, Port route, PendingReplies slots) {
        this.session = session;
        this.loop = loop;
        this.route = route;
        this.slots = slots;
    }

    /** True when requests can go out on the connection now (connected, and writes not held for a handover). */
    boolean ready() {
        return conn != null && conn.connected && !conn.closed && !(loop.holdWrites && route == Port.WRITE);
    }

    /** Sends {@code count} consecutive plain requests in one slice (the connection is {@link #ready}). */
    void sendBatch(ByteBuf requests, int count, boolean hasWrite) {
        loop.counters.add(route, ProxyCount.COMMANDS_SHARED, count);
        session.failover().sentTo(conn.target);
        conn.send(this, requests, count, hasWrite);
        wrote = true;
    }

    /** Sends one plain request, or parks it while a connection is made, or holds it while there is no master. */
    boolean send(ByteBuf request, Route kind, String refusal, boolean write) {
        if (loop.holdWrites && route == Port.WRITE) {
            return session.hold(request, kind, refusal); // a handover: wait for the successor (or for writes to resume)
        }
        SharedUpstream u = conn;
        if (u == null || u.closed) {
            Endpoint target = loop.target(session);
            u = target == null ? null : loop.shared(route, target, identity, resp3);
            if (u == null || u.closed) {
                return session.hold(request, kind, refusal); // none, or refused at once: the target is down
            }
            conn = u;
            u.attached.add(session);
        }
        if (!u.connected) {
            u.awaitConnect(session);
            session.reader().park(request, kind, refusal, Wait.CONNECTING);
            return false;
        }
        session.holdDone();
        loop.counters.increment(route, ProxyCount.COMMANDS_SHARED);
        session.failover().sentTo(u.target);
        u.send(this, request, 1, write);
        slots.sent(FORWARDED);
        wrote = true;
        return true;
    }

    boolean resp3() {
        return resp3;
    }

    /** From now on the session's plain requests go over connections authenticated as {@code id} (and RESP3 ones). */
    void switchIdentity(Identity id, boolean toResp3) {
        identity = id;
        resp3 |= toResp3;
        leave();
    }

    /** From now on the session's plain requests go over the shared connections that speak RESP3. */
    void switchToResp3() {
        resp3 = true;
        leave();
    }

    boolean writable() {
        return conn == null || !conn.connected || conn.channel.isWritable();
    }

    void flush() {
        if (wrote) {
            wrote = false;
            if (conn != null) {
                conn.flush();
            }
        }
    }

    /** The write port's master (or the read port's replica) is now {@code target} (null: none for a moment). */
    void onTopologyChanged(Endpoint target) {
        if (conn != null && (target == null || !conn.target.equals(target))) {
            leave();
        }
    }

    /** {@code u} is gone: the next request picks another connection. */
    boolean detach(SharedUpstream u) {
        if (conn == u) {
            conn = null;
            return true;
        }
        return false;
    }

    void leave() {
        if (conn != null) {
            conn.attached.remove(session);
            conn = null;
        }
    }

    // ---- replies, from SharedUpstream ----

    /** The reply to this session's oldest shared request (what is left of it, when its start streamed). */
    void onReply(ByteBuf frame) {
        if (session.isClosed()) {
            frame.release();
            return;
        }
        slots.answered();
        int size = frame.readableBytes();
        session.sized(size, 1, size);
        session.write(frame);
        slots.writeLocalReplies();
    }

    /** The replies to this session's {@code count} oldest shared requests, in one buffer; the largest so many bytes. */
    void onReplies(ByteBuf frames, int count, int largest) {
        if (session.isClosed()) {
            frames.release();
            return;
        }
        slots.answered(count);
        session.sized(frames.readableBytes(), count, largest);
        session.write(frames);
        slots.writeLocalReplies();
    }

    /**
     * The start of this session's next reply, passed on as it streams in (the rest comes whole, to {@link #onReply}
     * or {@link #onReplies}). Dropped when the client is gone.
     */
    void onPartial(ByteBuf chunk) {
        if (session.isClosed()) {
            chunk.release();
            return;
        }
        session.streamed(chunk);
    }

    /** True when no local reply waits among the slots: replies can then be written several at once. */
    boolean canTakeRepliesTogether() {
        return !slots.localsQueued() && !session.isClosed();
    }

    /**
     * The session's oldest request is lost with the connection: the client's connection closes after the replies
     * before it (--unknown-outcome close), or the request gets an error in its place.
     */
    void onLost(String reason) {
        if (loop.settings().closeOnUnknown()) {
            if (!session.isClosed()) {
                session.cutMidReply(); // the replies before it are written: it is the oldest unanswered
            }
            return;
        }
        onError("ERR " + reason + ": the command may or may not have been executed");
    }

    /** The session's oldest request gets this error reply (without the leading '-') in place of redis's reply. */
    void onError(String error) {
        if (session.isClosed()) {
            return;
        }
        if (session.streamedMidReply()) {
            session.cutMidReply();
            return;
        }
        slots.answered();
        if (error.startsWith("NOREPLICAS")) {
            loop.counters.increment(route, ProxyCount.ERRORS_NOREPLICAS);
        } else {
            session.failover().lost();
        }
        session.write(ClientSession.errorReply(error));
        slots.writeLocalReplies();
    }

    ClientSession session() {
        return session;
    }

    @Override
    public String toString() {
        return String.valueOf(conn);
    }
}
