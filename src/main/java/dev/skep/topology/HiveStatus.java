package dev.skep.topology;

import java.util.List;

/**
 * One node's view of the hive for operators ({@code /api/status}, {@code skep status}, {@code /readyz}):
 * immutable, rebuilt by the control thread after every event it handles, read by the HTTP server.
 *
 * @param node        this node's peer address
 * @param state       this node's election state (ALONE, PROPOSING, PROMOTING, FOLLOWING, LEADING, NOT_READY)
 * @param epoch       highest epoch this node has accepted
 * @param leader      the leader's peer address, or null
 * @param master      the master redis clients are sent to, or null
 * @param ready       what {@code /readyz} answers: local redis healthy, in the role the hive wants, leader known
 * @param readyReason why not ready (empty when ready)
 * @param members     every known member, this node included, sorted by address
 * @param events      the most recent events, oldest first
 * @param peerMessagesRejected peer messages dropped (bad MAC, malformed, wrong version)
 */
public record HiveStatus(
        Endpoint node,
        String state,
        long epoch,
        Endpoint leader,
        Endpoint master,
        boolean ready,
        String readyReason,
        List<Member> members,
        List<HiveEvent> events,
        long peerMessagesRejected) {

    public HiveStatus {
        members = List.copyOf(members);
        events = List.copyOf(events);
    }

    /**
     * One member as last heard (or, for this node, as it is now).
     *
     * @param lagBytes how far its redis is behind the master's offset (0 for the master, -1 unknown)
     * @param lastHeardMs milliseconds since its last heartbeat (0 for this node)
     */
    public record Member(
            Endpoint node,
            Endpoint redis,
            int httpPort,
            String state,
            long epoch,
            Endpoint leader,
            String redisRole,
            long replOffset,
            long lagBytes,
            boolean linkUp,
            long redisProcessId,
            String redisRunId,
            boolean self,
            boolean alive,
            long lastHeardMs) {}
}
