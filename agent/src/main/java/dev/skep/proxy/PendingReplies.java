package dev.skep.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * A session's unanswered requests, one {@link Slot} each, in request order, and the replies the proxy makes
 * itself among them: a local reply ({@link Slot.Local}: a refusal, {@code -MASTERDOWN}, QUIT's {@code +OK}) is
 * written as soon as every slot before it is answered, so the client reads its replies in the order it sent the
 * requests, whoever answered them (ClientSessionTest: a refusal between two reads).
 *
 * <p>Confined to the client channel's event loop.
 */
final class PendingReplies {
    private final ArrayDeque<Slot> slots = new ArrayDeque<>();
    /** Slots that wait for a reply from redis: every slot but the local replies queued among them. */
    private int inFlight;
    private int queuedLocals;
    /** A local reply was written and not yet flushed. */
    private boolean unflushed;
    private Channel client;

    void attach(Channel client) {
        this.client = client;
    }

    /** A request went upstream; its reply will be the next for {@code slot}. */
    void sent(Slot slot) {
        slots.add(slot);
        inFlight++;
    }

    /** The oldest slot, or null. */
    Slot peek() {
        return slots.peek();
    }

    /** The oldest slot was answered (and is removed). */
    Slot answered() {
        inFlight--;
        return slots.poll();
    }

    /** The {@code count} oldest slots were answered together. */
    void answered(int count) {
        for (int i = 0; i < count; i++) {
            slots.poll();
        }
        inFlight -= count;
    }

    /** A reply of the proxy's own: written now if nothing is owed before it, else after what is. */
    void local(ByteBuf reply) {
        if (slots.isEmpty()) {
            client.write(reply, client.voidPromise());
            unflushed = true;
        } else {
            slots.add(new Slot.Local(reply));
            queuedLocals++;
        }
    }

    /** Writes the local replies that are now first in line. */
    void writeLocalReplies() {
        while (slots.peek() instanceof Slot.Local local) {
            slots.poll();
            queuedLocals--;
            client.write(local.reply(), client.voidPromise());
        }
    }

    /**
     * The upstream is gone with requests unanswered: each local reply among them is written, and each request
     * slot is passed to {@code lost} (which answers it, or not) in order.
     */
    void failAll(java.util.function.Consumer<Slot> lost) {
        while (!slots.isEmpty()) {
            Slot s = slots.poll();
            if (s instanceof Slot.Local local) {
                client.write(local.reply(), client.voidPromise());
            } else {
                lost.accept(s);
            }
        }
        inFlight = 0;
        queuedLocals = 0;
    }

    /** True when the slot after the oldest is the WAIT confirming it ({@code --quorum majority}). */
    boolean secondIsConfirmation() {
        Iterator<Slot> it = slots.iterator();
        it.next();
        return it.hasNext() && it.next() instanceof Slot.Confirmation;
    }

    /** True when a request of the client's was sent and not answered: its outcome would be unknown now. */
    boolean anyClientRequest() {
        for (Slot s : slots) {
            if (s.clientRequest()) {
                return true;
            }
        }
        return false;
    }

    /** Requests sent and not answered. */
    int inFlight() {
        return inFlight;
    }

    boolean isEmpty() {
        return slots.isEmpty();
    }

    /** True when the only slot is {@code kind}'s. */
    boolean onlyOne(Class<? extends Slot> kind) {
        return slots.size() == 1 && kind.isInstance(slots.peek());
    }

    /** True when a local reply waits among the slots: replies then cannot be written several at once. */
    boolean localsQueued() {
        return queuedLocals > 0;
    }

    /** Whether a local reply was written unflushed since the last call. */
    boolean takeUnflushed() {
        boolean was = unflushed;
        unflushed = false;
        return was;
    }

    /** The session is gone: what the slots hold is released. */
    void clear() {
        slots.forEach(Slot::release);
        slots.clear();
        inFlight = 0;
        queuedLocals = 0;
    }
}
