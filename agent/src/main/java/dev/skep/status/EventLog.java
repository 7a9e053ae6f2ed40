package dev.skep.status;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The most recent {@link HiveEvent}s of this node, oldest first, bounded: what {@code /api/status} and the
 * status page show. Thread-safe: the control thread adds, the HTTP threads read. Listeners (metrics) are
 * called on the adding thread, after the event is in the log, and must not block.
 */
public final class EventLog {
    private final int capacity;
    private final ArrayDeque<HiveEvent> events;
    private final List<Consumer<HiveEvent>> listeners = new CopyOnWriteArrayList<>();
    /**
     * The copy last handed out, until the next {@link #add}: the control thread asks after every event (several times
     * a heartbeat) and events are rare, so copying each time was most of what an idle agent's log cost.
     */
    private List<HiveEvent> copy = List.of();

    public EventLog(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: at least 1)");
        }
        this.capacity = capacity;
        this.events = new ArrayDeque<>(capacity);
    }

    /** Adds {@code event}, dropping the oldest when full, and tells the listeners. */
    public void add(HiveEvent event) {
        synchronized (this) {
            if (events.size() == capacity) {
                events.removeFirst();
            }
            events.addLast(event);
            copy = null;
        }
        for (Consumer<HiveEvent> l : listeners) {
            l.accept(event);
        }
    }

    /** Calls {@code listener} with every event added from now on. */
    public void addListener(Consumer<HiveEvent> listener) {
        listeners.add(listener);
    }

    /** A copy of the events, oldest first. */
    public synchronized List<HiveEvent> snapshot() {
        if (copy == null) {
            copy = List.copyOf(events);
        }
        return copy;
    }
}
