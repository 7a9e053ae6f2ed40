package dev.skep.election;

import dev.skep.topology.Endpoint;

/**
 * The fixed inputs of one node's election.
 *
 * @param self              this node's peer address (its identity)
 * @param redis             this node's redis as peers and clients reach it
 * @param httpPort          this node's admin HTTP port, told to peers
 * @param heartbeatMs       tick period
 * @param peerTimeoutMs     a peer silent this long is presumed gone
 * @param redisFailures     failed probes in a row that make this node NOT_READY
 * @param maxLagMs          a replica further behind the master than this is not offered for reads
 * @param handoverTimeoutMs how long a planned handover may wait for its successor to catch up before it is
 *                          abandoned and writes resume on the current master
 * @param quorum            whether leading and electing need a majority of the membership
 */
public record ElectionSettings(Endpoint self, Endpoint redis, int httpPort, long heartbeatMs, long peerTimeoutMs,
                               int redisFailures, long maxLagMs, long handoverTimeoutMs, Quorum quorum) {

    /** The default bound on a planned handover, as {@code --handover-timeout-ms}. */
    public static final long DEFAULT_HANDOVER_TIMEOUT_MS = 5_000;

    /** Settings with no limit on replica lag, the default handover timeout and no quorum. */
    public ElectionSettings(Endpoint self, Endpoint redis, int httpPort, long heartbeatMs, long peerTimeoutMs,
                            int redisFailures) {
        this(self, redis, httpPort, heartbeatMs, peerTimeoutMs, redisFailures, Long.MAX_VALUE);
    }

    /** Settings with the default handover timeout and no quorum. */
    public ElectionSettings(Endpoint self, Endpoint redis, int httpPort, long heartbeatMs, long peerTimeoutMs,
                            int redisFailures, long maxLagMs) {
        this(self, redis, httpPort, heartbeatMs, peerTimeoutMs, redisFailures, maxLagMs, DEFAULT_HANDOVER_TIMEOUT_MS,
                Quorum.NONE);
    }

    /** How long proposals are collected before deciding without the silent ones. */
    public long proposalWindowMs() {
        return 3 * heartbeatMs;
    }

    /** A member unheard of for this long is forgotten. */
    public long purgeAfterMs() {
        return Math.max(20 * peerTimeoutMs, 10_000);
    }

    /**
     * With {@link Quorum#MAJORITY}, how long a leader goes on leading without hearing a majority: a
     * heartbeat less than the peer timeout, so that it has stepped down before the majority side, which
     * waits a whole peer timeout and then a proposal round, can have elected another leader.
     */
    public long leaderLeaseMs() {
        return Math.max(heartbeatMs, peerTimeoutMs - heartbeatMs);
    }

    /**
     * How long a leader waits, once new writes are held, for requests already sent to it to be answered
     * before it pauses writes on its redis (a write that arrives after the pause could only fail).
     */
    public long handoverDrainMs() {
        return Math.max(10, heartbeatMs / 5);
    }
}
