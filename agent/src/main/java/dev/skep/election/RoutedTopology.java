package dev.skep.election;

import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;

import java.util.List;

/**
 * Where this node's proxies send clients: the master of the leadership it leads or follows (or, between leaders,
 * the one the rest of the hive follows), its replicas fit to serve reads, whether it holds writes for a handover,
 * and how many replicas each write waits for. Derived after every event and published only when it changes. Pure,
 * and confined to the control thread, as {@link Election} is.
 */
final class RoutedTopology {
    private final ElectionSettings settings;
    private final MemberView members;
    private final ReplicaHealth health;
    private final Handover handover;
    private final LeaderGuard guard;
    private final Outbox out;
    private Topology published = Topology.NONE;

    RoutedTopology(ElectionSettings settings, MemberView members, ReplicaHealth health, Handover handover,
            LeaderGuard guard, Outbox out) {
        this.settings = settings;
        this.members = members;
        this.health = health;
        this.handover = handover;
        this.guard = guard;
        this.out = out;
    }

    Topology published() {
        return published;
    }

    /**
     * Publishes the topology of a node in {@code state} of {@code epoch}, leading or following {@code leader}
     * ({@code leaderRedis}), its redis as probed at {@code localAt} being {@code redis} (null: not yet): one of the
     * replicas when it is in sync with the leader it follows.
     */
    void update(NodeState state, long epoch, Endpoint leader, Endpoint leaderRedis, RedisSnapshot redis, long localAt,
            long now) {
        RedisSnapshot local = state == NodeState.FOLLOWING && redis != null
                && redis.inSyncWith(leaderRedis.host(), leaderRedis.port()) ? redis : null;
        Topology t = switch (state) {
            case LEADING -> new Topology(epoch, settings.self(), settings.redis(),
                    health.healthy(settings.self(), epoch, now, local, localAt), handover.underWay(),
                    guard.syncReplicas());
            case FOLLOWING -> new Topology(epoch, leader, leaderRedis,
                    health.healthy(leader, epoch, now, local, localAt), members.handingOver(leader),
                    guard.syncReplicas());
            default -> {
                // Our own redis may be down (NOT_READY) or we may be between leaders: clients of this node's
                // proxy still go to the master the rest of the hive follows, if there is a live one.
                Member lead = members.liveLeader(now, state, epoch);
                yield lead == null ? new Topology(epoch, null, null, List.of(), false, guard.syncReplicas())
                        : new Topology(lead.status().epoch(), lead.status().node(), lead.status().redis(),
                                health.healthy(lead.status().node(), lead.status().epoch(), now, local, localAt),
                                lead.status().handoverTo() != null, guard.syncReplicas());
            }
        };
        List<Endpoint> near = health.sameZone(t.replicas());
        if (!near.isEmpty()) {
            t = new Topology(t.epoch(), t.leader(), t.master(), t.replicas(), t.writesHeld(), t.syncReplicas(), near);
        }
        if (!t.equals(published)) {
            published = t;
            out.add(new Effect.PublishTopology(t));
        }
    }
}
