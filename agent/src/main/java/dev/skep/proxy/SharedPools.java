package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import dev.skep.topology.Endpoint;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * One event loop's shared connections, by port, redis and the identity they authenticated as ({@code null}: the
 * proxy's own, the hive password when there is one). A pool holds {@code perPool} RESP2 connections, then as many
 * RESP3 ones, opened when first needed, so that whatever walks a pool (failover, failures) handles both.
 * Confined to the loop.
 */
final class SharedPools {
    private record Key(Port route, Endpoint target, Identity identity) {}

    private final Map<Key, SharedUpstream[]> pools = new HashMap<>();
    private final int perPool;
    private int next;

    SharedPools(int perPool) {
        this.perPool = perPool;
    }

    /** A shared connection to {@code target} as {@code identity}, opened (and authenticated) if need be. */
    SharedUpstream get(LoopContext loop, Port route, Endpoint target, Identity identity, boolean resp3) {
        SharedUpstream[] pool = pools.computeIfAbsent(new Key(route, target, identity), k -> new SharedUpstream[2 * perPool]);
        int i = Math.floorMod(next++, perPool) + (resp3 ? perPool : 0);
        if (pool[i] == null || pool[i].closed) {
            pool[i] = new SharedUpstream(loop, target, route, resp3);
            pool[i].start(identity, loop.password().current());
        }
        return pool[i];
    }

    /** {@code u} failed or closed: its place is free. */
    void forget(Upstream u) {
        for (SharedUpstream[] pool : pools.values()) {
            for (int i = 0; i < pool.length; i++) {
                if (pool[i] == u) {
                    pool[i] = null;
                }
            }
        }
    }

    /** The redis servers {@code route} has pools to. */
    Set<Endpoint> targets(Port route) {
        Set<Endpoint> out = new LinkedHashSet<>();
        for (Key k : pools.keySet()) {
            if (k.route() == route) {
                out.add(k.target());
            }
        }
        return out;
    }

    /** Closes every pool of {@code route} to {@code target}, whatever identity; null route: both ports. */
    void close(Port route, Endpoint target, String reason) {
        for (Key k : new ArrayList<>(pools.keySet())) {
            if ((route == null || k.route() == route) && k.target().equals(target)) {
                for (SharedUpstream u : pools.remove(k)) {
                    if (u != null) {
                        u.closeDeliberately(reason);
                    }
                }
            }
        }
    }

    /** Closes them all (the proxy is stopping). */
    void closeAll(String reason) {
        for (Key k : new ArrayList<>(pools.keySet())) {
            close(k.route(), k.target(), reason);
        }
    }
}
