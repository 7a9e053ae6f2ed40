package dev.skep.topology;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;

/**
 * The current {@link Topology}, swapped atomically. {@link #publish} is called by the control thread only;
 * {@link #current} by any thread. Listeners run on the publishing thread and must not block: they hand
 * the change to their own thread (an event loop) if they have work to do.
 */
public final class TopologyHolder {
    private final AtomicReference<Topology> current = new AtomicReference<>(Topology.NONE);
    private final List<BiConsumer<Topology, Topology>> listeners = new CopyOnWriteArrayList<>();

    public Topology current() {
        return current.get();
    }

    /** Publishes {@code next}; listeners get (previous, next) only when it differs from the current one. */
    public void publish(Topology next) {
        Topology previous = current.getAndSet(next);
        if (!previous.equals(next)) {
            for (BiConsumer<Topology, Topology> l : listeners) {
                l.accept(previous, next);
            }
        }
    }

    public void addListener(BiConsumer<Topology, Topology> listener) {
        listeners.add(listener);
    }
}
