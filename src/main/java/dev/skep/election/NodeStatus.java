package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.topology.Endpoint;

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
        long sentAtMillis) implements PeerMessage {}
