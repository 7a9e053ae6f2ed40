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
 * @param leaseDurationSeconds {@code --election lease}: the Lease's duration; 0 for {@code --election peers}
 *                          (no Lease: the peers alone decide)
 * @param busyGraceMs       how long the local redis may stay alive but unanswering (busy: a long script, a fork)
 *                          before this node counts it as down ({@code --busy-grace-ms})
 * @param zone              this node's availability zone ({@code --availability-zone}), empty for none: told to peers,
 *                          and its read port prefers the replicas of this zone
 */
public record ElectionSettings(Endpoint self, Endpoint redis, int httpPort, long heartbeatMs, long peerTimeoutMs,
                               int redisFailures, long maxLagMs, long handoverTimeoutMs, Quorum quorum,
                               int leaseDurationSeconds, long busyGraceMs, String zone) {

    public ElectionSettings {
        zone = zone == null ? "" : zone;
    }

    /** Settings with no zone. */
    public ElectionSettings(Endpoint self, Endpoint redis, int httpPort, long heartbeatMs, long peerTimeoutMs,
                            int redisFailures, long maxLagMs, long handoverTimeoutMs, Quorum quorum,
                            int leaseDurationSeconds, long busyGraceMs) {
        this(self, redis, httpPort, heartbeatMs, peerTimeoutMs, redisFailures, maxLagMs, handoverTimeoutMs, quorum,
                leaseDurationSeconds, busyGraceMs, "");
    }

    /**
     * The default busy grace: twice Redis's own {@code busy-reply-threshold} (5 s), after which a script still
     * running makes redis answer {@code -BUSY}; Sentinel waits {@code down-after-milliseconds} (30 s by default)
     * for the same reason.
     */
    public static final long DEFAULT_BUSY_GRACE_MS = 10_000;

    /** Settings with the default busy grace. */
    public ElectionSettings(Endpoint self, Endpoint redis, int httpPort, long heartbeatMs, long peerTimeoutMs,
                            int redisFailures, long maxLagMs, long handoverTimeoutMs, Quorum quorum,
                            int leaseDurationSeconds) {
        this(self, redis, httpPort, heartbeatMs, peerTimeoutMs, redisFailures, maxLagMs, handoverTimeoutMs, quorum,
                leaseDurationSeconds, DEFAULT_BUSY_GRACE_MS);
    }

    /** Settings of {@code --election peers}. */
    public ElectionSettings(Endpoint self, Endpoint redis, int httpPort, long heartbeatMs, long peerTimeoutMs,
                            int redisFailures, long maxLagMs, long handoverTimeoutMs, Quorum quorum) {
        this(self, redis, httpPort, heartbeatMs, peerTimeoutMs, redisFailures, maxLagMs, handoverTimeoutMs, quorum, 0);
    }

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
     * With {@link Quorum#MAJORITY}: a follower that last heard its leader at {@code t} may elect another
     * leader no sooner than {@code t + peerTimeout + heartbeat/2}; the leader counts it as a follower until
     * {@code t + leaderLeaseMs}, half a heartbeat earlier than the peer timeout to cover the delay of the
     * message that told it {@code t}. Safe while one-way delays stay under a heartbeat.
     */
    public long leaderLeaseMs() {
        return peerTimeoutMs - heartbeatMs / 2;
    }

    /**
     * How long a leader waits, once new writes are held, for requests already sent to it to be answered
     * before it pauses writes on its redis (a write that arrives after the pause could only fail).
     */
    public long handoverDrainMs() {
        return Math.max(10, heartbeatMs / 5);
    }

    /**
     * {@code --election lease}: how often the leader renews the Lease: every heartbeat, but no more than five times
     * per duration (the API server serves every renewal of every hive; a few failed ones in a row are tolerated).
     */
    public long leaseRenewMs() {
        return Math.max(heartbeatMs, leaseDurationSeconds * 1000L / 5);
    }

    /** Whether leadership is held through a Kubernetes Lease ({@code --election lease}). */
    public boolean leaseElection() {
        return leaseDurationSeconds > 0;
    }

    /**
     * {@code --election lease}: how long after sending its last successful renewal the leader still leads. Others
     * take the Lease no sooner than its duration after they saw that renewal stored, which is later than it was
     * sent; the margin (two heartbeats, at least a fifth of the duration) covers clock rates and the time it
     * takes to fence writes.
     */
    public long leaseHoldMs() {
        long duration = leaseDurationSeconds * 1000L;
        return duration - Math.max(2 * heartbeatMs, duration / 5);
    }
}
