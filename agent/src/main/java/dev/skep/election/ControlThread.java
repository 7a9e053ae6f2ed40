package dev.skep.election;

import java.util.List;
import java.util.function.LongFunction;

/**
 * The control thread ({@code skep-control}) as the I/O shells around the {@link Election} see it: what a shell learns
 * reaches the election there, in the order it was handed over. Callable from any thread; what is handed over once
 * the {@link ElectionLoop} is closing is dropped.
 */
@FunctionalInterface
interface ControlThread {
    /**
     * Runs {@code events} on the control thread with the time there, and hands the events it returns to the election
     * one after the other, with nothing in between (none: nothing to tell).
     */
    void handleAll(LongFunction<List<ElectionEvent>> events);

    /** Hands the event {@code event} builds with the control thread's time to the election. */
    default void handle(LongFunction<ElectionEvent> event) {
        handleAll(now -> List.of(event.apply(now)));
    }
}
