package dev.skep.election;

import dev.skep.redis.RedisSnapshot;
import dev.skep.redis.ServerVersion;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.Objects;

/**
 * The follower's side of following a leader: pointing the local redis at the leader's (and, for a deposed leader,
 * telling what its redis discards), watching what the leader's redis is (its run id, its replication id), and
 * detaching our redis from it when that redis restarted (a new run id, most likely empty) or the leader was lost with
 * its redis down, so that our redis never resyncs an empty dataset from whatever answers at that address. Which node
 * leads, and the state changes, stay in {@link Election}. Pure, and confined to the control thread, as Election is.
 */
final class Following {
    private final ElectionSettings settings;
    private final MemberView members;
    private final LocalData data;
    private final LocalProbes probes;
    private final LeaderGuard guard;
    private final Outbox out;
    private String runId = "";
    /** The replication id the leader last reported for its redis; empty from an agent too old to report one. */
    private String replId = "";
    private boolean detached;
    /** The epoch this node led last, until it follows another leader (for the discarded-bytes report). */
    private long ledEpoch;
    /** The server and version the leader last reported for its redis; empty when unknown. */
    private String leaderRedisVersion = "";
    /** Why the local redis is not pointed at the leader's (it could not load its full sync); empty when it is. */
    private String refusal = "";

    Following(ElectionSettings settings, MemberView members, LocalData data, LocalProbes probes, LeaderGuard guard,
            Outbox out) {
        this.settings = settings;
        this.members = members;
        this.data = data;
        this.probes = probes;
        this.guard = guard;
        this.out = out;
    }

    String replId() {
        return replId;
    }

    /** Why the local redis is not replicating the leader's: a server that cannot load its full sync; empty if none. */
    String refusal() {
        return refusal;
    }

    /**
     * True when the local redis ({@code redis}, as last probed) could not load a full sync from the leader's redis:
     * then it is not pointed there (every attempt would fail the same way, and a Redis 8 master's sync loops on a
     * Valkey replica for ever); said once as an event, and in the readiness reason for as long as it lasts.
     */
    private boolean refused(RedisSnapshot redis, Endpoint leader) {
        String why = redis == null ? null
                : ServerVersion.cannotReplicateFrom(redis.version(), leaderRedisVersion).orElse(null);
        if (why == null) {
            refusal = "";
            return false;
        }
        if (!why.equals(refusal)) {
            out.record("incompatible-master", why + "; not replicating leader " + leader);
        }
        refusal = why;
        return true;
    }

    boolean detached() {
        return detached;
    }

    /** This node leads {@code epoch}: it replicates nobody. */
    void led(long epoch) {
        detached = false;
        ledEpoch = epoch;
    }

    /**
     * This node starts following {@code l}, its redis as last probed being {@code redis}: the local redis is pointed
     * at the leader's. A node that led last learns what its redis discards: whatever it wrote after the new leader's
     * history left ours.
     */
    void started(NodeStatus l, RedisSnapshot redis) {
        runId = l.redisRunId();
        replId = l.replId();
        leaderRedisVersion = l.redisVersion();
        detached = false;
        if (ledEpoch != 0 && redis != null) {
            long lost = l.masterSinceOffset() > 0 ? Math.max(0, redis.replOffset() - l.masterSinceOffset()) : -1;
            out.record("discarded", lost < 0 ? "led epoch " + ledEpoch + "; leader " + l.node() + " did not say where "
                    + "its history began: writes this node took after the split, if any, are discarded"
                    : lost == 0 ? "led epoch " + ledEpoch + "; leader " + l.node()
                    + " has all of its replication stream"
                    : "led epoch " + ledEpoch + "; discards " + lost + " bytes of its replication stream (offset "
                    + redis.replOffset() + ", leader " + l.node() + " began epoch " + l.epoch() + " at "
                    + l.masterSinceOffset() + ")");
            ledEpoch = 0;
        }
        out.record("following", "following leader " + l.node() + " (epoch " + l.epoch() + ", redis " + l.redis() + ")");
        if (!refused(redis, l.node())) {
            out.add(new Effect.Follow(l.redis(), "leader " + l.node() + " of epoch " + l.epoch()));
        }
    }

    /**
     * A status of the leader this node follows; {@code previous}, the one before it (null: none). A change of its
     * handover is told to it at once: we (and so our write port) hold its writes.
     */
    void heard(NodeStatus l, Member previous) {
        if (previous != null && !Objects.equals(previous.status().handoverTo(), l.handoverTo())) {
            out.changed();
        }
        replId = l.replId();
        leaderRedisVersion = l.redisVersion();
        if (l.redisRunId().isEmpty()) {
            return;
        }
        if (runId.isEmpty()) {
            runId = l.redisRunId();
        } else if (!runId.equals(l.redisRunId()) && !detached) {
            // The leader's redis is a new process, most likely empty: our redis must not resync from it.
            detached = true;
            out.add(new Effect.Detach("leader " + l.node() + "'s redis restarted (run_id changed)"));
        }
    }

    /**
     * A probe of our redis, {@code snap} ({@code previous} before it), while following {@code leader}: pointed at the
     * leader's redis again if it is not, and what it holds learnt ({@link LocalData#fullSynced},
     * {@link LocalData#resyncedFrom}).
     */
    void probed(RedisSnapshot previous, RedisSnapshot snap, Endpoint leader, Endpoint leaderRedis) {
        data.fullSynced(previous, snap, replId);
        if (refused(snap, leader)) {
            return;
        }
        if (!snap.replicates(leaderRedis.host(), leaderRedis.port())) {
            out.add(new Effect.Follow(leaderRedis, "local redis is not replicating leader " + leader));
        } else if (snap.inSyncWith(leaderRedis.host(), leaderRedis.port()) && replId.isEmpty()) {
            data.resyncedFrom(leader, snap);
        }
    }

    /**
     * {@code leader}, of {@code epoch}, is silent or no longer leads: the next proposal waits for a fresh probe. Keep
     * replicating a silent leader whose redis still streams to us ({@code linkUp}: its agent died, not its redis): the
     * next master then resyncs us partially. Detach when that redis is down or was declared so (and tell the guard).
     */
    void lost(Endpoint leader, long epoch, boolean linkUp, long now) {
        Member m = members.get(leader);
        String why;
        boolean leaderRedisDown;
        if (m != null && members.gone(m)) {
            why = "its node is gone (its agent's connection closed, replication links down)";
            leaderRedisDown = true;
        } else if (m == null || !members.live(m, now)) {
            why = "silent for more than " + settings.peerTimeoutMs() + " ms";
            leaderRedisDown = false;
        } else {
            why = "now " + m.status().state();
            leaderRedisDown = m.status().state() == NodeState.NOT_READY || m.status().state() == NodeState.ALONE;
        }
        out.record("leader-lost", "leader " + leader + " of epoch " + epoch + " lost: " + why);
        probes.askFresh("leader lost");
        if (detached || (!leaderRedisDown && linkUp)) {
            return;
        }
        detached = true;
        out.add(new Effect.Detach("leader " + leader + " lost (" + why + ")"));
        guard.detached(leader);
    }
}
