package dev.skep.election;

import dev.skep.redis.RedisController;
import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;

/**
 * One node of a {@link Sim}: its agent (the real {@link Election}, null while the agent is down), its redis as
 * {@link SimRedis} models it, and its agent's lease thread ({@link SimApiServer}).
 */
final class SimNode {
    private final Sim sim;
    final int id;
    final Endpoint peer;
    final Endpoint redisEp;
    Election election;
    int incarnation;
    long nextTick;
    /** When this agent (re)started: before its first messages arrive, no one can know its data. */
    long agentStartedAt;
    long agentBackAt = -1;
    long redisBackAt = -1;
    long lastEpoch;
    NodeState lastState = NodeState.ALONE;
    boolean redisUp = true;
    String runId;
    /** What this redis holds: {@code offset} writes along this history (see {@link SimRedis.History}). */
    SimRedis.History history;
    /** The run_id of this redis when it was last promoted: a later one restarted (empty) since. */
    String promotedRunId = "";
    /**
     * How many histories existed when this node's agent last told its redis whom to replicate: a master whose
     * data descends from a later empty restart restarted since, unknown to that command.
     */
    int historiesAtFollow;
    RedisRole role = RedisRole.MASTER;
    int master = -1;
    String syncedFrom = "";
    boolean linkUp;
    long offset;
    long nextConnect;
    long syncDoneAt = -1;
    long isolatedUntil = -1;
    /** Fenced ({@code min-replicas-to-write} above the hive's size): this redis takes no client write. */
    boolean fenced;
    /** Writes paused on this redis (a handover); clients' writes do not advance its offset. */
    boolean paused;
    /** When a pause ends by itself: RedisShell's CLIENT PAUSE lasts a second past the handover's deadline. */
    long pausedUntil;
    /** A handover's successor this node waits for (-1: none), and until when. */
    int handoverSuccessor = -1;
    /** When the last event of this agent's redis thread is delivered: the next comes no earlier. */
    long lastRedisEventAt;
    /** The run_id the leader's election knew when it asked for the handover: RedisController checks it. */
    String handoverRunId = "";
    long handoverDeadline;
    long leaseCheckAt;
    /** Last time this node had two-way links to a majority of running agents. */
    long majorityAt;
    long agentDiedAt = -1_000_000;
    long ledSince;
    // --election lease: the agent's lease thread runs one request at a time, writes before the next read
    final Deque<Effect.WriteLease> leaseWrites = new ArrayDeque<>();
    boolean leaseBusy;
    long nextLeaseRead;
    /** Cut off from the API server until then. */
    long apiCutUntil = -1;

    SimNode(Sim sim, int id) {
        this.sim = sim;
        this.id = id;
        this.peer = new Endpoint("10.0.0." + (id + 1), 7380);
        this.redisEp = new Endpoint("10.0.0." + (id + 1), 6379);
        this.runId = sim.newRunId();
        this.history = sim.redis.newHistory(null, 0);
        born();
        startAgent();
        this.nextTick = sim.rnd.nextInt((int) Sim.HB);
    }

    void startAgent() {
        incarnation++;
        lastEpoch = 0;
        lastState = NodeState.ALONE;
        election = new Election(new ElectionSettings(peer, redisEp, 8080, Sim.HB, Sim.TIMEOUT, 3, Long.MAX_VALUE, 2000,
                sim.majority ? Quorum.MAJORITY : Quorum.NONE, sim.lease ? Sim.LEASE_S : 0), sim.now);
        handoverSuccessor = -1;
        // a new lease thread: what the dead one had queued is gone (requests already sent may still land)
        leaseWrites.clear();
        leaseBusy = false;
        nextLeaseRead = sim.now;
        // discovery's first answer: the configured peers (a static list, or the Service's A records)
        Set<Endpoint> all = new HashSet<>();
        for (int j = 0; j < sim.n; j++) {
            if (j != id) {
                all.add(new Endpoint("10.0.0." + (j + 1), 7380));
            }
        }
        sim.network.enqueue(this, sim.now + 1, new ElectionEvent.PeersDiscovered(all, 0));
        agentStartedAt = sim.now;
    }

    /** A redis-server process starts: fenced and a replica of nowhere, or a writable master (fencedAtBirth). */
    void born() {
        fenced = sim.fencedAtBirth;
        role = sim.fencedAtBirth ? RedisRole.REPLICA : RedisRole.MASTER;
    }

    RedisSnapshot snapshot() {
        Endpoint upstream = master >= 0 ? sim.nodes[master].redisEp
                : role == RedisRole.REPLICA ? RedisController.NOWHERE : null;
        return new RedisSnapshot(runId, 100 + id, "7.0.15", role, upstream == null ? null : upstream.host(),
                upstream == null ? 0 : upstream.port(), linkUp, role == RedisRole.REPLICA && syncDoneAt >= 0, offset, offset, 0,
                fenced, 0, "h" + history.id(), // a history is what redis's master_replid names,
                history.parent() == null ? "" : "h" + history.parent().id()); // and its fork, master_replid2
    }
}
