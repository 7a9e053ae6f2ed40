package dev.skep.discovery;

import dev.skep.topology.Endpoint;

import java.util.Set;

/**
 * Where a node learns the peer addresses of the other nodes of its hive (and possibly its own, which the
 * caller filters out).
 *
 * <p>{@link #peers()} may block (a DNS lookup): it is called on a discovery thread of its own, never on the
 * control thread or an event loop. It must not throw for a transient failure: it returns what it can, an
 * empty set when it knows nothing, because a discovery blip must not take the node down.
 */
public interface PeerSource {
    /** The current peer addresses; a fresh answer on every call. */
    Set<Endpoint> peers();

    /** Whether every call answers the same (a fixed list): then it is asked once, not every heartbeat. */
    default boolean fixed() {
        return false;
    }
}
