package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Keeps every redis of the hive but the leader's fenced ({@code min-replicas-to-write} above any hive's size, so
 * that a client writing to it directly writes nothing the hive will discard): the local one, from each probe, and
 * those of members whose agents fell silent while their redis was a master. Pure, and confined to the control
 * thread, as {@link Election} is.
 */
final class Fencing {
    /** A fence the probes do not show done is asked for again at most this often. */
    private static final long FENCE_RETRY_MS = 5_000;

    private final ElectionSettings settings;
    private final MemberView members;
    private final Outbox out;
    private long fenceAskedAt = Long.MIN_VALUE / 2;
    private String fenceAskedOf = "";
    private long unfencedNotedAt = Long.MIN_VALUE / 2;

    Fencing(ElectionSettings settings, MemberView members, Outbox out) {
        this.settings = settings;
        this.members = members;
        this.out = out;
    }

    /**
     * The local redis, as probed in {@code r}: one that reports {@code role:master} while this node does not lead it
     * (just started, its agent restarted, this node stepped down or is stopping) is fenced now, before a client that
     * reaches it directly can write what the hive will discard. A leader finding its own redis fenced (by another
     * node that took its agent for dead, or a fence from before it led) lifts it at once, every probe: its clients'
     * writes fail meanwhile. A fence is asked for again at most every {@link #FENCE_RETRY_MS} while the probes do
     * not show it done (a redis that refuses CONFIG SET must not be asked every heartbeat).
     */
    void enforce(RedisSnapshot r, NodeState state, long epoch, long now) {
        if (r.role() != RedisRole.MASTER || state == NodeState.PROMOTING) {
            return; // promoting: the promotion lifts it
        }
        boolean wanted = state != NodeState.LEADING;
        if (wanted == r.fenced()) {
            fenceAskedAt = Long.MIN_VALUE / 2;
            return;
        }
        if (wanted) {
            if (now - fenceAskedAt < FENCE_RETRY_MS && r.runId().equals(fenceAskedOf)) {
                return;
            }
            fenceAskedAt = now;
            fenceAskedOf = r.runId();
            out.add(Effect.FenceWrites.fence("local redis is a master that this node does not lead (" + state + ")"));
            out.record("fenced", "local redis reports role:master while this node is " + state + ": fenced "
                    + "(min-replicas-to-write " + Effect.FenceWrites.FENCED + ") so that nobody writes to it directly");
        } else {
            out.add(Effect.FenceWrites.lift("leading epoch " + epoch + ": lifting a fence found on the local redis"));
            if (now - unfencedNotedAt >= FENCE_RETRY_MS) {
                unfencedNotedAt = now;
                out.record("unfenced", "leading epoch " + epoch + " and the local redis was fenced (by a node that "
                        + "took this one for silent?): lifted");
            }
        }
    }

    /**
     * The leader, or a node about to promote itself: the redis of members whose agents have fallen silent while
     * their redis was a master (killed, stuck, restarting) are fenced, so that no client writing to them
     * directly (a Sentinel-aware client sent there earlier) writes what the new master's history will not have.
     * Their own agents fence them too when they come back ({@link #enforce}); until then nobody else would.
     */
    void orphans(NodeState state, long epoch, long pendingEpoch, long now) {
        if (state != NodeState.LEADING && state != NodeState.PROMOTING) {
            return;
        }
        List<Endpoint> orphans = new ArrayList<>();
        for (Member m : members.all()) {
            NodeStatus s = m.status();
            if (!members.live(m, now) && s.redisRole() == RedisRole.MASTER && !s.redis().equals(settings.redis())) {
                orphans.add(s.redis());
            }
        }
        if (!orphans.isEmpty()) {
            orphans.sort(Comparator.naturalOrder());
            out.add(new Effect.FenceOrphans(orphans, (state == NodeState.LEADING ? "leader of epoch " + epoch
                    : "promoting for epoch " + pendingEpoch) + ": their agents are silent"));
        }
    }
}
