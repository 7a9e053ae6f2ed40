package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The {@link ProxyCount}s of one event loop, per port. Written by that loop's thread only, so an increment
 * is a plain read and an opaque store: no lock, no CAS, no contention on the data path (the proxy forwards
 * ~100k requests per second per core). Read by any thread (a scrape), which sees each count whole (opaque
 * access is atomic for longs) and at most a moment old.
 */
final class LoopCounters {
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int KINDS = ProxyCount.ALL.length;

    private final long[] cells = new long[Port.values().length * KINDS];

    /** Adds {@code n} to a count; on the owning event loop only. */
    void add(Port port, ProxyCount what, long n) {
        int i = port.ordinal() * KINDS + what.ordinal();
        CELL.setOpaque(cells, i, (long) CELL.getOpaque(cells, i) + n);
    }

    void increment(Port port, ProxyCount what) {
        add(port, what, 1);
    }

    /** The current value of a count; any thread. */
    long get(Port port, ProxyCount what) {
        return (long) CELL.getOpaque(cells, port.ordinal() * KINDS + what.ordinal());
    }
}
