package dev.skep.proxy;

import io.netty.buffer.ByteBuf;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * {@code --quorum majority}: replies held until the answer to the WAIT the proxy sent after them says enough
 * replicas have the writes. Both kinds of upstream use it: a shared connection for the many sessions' replies that
 * arrive while a WAIT of its is out, a dedicated connection for the one write reply before its WAIT. A reply marked
 * as needing confirmation becomes an error when the WAIT says too few replicas have it (a partition could lose the
 * write: its outcome is unknown to the client); the others, reads pipelined among the writes, go out as they are,
 * in order. Event-loop confined, like the connection that owns it.
 *
 * @param <T> who each held reply goes to
 */
final class ConfirmationGate<T> {
    /** Where released replies go, in the order they were held. */
    interface Sink<T> {
        void reply(T owner, ByteBuf reply);

        void unconfirmed(T owner, String error);
    }

    private record Held<T>(T owner, ByteBuf reply, boolean needsConfirmation) {}

    private final ArrayDeque<Held<T>> held = new ArrayDeque<>();
    /** WAITs sent and not answered yet: while any is, replies wait here. */
    private int waitsOut;

    /** A WAIT went out: replies from now on wait for its answer (or a later one's). */
    void waitSent() {
        waitsOut++;
    }

    /** True when replies must be held: a WAIT is out whose answer decides what the clients get. */
    boolean closed() {
        return waitsOut > 0;
    }

    boolean holding() {
        return !held.isEmpty();
    }

    void hold(T owner, ByteBuf reply, boolean needsConfirmation) {
        held.add(new Held<>(owner, reply, needsConfirmation));
    }

    /**
     * The answer to the oldest WAIT out: every reply held goes to its owner, a write's as an error when too few
     * replicas confirmed it. Releases {@code waitReply}.
     */
    void answered(WriteConfirmation wait, ByteBuf waitReply, Sink<T> sink) {
        waitsOut = Math.max(0, waitsOut - 1);
        String error = wait.unconfirmed(waitReply);
        while (!held.isEmpty()) {
            Held<T> h = held.poll();
            if (error == null || !h.needsConfirmation()) {
                sink.reply(h.owner(), h.reply());
            } else {
                h.reply().release();
                sink.unconfirmed(h.owner(), error);
            }
        }
    }

    /** The connection is gone: the held replies are dropped, their owners named in order; no WAIT is out any more. */
    void fail(Consumer<T> lost) {
        waitsOut = 0;
        while (!held.isEmpty()) {
            Held<T> h = held.poll();
            h.reply().release();
            lost.accept(h.owner());
        }
    }
}
