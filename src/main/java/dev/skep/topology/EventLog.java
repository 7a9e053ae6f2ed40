package dev.skep.topology;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The most recent {@link HiveEvent}s of this node, oldest first, bounded: what {@code /api/status} and the
 * status page show. Thread-safe: the control thread adds, the HTTP threads read.
 */
public final class EventLog {
    private final int capacity;
    private final ArrayDeque<HiveEvent> events;

    public EventLog(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: at least 1)");
        }
        this.capacity = capacity;
        this.events = new ArrayDeque<>(capacity);
    }

    /** Adds {@code event}, dropping the oldest when full. */
    public synchronized void add(HiveEvent event) {
        if (events.size() == capacity) {
            events.removeFirst();
        }
        events.addLast(event);
    }

    /** A copy of the events, oldest first. */
    public synchronized List<HiveEvent> snapshot() {
        return List.copyOf(events);
    }
}
