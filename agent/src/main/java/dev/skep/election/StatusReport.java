package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Builds the operator's view ({@link HiveStatus}) from one node's election state. Pure: no I/O, no clock;
 * called by the control thread, which owns the {@link Election}.
 */
public final class StatusReport {
    private StatusReport() {}

    public static HiveStatus of(Election election, long now, List<HiveEvent> events, long peerMessagesRejected) {
        ElectionSettings settings = election.settings();
        NodeStatus self = election.status(now);
        Map<Endpoint, Member> members = election.members();
        long masterOffset = masterOffset(election, self, members);

        List<HiveStatus.Member> rows = new ArrayList<>();
        RedisSnapshot redis = election.redis();
        rows.add(row(self, redis == null ? 0 : redis.replOffset(), masterOffset, true, true, 0));
        for (Member m : members.values()) {
            NodeStatus s = m.status();
            boolean alive = election.isLive(s.node(), now);
            rows.add(row(s, s.offset(), masterOffset, false, alive, Math.max(0, now - m.heardAt())));
        }
        rows.sort(Comparator.comparing(HiveStatus.Member::node));
        String notReady = election.notReadyReason();
        return new HiveStatus(settings.self(), election.state(), election.epoch(), election.leader(),
                election.topology().master(), notReady.isEmpty(), notReady, rows, events, peerMessagesRejected,
                election.guard().leaseStatus(now));
    }

    /** The leader's replication offset as this node knows it, or -1 when there is no leader. */
    private static long masterOffset(Election election, NodeStatus self, Map<Endpoint, Member> members) {
        Endpoint leader = election.leader();
        if (leader == null) {
            return -1;
        }
        if (leader.equals(self.node())) {
            RedisSnapshot r = election.redis();
            return r == null ? -1 : r.replOffset();
        }
        Member m = members.get(leader);
        return m == null ? -1 : m.status().offset();
    }

    private static HiveStatus.Member row(NodeStatus s, long offset, long masterOffset, boolean self, boolean alive,
            long lastHeardMs) {
        long lag;
        if (s.state() == NodeState.LEADING) {
            lag = 0;
        } else if (masterOffset < 0 || s.state() != NodeState.FOLLOWING || s.redisRole() != RedisRole.REPLICA) {
            lag = -1;
        } else {
            // Offsets are sampled at different moments: a replica heard after the leader can be "ahead".
            lag = Math.max(0, masterOffset - offset);
        }
        return new HiveStatus.Member(s.node(), s.redis(), s.httpPort(), s.state(), s.epoch(), s.leader(),
                s.redisRole().name(), offset, lag, s.linkUp(), s.redisProcessId(), s.redisRunId(), self, alive,
                lastHeardMs, s.agentVersion());
    }
}
