package dev.skep.election;

import dev.skep.lease.LeaseRecord;
import dev.skep.redis.RedisController;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;

import java.util.List;

/** What the election asks the I/O shell to do. Effects are executed in the order they are returned. */
public sealed interface Effect {

    /** Send this status to every peer. */
    record Broadcast(NodeStatus status) implements Effect {}

    /**
     * Make the local redis master ({@code REPLICAOF NO ONE}), confirm {@code role:master}, then report
     * {@link ElectionEvent.PromotionFinished} for {@code epoch}. Refused (not ok) when the redis's
     * {@code run_id} is no longer {@code runId}: it restarted since the election looked at it, and an
     * empty restarted redis must never be promoted on the strength of the data it had before. Refused
     * too when its offset is below {@code minOffset}: its data was replaced (a full sync) since it proposed.
     */
    record Promote(long epoch, String runId, long minOffset, String reason) implements Effect {}

    /** Make the local redis a replica of {@code master} (idempotent). */
    record Follow(Endpoint master, String reason) implements Effect {}

    /**
     * Stop replicating ({@code REPLICAOF NO ONE}) because our master is gone: a redis that restarts empty
     * at the old address must not be able to hand its empty dataset to us.
     */
    record Detach(String reason) implements Effect {}

    /**
     * Probe the local redis now rather than at the next heartbeat, and report the result as usual: the
     * election needs a fresh offset before it proposes (the last probe may predate a sync that completed).
     */
    record Probe(String reason) implements Effect {}

    /** Clients should now be sent where this topology says. */
    record PublishTopology(Topology topology) implements Effect {}

    /** Something an operator should see in the event log, with its cause. */
    record Record(String kind, String message) implements Effect {}

    /**
     * First step of a planned handover, on the leader's redis: wait {@code drainMs} (requests already sent
     * are answered; the proxies hold new writes), pause writes ({@code CLIENT PAUSE ... WRITE}, lasting a
     * little past {@code deadlineMillis} so that redis resumes by itself if this agent dies), then wait until
     * {@code successorRedis} has replicated everything. Report {@link ElectionEvent.HandoverCaughtUp}; on
     * failure or at {@code deadlineMillis} (wall clock), resume writes first. {@code runId} is the local redis's
     * {@code run_id} as the election last probed it: a redis with another one restarted since (empty, most likely),
     * and a successor that synced from it holds none of the leader's data, so the handover fails.
     */
    record PrepareHandover(Endpoint successorRedis, String runId, long drainMs, long deadlineMillis, String reason)
            implements Effect {}

    /** Resume writes on the local redis ({@code CLIENT UNPAUSE}); after a handover, once it follows the successor. */
    record ResumeWrites(String reason) implements Effect {}

    /** A handover requested through {@link ElectionEvent.HandoverRequested} ended: tell whoever asked. */
    record HandoverDone(boolean ok, String detail, Endpoint successor, long epoch, long pausedMs) implements Effect {}

    /**
     * Set the local redis's {@code min-replicas-to-write}: {@link #FENCED} fences it (redis refuses every write,
     * {@code -NOREPLICAS}, so that clients writing to it directly stop too), 0 lifts the fence. Every redis of the
     * hive is fenced except the leader's: one that no agent leads (just started, its leader gone, its own agent
     * stepping down) must never take writes that the hive would later discard.
     */
    record FenceWrites(int minReplicas, String reason) implements Effect {
        /**
         * More replicas than any hive has: a fenced redis takes no write whatever connects to it. The chart and
         * {@code skep up} start redis with it ({@code --min-replicas-to-write 1000000}), so that a redis is fenced
         * from birth, before its agent runs.
         */
        public static final int FENCED = RedisController.FENCED_MIN_REPLICAS;

        /** Fences the local redis. */
        public static FenceWrites fence(String reason) {
            return new FenceWrites(FENCED, reason);
        }

        /** Lifts the fence: this node leads. */
        public static FenceWrites lift(String reason) {
            return new FenceWrites(0, reason);
        }
    }

    /**
     * The leader (or the node about to promote itself): fence each of these redis servers of the hive if it still
     * reports {@code role:master}. They are the redis of members whose agents fell silent while their redis was a
     * master (an agent killed, stuck, restarting): no agent keeps them from taking writes that the new master's
     * history will not have. Carried out off the control and redis threads, each bounded by a heartbeat.
     */
    record FenceOrphans(List<Endpoint> redis, String reason) implements Effect {
        public FenceOrphans {
            redis = List.copyOf(redis);
        }
    }

    /** Why the Lease is written ({@code --election lease}). */
    enum LeaseWrite {
        /** To take it, before the local redis is promoted. */
        CLAIM,
        /** The leader, every heartbeat: it still leads. */
        RENEW,
        /** The leader, in a planned handover: to its successor, once that has caught up. */
        HAND_OVER,
        /** The leader, on stepping down: the others need not wait for it to expire. */
        RELEASE
    }

    /**
     * {@code --election lease}: store {@code next} if the Lease is still at {@code next.resourceVersion()}, and
     * report {@link ElectionEvent.LeaseWritten}.
     */
    record WriteLease(LeaseRecord next, LeaseWrite kind, String reason) implements Effect {}
}
