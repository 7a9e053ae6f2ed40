package dev.skep.proxy;

import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.util.List;

/**
 * One check of a client's credentials against redis: a connection of its own that sends the client's
 * {@code AUTH user password}, takes redis's answer and closes. The session's shared connections cannot carry it
 * (an AUTH on one would change the user of every session on it), and its answer is redis's own, so a client sees
 * {@code -WRONGPASS} exactly as redis words it. Nothing is cached: a failure is never remembered, and a session
 * is checked once, when it authenticates. Confined to the loop.
 */
final class CredentialCheck extends Upstream {
    /** What became of the check; called once, on the loop. */
    interface Outcome {
        /** Redis answered ({@code +OK} or its error); ownership of {@code reply} passes to the callee. */
        void answered(ByteBuf reply);

        /** The connection failed before an answer: the credentials are neither good nor bad yet. */
        void failed(String reason);
    }

    private final byte[] auth;
    private final Outcome outcome;
    private boolean done;

    CredentialCheck(LoopContext loop, Endpoint target, Port route, byte[] auth, Outcome outcome) {
        super(loop, target, route);
        this.auth = auth;
        this.outcome = outcome;
    }

    void start() {
        connect(List.of());
    }

    @Override
    void onConnected() {
        channel.writeAndFlush(Unpooled.wrappedBuffer(auth));
        inFlight(1);
    }

    @Override
    void onReply(ByteBuf frame, boolean push) {
        if (push || done) {
            frame.release();
            return;
        }
        done = true;
        repliesSettled();
        outcome.answered(frame);
        closeDeliberately("credentials checked");
    }

    @Override
    void afterReads() {
    }

    @Override
    boolean readWanted() {
        return true;
    }

    @Override
    void onWritable() {
    }

    @Override
    void onFailed(String reason, boolean wasConnected) {
        loop.upstreamGone(this, reason);
        if (!done) {
            done = true;
            outcome.failed(reason);
        }
    }
}
