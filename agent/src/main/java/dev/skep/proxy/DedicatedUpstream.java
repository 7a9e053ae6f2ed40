package dev.skep.proxy;

import dev.skep.resp.RespWriter;
import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;

import java.util.List;

/**
 * The connection of one session that left the shared path (SELECT, AUTH, MULTI, subscribe, blocking
 * commands..., or replies so large they would hold up everyone's on a shared one): every command on it behaves
 * exactly as on a direct connection to redis. Its reads follow its one client: when the client does not read,
 * neither does this connection, so redis (and its own output buffer limits) holds what the client has not
 * taken, not the proxy; a large reply is passed on as it streams in, so the proxy holds about one read of it.
 *
 * <p>A connection may be opened before any session needs it (a spare, {@link LoopContext#takeSpare}): a session
 * that leaves the shared path then sends its first request at once, as a direct client's would reach redis,
 * rather than after a connect that lets other clients' later requests overtake it.
 * Event-loop confined.
 */
final class DedicatedUpstream extends Upstream {
    /** The session link this connection serves; null while it is a spare. */
    private DedicatedLink link;

    DedicatedUpstream(LoopContext loop, Endpoint target, Port route, DedicatedLink link) {
        super(loop, target, route);
        this.link = link;
    }

    /** A spare: connected (and authenticated with {@code password}) before any session needs it. */
    static DedicatedUpstream spare(LoopContext loop, Endpoint target, String password) {
        DedicatedUpstream d = new DedicatedUpstream(loop, target, Port.WRITE, null);
        d.connect(password.isEmpty() ? List.of() : List.of(RespWriter.request("AUTH", password)));
        return d;
    }

    /** This spare now serves {@code s}: {@code replay} (its state) goes first, its replies consumed here. */
    void adopt(DedicatedLink l, List<byte[]> replay) {
        link = l;
        writeOwn(replay);
        internalReplies += replay.size();
    }

    /** Connects, sending {@code replay} first (the session's state: AUTH, SELECT, CLIENT SETNAME...). */
    void start(List<byte[]> replay) {
        connect(replay);
    }

    /**
     * Connects, sending {@code replay}, then {@code resubscribe} (the session's subscriptions), whose
     * {@code confirmations} come back as replies in RESP2 and as pushes in RESP3 ({@code resp3}): all consumed here,
     * so the client sees only the messages published from then on.
     */
    void start(List<byte[]> replay, List<byte[]> resubscribe, int confirmations, boolean resp3) {
        List<byte[]> setup = new java.util.ArrayList<>(replay);
        setup.addAll(resubscribe);
        connect(setup, replay.size() + (resp3 ? 0 : confirmations), resp3 ? confirmations : 0);
    }

    void send(ByteBuf request) {
        inFlight(1); // settled by the next reply: a command may have none (CLIENT REPLY OFF), the spin is bounded
        channel.write(request, channel.voidPromise());
    }

    void flush() {
        if (connected) {
            channel.flush();
        }
    }

    void close() {
        if (!closed) {
            repliesSettled();
            closed = true;
            deliberate = true;
            connected = false;
            if (channel != null) {
                channel.close();
            }
        }
    }

    /** Reads resumed by the session once its client drained. */
    void resumeReads() {
        if (connected && !closed) {
            channel.read();
        }
    }

    @Override
    void onConnected() {
        loop.upstreamUp(this);
        if (link != null) {
            link.onReady(this);
        }
    }

    @Override
    void onReply(ByteBuf frame, boolean push) {
        if (link == null) {
            frame.release(); // nothing was asked on a spare
            return;
        }
        link.onFrame(frame, push);
    }

    @Override
    void onRawBytes(ByteBuf bytes) {
        if (link == null) {
            bytes.release();
            return;
        }
        link.onReplicaStream(bytes);
    }

    @Override
    int onPartial(ByteBuf in, int n) {
        if (link == null) {
            in.skipBytes(n);
            return n;
        }
        return link.onPartial(in, n) ? n : 0;
    }

    @Override
    void afterReads() {
        repliesSettled();
        if (link != null) {
            link.session().flushClient();
        }
    }

    @Override
    boolean readWanted() {
        return link == null || link.session().clientWritable();
    }

    @Override
    void onWritable() {
        if (link != null) {
            link.session().maybeRead();
        }
    }

    @Override
    void onFailed(String reason, boolean wasConnected) {
        loop.upstreamGone(this, reason);
        if (link == null) {
            loop.spareGone(this);
            return;
        }
        link.onLost(this, reason, wasConnected);
    }
}
