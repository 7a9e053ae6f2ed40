package dev.skep.election;

import dev.skep.redis.RedisSnapshot;
import dev.skep.topology.Endpoint;

import java.util.Objects;

/**
 * The follower's side of the leader it follows: what the leader's redis was last seen to be (its run id, its
 * replication id) and whether our redis was detached from it. A leader whose redis restarted (a new run id, most
 * likely empty) or that was lost with its redis down is detached from, so that our redis never resyncs an empty
 * dataset from whatever answers at that address. Pure, and confined to the control thread, as {@link Election} is.
 */
final class Following {
    private final Outbox out;
    private final LocalData data;
    private String runId = "";
    /** The replication id the leader last reported for its redis; empty from an agent too old to report one. */
    private String replId = "";
    private boolean detached;

    Following(Outbox out, LocalData data) {
        this.out = out;
        this.data = data;
    }

    String replId() {
        return replId;
    }

    boolean detached() {
        return detached;
    }

    /** This node starts following {@code l}. */
    void started(NodeStatus l) {
        runId = l.redisRunId();
        replId = l.replId();
        detached = false;
    }

    /** This node leads: it replicates nobody. */
    void ended() {
        detached = false;
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
        if (!snap.replicates(leaderRedis.host(), leaderRedis.port())) {
            out.add(new Effect.Follow(leaderRedis, "local redis is not replicating leader " + leader));
        } else if (snap.inSyncWith(leaderRedis.host(), leaderRedis.port()) && replId.isEmpty()) {
            data.resyncedFrom(leader, snap);
        }
    }

    /**
     * The leader was lost ({@code why}). Keep replicating a silent leader whose redis still streams to us (its agent
     * died, not its redis): the next master then resyncs us partially. Detach when that redis is down or was
     * declared so. Returns whether it detached now.
     */
    boolean lost(Endpoint leader, String why, boolean leaderRedisDown, boolean linkUp) {
        if (detached || (!leaderRedisDown && linkUp)) {
            return false;
        }
        detached = true;
        out.add(new Effect.Detach("leader " + leader + " lost (" + why + ")"));
        return true;
    }
}
