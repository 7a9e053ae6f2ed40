package dev.skep.status;

import dev.skep.topology.Endpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

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
 * @param lease       {@code --election lease}: the Lease as this node last saw it; null with {@code --election peers}
 * @param tls         the TLS certificate this agent presents; null when TLS is off
 */
public record HiveStatus(
        Endpoint node,
        NodeState state,
        long epoch,
        Endpoint leader,
        Endpoint master,
        boolean ready,
        String readyReason,
        List<Member> members,
        List<HiveEvent> events,
        long peerMessagesRejected,
        Lease lease,
        Tls tls) {

    /** A status of {@code --election peers} (no Lease). */
    public HiveStatus(Endpoint node, NodeState state, long epoch, Endpoint leader, Endpoint master, boolean ready,
                      String readyReason, List<Member> members, List<HiveEvent> events, long peerMessagesRejected) {
        this(node, state, epoch, leader, master, ready, readyReason, members, events, peerMessagesRejected, null, null);
    }

    /** A status without TLS. */
    public HiveStatus(Endpoint node, NodeState state, long epoch, Endpoint leader, Endpoint master, boolean ready,
                      String readyReason, List<Member> members, List<HiveEvent> events, long peerMessagesRejected,
                      Lease lease) {
        this(node, state, epoch, leader, master, ready, readyReason, members, events, peerMessagesRejected, lease,
                null);
    }

    /**
     * The certificate an agent presents on its TLS ports and links.
     *
     * @param subject        its subject, e.g. {@code CN=skep}
     * @param notAfterMillis when it expires (epoch ms)
     * @param provider       the TLS implementation serving it: OPENSSL or JDK
     */
    public record Tls(String subject, long notAfterMillis, String provider) {}

    /** This status with {@code tls}. Pure. */
    public HiveStatus withTls(Tls t) {
        return new HiveStatus(node, state, epoch, leader, master, ready, readyReason, members, events,
                peerMessagesRejected, lease, t);
    }

    /**
     * The Lease of {@code --election lease} as one node last saw it.
     *
     * @param holder       its holder's peer address, "" when released or not read yet
     * @param heldHere     this node holds it and its hold has not run out
     * @param epoch        the epoch it records
     * @param transitions  how many times its holder changed ({@code leaseTransitions})
     * @param unchangedMs  how long ago this node saw it change (-1: never read); others take it once this
     *                     reaches its duration
     */
    public record Lease(String holder, boolean heldHere, long epoch, int transitions, long unchangedMs) {}

    public HiveStatus {
        members = List.copyOf(members);
        events = List.copyOf(events);
    }

    /**
     * This status with each member's proxy traffic as {@code traffic} tells it (null: unknown, left as it
     * was). Pure; called by the HTTP threads on the status the control thread published.
     */
    public HiveStatus withTraffic(Function<Member, Traffic> traffic) {
        List<Member> rows = new ArrayList<>(members.size());
        for (Member m : members) {
            Traffic t = traffic.apply(m);
            rows.add(t == null ? m : m.withTraffic(t));
        }
        return new HiveStatus(node, state, epoch, leader, master, ready, readyReason, rows, events,
                peerMessagesRejected, lease, tls);
    }

    /**
     * A node's proxy traffic as last measured.
     *
     * @param clients   client connections open on its write and read ports
     * @param opsPerSec commands per second through its proxy, over the last second or so
     */
    public record Traffic(int clients, double opsPerSec) {}

    /**
     * One member as last heard (or, for this node, as it is now).
     *
     * @param lagBytes how far its redis is behind the master's offset (0 for the master, -1 unknown)
     * @param lastHeardMs milliseconds since its last heartbeat (0 for this node)
     * @param clients  client connections on its proxy ports; null when unknown (its agent did not say)
     * @param opsPerSec commands per second through its proxy; null when unknown
     * @param version  the Skep version its agent runs; empty when unknown (an agent too old to say)
     */
    public record Member(
            Endpoint node,
            Endpoint redis,
            int httpPort,
            NodeState state,
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
            long lastHeardMs,
            Integer clients,
            Double opsPerSec,
            String version) {

        public Member {
            version = version == null ? "" : version;
        }

        /** A member whose traffic is not known (the election's view: traffic is added by the HTTP side). */
        public Member(Endpoint node, Endpoint redis, int httpPort, NodeState state, long epoch, Endpoint leader,
                String redisRole, long replOffset, long lagBytes, boolean linkUp, long redisProcessId,
                String redisRunId, boolean self, boolean alive, long lastHeardMs, String version) {
            this(node, redis, httpPort, state, epoch, leader, redisRole, replOffset, lagBytes, linkUp, redisProcessId,
                    redisRunId, self, alive, lastHeardMs, null, null, version);
        }

        /** A member whose traffic and version are not known. */
        public Member(Endpoint node, Endpoint redis, int httpPort, NodeState state, long epoch, Endpoint leader,
                String redisRole, long replOffset, long lagBytes, boolean linkUp, long redisProcessId,
                String redisRunId, boolean self, boolean alive, long lastHeardMs) {
            this(node, redis, httpPort, state, epoch, leader, redisRole, replOffset, lagBytes, linkUp, redisProcessId,
                    redisRunId, self, alive, lastHeardMs, null, null, "");
        }

        /** This member with {@code t} as its traffic. */
        public Member withTraffic(Traffic t) {
            return new Member(node, redis, httpPort, state, epoch, leader, redisRole, replOffset, lagBytes, linkUp,
                    redisProcessId, redisRunId, self, alive, lastHeardMs, t.clients(), t.opsPerSec(), version);
        }
    }
}
