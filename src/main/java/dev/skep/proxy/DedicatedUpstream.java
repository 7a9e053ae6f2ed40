package dev.skep.proxy;

import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;

import java.util.List;

/**
 * The connection of one session that left the shared path (SELECT, AUTH, MULTI, subscribe, blocking
 * commands..., or replies so large they would hold up everyone's on a shared one): every command on it behaves
 * exactly as on a direct connection to redis. Its reads follow its one client: when the client does not read,
 * neither does this connection, so redis (and its own output buffer limits) holds what the client has not
 * taken, not the proxy; a large reply is passed on as it streams in, so the proxy holds about one read of it.
 * Event-loop confined.
 */
final class DedicatedUpstream extends Upstream {
    private final ClientSession session;

    DedicatedUpstream(LoopContext loop, Endpoint target, Port route, ClientSession session) {
        super(loop, target, route);
        this.session = session;
    }

    /** Connects, sending {@code replay} first (the session's state: AUTH, SELECT, CLIENT SETNAME...). */
    void start(List<byte[]> replay) {
        connect(replay);
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
        session.dedicatedReady(this);
    }

    @Override
    void onReply(ByteBuf frame, boolean push) {
        session.onDedicatedFrame(frame, push);
    }

    @Override
    int onPartial(ByteBuf in, int n) {
        return session.onDedicatedPartial(in, n) ? n : 0;
    }

    @Override
    void afterReads() {
        repliesSettled();
        session.flushClient();
    }

    @Override
    boolean readWanted() {
        return session.clientWritable();
    }

    @Override
    void onWritable() {
        session.maybeRead();
    }

    @Override
    void onFailed(String reason, boolean wasConnected) {
        loop.upstreamGone(this, reason);
        session.onDedicatedLost(this, reason, wasConnected);
    }
}
