package dev.skep.election;

import dev.skep.topology.Endpoint;

/**
 * The fixed inputs of one node's election.
 *
 * @param self          this node's peer address (its identity)
 * @param redis         this node's redis as peers and clients reach it
 * @param httpPort      this node's admin HTTP port, told to peers
 * @param heartbeatMs   tick period
 * @param peerTimeoutMs a peer silent this long is presumed gone
 * @param redisFailures failed probes in a row that make this node NOT_READY
 * @param maxLagMs      a replica further behind the master than this is not offered for reads
 */
public record ElectionSettings(Endpoint self, Endpoint redis, int httpPort, long heartbeatMs, long peerTimeoutMs,
                               int redisFailures, long maxLagMs) {

    /** Settings with no limit on replica lag. */
    public ElectionSettings(Endpoint self, Endpoint redis, int httpPort, long heartbeatMs, long peerTimeoutMs,
                            int redisFailures) {
        this(self, redis, httpPort, heartbeatMs, peerTimeoutMs, redisFailures, Long.MAX_VALUE);
    }

    /** How long proposals are collected before deciding without the silent ones. */
    public long proposalWindowMs() {
        return 3 * heartbeatMs;
    }

    /** A member unheard of for this long is forgotten. */
    public long purgeAfterMs() {
        return Math.max(20 * peerTimeoutMs, 10_000);
    }
}
