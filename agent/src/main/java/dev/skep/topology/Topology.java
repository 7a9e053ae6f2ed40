package dev.skep.topology;

import java.util.List;

/**
 * Where client traffic goes, as this node knows it: immutable, published by the control thread and read
 * by Netty event loops (proxy, Sentinel endpoint) and the admin HTTP server.
 *
 * @param epoch    the leadership epoch this topology belongs to (0: none yet)
 * @param leader   the leading node's peer address, or null when no leader is known
 * @param master   the leader's redis, confirmed {@code role:master}; null while there is no master
 * @param replicas redis addresses of healthy replicas of that master (link up)
 * @param writesHeld a planned handover is under way: {@code master} is still this epoch's master and
 *                   answers what it was sent, but new writes must wait (the proxy holds them) until the
 *                   successor's epoch is published, or the handover is abandoned and this flag clears
 * @param syncReplicas {@code --quorum majority}: how many replicas must confirm a write (redis {@code WAIT})
 *                   before the proxy acknowledges it, so that no write it acknowledged can be lost to a
 *                   partition; 0 for none
 * @param nearReplicas those of {@code replicas} in this node's availability zone ({@code --availability-zone}), which
 *                   its read port prefers; empty with no zone, or none there
 */
public record Topology(long epoch, Endpoint leader, Endpoint master, List<Endpoint> replicas, boolean writesHeld,
                       int syncReplicas, List<Endpoint> nearReplicas) {
    public static final Topology NONE = new Topology(0, null, null, List.of());

    public Topology {
        replicas = List.copyOf(replicas);
        nearReplicas = nearReplicas == null ? List.of() : List.copyOf(nearReplicas);
    }

    /** A topology with no zone preference. */
    public Topology(long epoch, Endpoint leader, Endpoint master, List<Endpoint> replicas, boolean writesHeld,
                    int syncReplicas) {
        this(epoch, leader, master, replicas, writesHeld, syncReplicas, List.of());
    }

    /** A topology with writes flowing (no handover under way). */
    public Topology(long epoch, Endpoint leader, Endpoint master, List<Endpoint> replicas) {
        this(epoch, leader, master, replicas, false, 0);
    }

    /** A topology whose writes need no replica's confirmation. */
    public Topology(long epoch, Endpoint leader, Endpoint master, List<Endpoint> replicas, boolean writesHeld) {
        this(epoch, leader, master, replicas, writesHeld, 0);
    }

    public boolean hasMaster() {
        return master != null;
    }
}
