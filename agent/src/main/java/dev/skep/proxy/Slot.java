package dev.skep.proxy;

import io.netty.buffer.ByteBuf;

import java.util.List;

/**
 * What one unanswered request of a session waits for, kept in request order by {@link ClientSession}: the reply
 * the client gets for it is decided by the kind of its slot. Data only; the session that owns a slot is the only
 * one to touch it, on its event loop.
 */
sealed interface Slot {

    /** A request forwarded upstream whose reply goes to the client as it is. */
    final class Forwarded implements Slot {
        static final Forwarded INSTANCE = new Forwarded();

        private Forwarded() {
        }

        @Override
        public String toString() {
            return "Forwarded";
        }
    }

    /** A request that changes the session's state ({@code SELECT}, {@code MULTI}...): applied when its reply comes. */
    record StateChange(SessionState.Change change) implements Slot {}

    /**
     * A blocking command on the write port, its arguments kept until its reply: sent again if a demoted master
     * answers that it did not run.
     */
    record Blocked(List<byte[]> args, long sentNanos, boolean write) implements Slot {}

    /** A request whose reply from redis is dropped, {@code reply} going to the client in its place. */
    record Instead(ByteBuf reply) implements Slot {}

    /** A reply the proxy makes itself, written once every slot before it is answered. */
    record Local(ByteBuf reply) implements Slot {}

    /** The WAIT the proxy sent after a write ({@code --quorum majority}); its reply releases the write's. */
    record Confirmation(WriteConfirmation needed) implements Slot {}

    /** True for a request sent to redis by the client: its outcome is unknown if the connection goes first. */
    default boolean clientRequest() {
        return this instanceof Forwarded || this instanceof StateChange || this instanceof Blocked
                || this instanceof Instead;
    }

    /** Releases the buffer a slot holds, if any (the session is closing, or the slot is dropped). */
    default void release() {
        if (this instanceof Instead i) {
            i.reply().release();
        } else if (this instanceof Local l) {
            l.reply().release();
        }
    }
}
