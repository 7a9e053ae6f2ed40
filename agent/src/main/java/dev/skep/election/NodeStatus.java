package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node's full state as it tells its peers, every heartbeat and at once on every change.
 *
 * @param node      sender's peer address (its identity)
 * @param redis     sender's redis address as peers and clients reach it
 * @param httpPort  sender's admin HTTP port (on the same host as {@code node})
 * @param state     election state
 * @param epoch     highest epoch the sender has accepted (its own, when leading)
 * @param leader    the leader it leads or follows, or null
 * @param since     when it started proposing (epoch millis), 0 when not proposing
 * @param offset    replication offset of its redis (when proposing: the offset at the proposal)
 * @param tainted   its redis restarted and has not yet resynced from a leader: it must not be preferred
 * @param redisRole role its redis reported
 * @param linkUp    its redis's link to its master is up (replicas)
 * @param redisRunId       {@code run_id} of its redis, empty when unknown
 * @param redisProcessId   {@code process_id} of its redis, 0 when unknown
 * @param sentAtMillis     sender's wall clock when sent
 * @param handoverTo       (leaders) the node it is handing over to, or null: its writes are held meanwhile
 * @param handoverOffset   (leaders) with {@code handoverTo}: -1 while the successor catches up; then the
 *                         offset at which writes were paused and the successor has reached: the successor
 *                         may promote itself, with at least that offset
 * @param masterSinceOffset (leaders) the replication offset at which its redis became master for this epoch:
 *                         where its history left the previous master's, for telling a deposed leader how
 *                         much of its own stream it discards
 * @param leaderHeardAgoMs (followers) how long before sending it had last heard its leader, -1 when not
 *                         following: the leader's lease under {@link Quorum#MAJORITY} is counted from it
 * @param replId           {@code master_replid} of its redis: a leader's names its history, and a replica that
 *                         synced from it carries the same; empty when unknown (an agent before this field)
 * @param dataEpoch        the epoch whose history its redis's data ends with: the epoch it led, or that of the
 *                         leader whose history (replid) its redis was seen to hold; 0 when unknown (a restarted
 *                         redis). Ranked before the offset, as Raft ranks a log's last term before its length:
 *                         offsets of diverged histories are not comparable
 * @param replId2          {@code master_replid2} of its redis: the id its data had before it last became a master
 *                         (promoted or detached), empty when none; lets others learn the epoch of that history
 * @param histories        the replication ids of leaders' histories the sender knows, each with the highest epoch
 *                         led under it (at most {@link #MAX_HISTORIES}, most recent last): an agent that restarted
 *                         learns the epoch of the data its redis holds from any peer that knows it, not only from one
 *                         whose redis carries the same id
 * @param agentVersion     the sender's Skep version ({@link dev.skep.status.SkepVersion}), empty when unknown (an
 *                         agent before this field): shows a hive in the middle of a rolling upgrade for what it is
 * @param redisVersion     its redis's server and version ({@code valkey 8.1.1}), empty when unknown: a replica checks
 *                         it can load what the leader's redis would send it ({@link dev.skep.redis.ServerVersion})
 * @param zone             its availability zone ({@code --availability-zone}), empty when none or unknown: read ports
 *                         prefer the replicas of their own zone
 */
public record NodeStatus(
        Endpoint node,
        Endpoint redis,
        int httpPort,
        NodeState state,
        long epoch,
        Endpoint leader,
        long since,
        long offset,
        boolean tainted,
        RedisRole redisRole,
        boolean linkUp,
        String redisRunId,
        long redisProcessId,
        long sentAtMillis,
        Endpoint handoverTo,
        long handoverOffset,
        long masterSinceOffset,
        long leaderHeardAgoMs,
        String replId,
        long dataEpoch,
        String replId2,
        Map<String, Long> histories,
        String agentVersion,
        String redisVersion,
        String zone) implements PeerMessage {

    /** At most this many {@link #histories} travel in one status (the most recent ones). */
    public static final int MAX_HISTORIES = 16;

    public NodeStatus {
        replId = replId == null ? "" : replId;
        replId2 = replId2 == null ? "" : replId2;
        histories = histories == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(histories));
        agentVersion = agentVersion == null ? "" : agentVersion;
        redisVersion = redisVersion == null ? "" : redisVersion;
        zone = zone == null ? "" : zone;
    }

    /** A status that does not say its zone (an agent before the field). */
    public NodeStatus(Endpoint node, Endpoint redis, int httpPort, NodeState state, long epoch, Endpoint leader,
                      long since, long offset, boolean tainted, RedisRole redisRole, boolean linkUp, String redisRunId,
                      long redisProcessId, long sentAtMillis, Endpoint handoverTo, long handoverOffset,
                      long masterSinceOffset, long leaderHeardAgoMs, String replId, long dataEpoch, String replId2,
                      Map<String, Long> histories, String agentVersion, String redisVersion) {
        this(node, redis, httpPort, state, epoch, leader, since, offset, tainted, redisRole, linkUp, redisRunId,
                redisProcessId, sentAtMillis, handoverTo, handoverOffset, masterSinceOffset, leaderHeardAgoMs, replId,
                dataEpoch, replId2, histories, agentVersion, redisVersion, "");
    }

    /** A status that does not say which version of Skep sent it. */
    public NodeStatus(Endpoint node, Endpoint redis, int httpPort, NodeState state, long epoch, Endpoint leader,
                      long since, long offset, boolean tainted, RedisRole redisRole, boolean linkUp, String redisRunId,
                      long redisProcessId, long sentAtMillis, Endpoint handoverTo, long handoverOffset,
                      long masterSinceOffset, long leaderHeardAgoMs, String replId, long dataEpoch, String replId2,
                      Map<String, Long> histories) {
        this(node, redis, httpPort, state, epoch, leader, since, offset, tainted, redisRole, linkUp, redisRunId,
                redisProcessId, sentAtMillis, handoverTo, handoverOffset, masterSinceOffset, leaderHeardAgoMs, replId,
                dataEpoch, replId2, histories, "", "");
    }

    /** A status without the leaders' histories it knows. */
    public NodeStatus(Endpoint node, Endpoint redis, int httpPort, NodeState state, long epoch, Endpoint leader,
                      long since, long offset, boolean tainted, RedisRole redisRole, boolean linkUp, String redisRunId,
                      long redisProcessId, long sentAtMillis, Endpoint handoverTo, long handoverOffset,
                      long masterSinceOffset, long leaderHeardAgoMs, String replId, long dataEpoch, String replId2) {
        this(node, redis, httpPort, state, epoch, leader, since, offset, tainted, redisRole, linkUp, redisRunId,
                redisProcessId, sentAtMillis, handoverTo, handoverOffset, masterSinceOffset, leaderHeardAgoMs, replId,
                dataEpoch, replId2, Map.of());
    }

    /** A status without the previous replication id. */
    public NodeStatus(Endpoint node, Endpoint redis, int httpPort, NodeState state, long epoch, Endpoint leader,
                      long since, long offset, boolean tainted, RedisRole redisRole, boolean linkUp, String redisRunId,
                      long redisProcessId, long sentAtMillis, Endpoint handoverTo, long handoverOffset,
                      long masterSinceOffset, long leaderHeardAgoMs, String replId, long dataEpoch) {
        this(node, redis, httpPort, state, epoch, leader, since, offset, tainted, redisRole, linkUp, redisRunId,
                redisProcessId, sentAtMillis, handoverTo, handoverOffset, masterSinceOffset, leaderHeardAgoMs, replId,
                dataEpoch, "", Map.of());
    }

    /** A status without the fields an older agent does not send (replication id, data epoch). */
    public NodeStatus(Endpoint node, Endpoint redis, int httpPort, NodeState state, long epoch, Endpoint leader,
                      long since, long offset, boolean tainted, RedisRole redisRole, boolean linkUp, String redisRunId,
                      long redisProcessId, long sentAtMillis, Endpoint handoverTo, long handoverOffset,
                      long masterSinceOffset, long leaderHeardAgoMs) {
        this(node, redis, httpPort, state, epoch, leader, since, offset, tainted, redisRole, linkUp, redisRunId,
                redisProcessId, sentAtMillis, handoverTo, handoverOffset, masterSinceOffset, leaderHeardAgoMs, "", 0, "",
                Map.of());
    }

    /** A status with no handover under way and no known promotion offset. */
    public NodeStatus(Endpoint node, Endpoint redis, int httpPort, NodeState state, long epoch, Endpoint leader,
                      long since, long offset, boolean tainted, RedisRole redisRole, boolean linkUp, String redisRunId,
                      long redisProcessId, long sentAtMillis) {
        this(node, redis, httpPort, state, epoch, leader, since, offset, tainted, redisRole, linkUp, redisRunId,
                redisProcessId, sentAtMillis, null, -1, 0, -1);
    }

    /** True when this is a leader handing over to {@code node} and the successor has caught up. */
    public boolean handsOverTo(Endpoint node) {
        return state == NodeState.LEADING && node.equals(handoverTo) && handoverOffset >= 0;
    }
}
