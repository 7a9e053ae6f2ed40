package dev.skep.netty;

import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;

import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The select strategy of one event loop: while its owner expects an answer soon (the proxy has requests out
 * to a redis on the same machine, which answers in tens of microseconds), the loop polls for ready sockets,
 * yielding the processor between polls, for at most {@code spinNanos} of idleness; otherwise, and once that
 * is over, it sleeps in {@code epoll_wait} as Netty's default strategy does.
 *
 * <p>Why: waking a sleeping thread costs about 16 µs on a virtual machine, and a request through the proxy
 * would otherwise pay it twice more than a request to redis directly (the proxy wakes for the request and
 * again for redis's reply). Polling for the reply removes one of them. Why only for replies: the next request
 * of a client comes after a network round trip, often longer than any sensible spin, so polling for it would
 * burn a processor for nothing. Why yield: on a machine whose cores are all busy (redis, the clients and the
 * proxy on two cores), a loop that polls without yielding takes the processor from the very threads that
 * would produce its next event; with {@code sched_yield} any other runnable thread goes first.
 *
 * <p>Not thread-safe: {@link #calculateStrategy} is called by its event loop's thread only; {@link #expecting}
 * is set once, from any thread, before or while the loop runs (volatile).
 */
public final class SpinThenSleep implements SelectStrategy {
    private final long spinNanos;
    private final LongSupplier clock;
    private final Runnable pause;
    private volatile BooleanSupplier expecting = () -> false;
    /** True while the loop is in a stretch of empty polls; {@link #since} is when it began. */
    private boolean spinning;
    private long since;

    /**
     * @param spinNanos how long an idle loop keeps polling while an answer is expected; 0 never polls
     * @param clock     {@link System#nanoTime} (a fake one in tests)
     * @param pause     what to do between two empty polls: {@link Thread#yield}
     */
    public SpinThenSleep(long spinNanos, LongSupplier clock, Runnable pause) {
        if (spinNanos < 0) {
            throw new IllegalArgumentException("spinNanos: " + spinNanos + " (expected: at least 0)");
        }
        this.spinNanos = spinNanos;
        this.clock = clock;
        this.pause = pause;
    }

    /** Sets what says whether this loop expects an answer soon; read on the loop's thread at every idle turn. */
    public void expecting(BooleanSupplier expecting) {
        this.expecting = expecting;
    }

    @Override
    public int calculateStrategy(IntSupplier selectNow, boolean hasTasks) throws Exception {
        if (hasTasks) {
            spinning = false;
            return selectNow.get(); // Netty's default: tasks to run, so only a poll that does not block
        }
        if (spinNanos == 0 || !expecting.getAsBoolean()) {
            spinning = false;
            return SELECT;
        }
        int ready = selectNow.get();
        if (ready > 0) {
            spinning = false;
            return ready;
        }
        long now = clock.getAsLong();
        if (!spinning) {
            spinning = true;
            since = now;
        }
        if (now - since < spinNanos) {
            pause.run();
            return CONTINUE; // the loop runs its tasks (none) and asks again
        }
        spinning = false;
        return SELECT;
    }
}
