package dev.skep.election;

import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * How healthy the replicas of a leadership are: which may serve reads (live, following that leader in its epoch,
 * link up, no further behind than {@code --max-lag-ms}) and which are in sync enough to take over in a planned
 * handover. Lag is told in milliseconds from the leader's offsets sampled over time ({@link LeaderOffsets}): the
 * leader's own, or those its statuses report. Pure, and confined to the control thread, as {@link Election} is.
 */
final class ReplicaHealth {
    private final ElectionSettings settings;
    private final MemberView members;
    /** The offsets of one leadership's redis over time, and whose they are. */
    private final LeaderOffsets leaderOffsets = new LeaderOffsets();
    private Endpoint offsetsOf;
    private long offsetsEpoch;

    ReplicaHealth(ElectionSettings settings, MemberView members) {
        this.settings = settings;
        this.members = members;
    }

    /** The redis of {@code leaderNode}, leading {@code leaderEpoch}, had {@code offset} at {@code now}. */
    void sample(Endpoint leaderNode, long leaderEpoch, long offset, long now) {
        if (!leaderNode.equals(offsetsOf) || leaderEpoch != offsetsEpoch) {
            leaderOffsets.clear();
            offsetsOf = leaderNode;
            offsetsEpoch = leaderEpoch;
        }
        leaderOffsets.add(now, offset);
    }

    /**
     * The redis of the replicas of {@code of} (leading {@code ofEpoch}) fit to serve reads, sorted; with this node's
     * own when {@code local}, the snapshot of its redis probed at {@code localAt}, is an in-sync replica of it.
     */
    List<Endpoint> healthy(Endpoint of, long ofEpoch, long now, RedisSnapshot local, long localAt) {
        List<Endpoint> replicas = new ArrayList<>();
        for (Member m : members.all()) {
            NodeStatus s = m.status();
            if (members.live(m, now) && s.state() == NodeState.FOLLOWING && of.equals(s.leader())
                    && s.epoch() == ofEpoch && s.linkUp() && withinLag(of, ofEpoch, s.offset(), m.heardAt())) {
                replicas.add(s.redis());
            }
        }
        if (local != null && withinLag(of, ofEpoch, local.replOffset(), localAt)) {
            replicas.add(settings.redis());
        }
        replicas.sort(Comparator.naturalOrder());
        return replicas;
    }

    /**
     * Those of {@code replicas} in this node's zone (its own redis, and members that said the same zone, compared
     * without case); empty when this node has no zone. A member that said no zone is in none.
     */
    List<Endpoint> sameZone(List<Endpoint> replicas) {
        if (settings.zone().isEmpty()) {
            return List.of();
        }
        List<Endpoint> near = new ArrayList<>();
        for (Endpoint r : replicas) {
            if (r.equals(settings.redis())) {
                near.add(r);
                continue;
            }
            for (Member m : members.all()) {
                if (r.equals(m.status().redis()) && settings.zone().equalsIgnoreCase(m.status().zone())) {
                    near.add(r);
                    break;
                }
            }
        }
        return near;
    }

    /** Whether a replica that had {@code offset} at {@code at} is within --max-lag-ms of that leadership. */
    private boolean withinLag(Endpoint leaderNode, long leaderEpoch, long offset, long at) {
        if (settings.maxLagMs() == Long.MAX_VALUE) {
            return true;
        }
        if (!leaderNode.equals(offsetsOf) || leaderEpoch != offsetsEpoch) {
            return false; // nothing known of that leader's offsets yet: not offered until it is
        }
        return leaderOffsets.lagMs(offset, at) <= settings.maxLagMs();
    }

    /**
     * Whether {@code m} is a replica this leader (of {@code epoch}) may hand over to: live, following it in this
     * epoch with its link up, its redis known and not resyncing (tainted).
     */
    boolean inSync(Member m, long epoch, long now) {
        NodeStatus s = m.status();
        return members.live(m, now) && s.state() == NodeState.FOLLOWING && settings.self().equals(s.leader())
                && s.epoch() == epoch && s.linkUp() && !s.tainted() && !s.redisRunId().isEmpty();
    }
}
