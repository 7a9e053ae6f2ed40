package dev.skep.election;

import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What this node knows of the other members of its hive: each one's latest status and when it arrived (local
 * clock), which are live (heard within {@link ElectionSettings#peerTimeoutMs()}), which are ready, and how many
 * nodes the membership counts (discovered peers and members heard of, this node included). A member unheard of for
 * {@link ElectionSettings#purgeAfterMs()} is forgotten. Statuses that arrive out of order, or (where the caller asks)
 * late, are told apart here. Pure, and confined to the control thread, as {@link Election} is.
 */
final class MemberView {
    private final ElectionSettings settings;
    private final Outbox out;
    /** When this agent started: see {@link #unheardPeer}. */
    private final long startedAt;
    private final Map<Endpoint, Member> members = new HashMap<>();
    /** When each member was first heard since it (re)started, as far as this node can tell (its run id unknown). */
    private final Map<Endpoint, Long> firstHeard = new HashMap<>();
    /** Per sender, for {@link #stale}. */
    private final Map<Endpoint, Delay> delays = new HashMap<>();
    /** Discovery's last answer (the membership a majority is counted on). */
    private Set<Endpoint> discovered = Set.of();
    /** Discovery has answered once: before that, the membership a majority is counted on is unknown. */
    private boolean discoveryAnswered;

    /** When each member's connection to us ended (its agent's process ended, or it reconnected), as last told. */
    private final Map<Endpoint, Long> closedAt = new HashMap<>();
    /**
     * Members known gone with their redis ({@link #markGone}), each with the arrival time of its last status then: no
     * longer live until a newer status arrives.
     */
    private final Map<Endpoint, Long> gone = new HashMap<>();

    /** The shortest {@code arrival - sentAt} seen from a sender, and since when its messages look stale (-1: not). */
    private record Delay(long min, long staleSince) {}

    MemberView(ElectionSettings settings, Outbox out, long now) {
        this.settings = settings;
        this.out = out;
        this.startedAt = now;
    }

    Member get(Endpoint node) {
        return members.get(node);
    }

    Collection<Member> all() {
        return members.values();
    }

    /** A copy, for the status view. */
    Map<Endpoint, Member> snapshot() {
        return Map.copyOf(members);
    }

    /**
     * Whether {@code s} is older than the status last heard from its sender (a reconnect, reordering): it says
     * nothing new. Recorded when it is older by more than a peer timeout.
     */
    boolean overtaken(NodeStatus s, long now) {
        Member previous = members.get(s.node());
        if (previous == null || s.sentAtMillis() >= previous.status().sentAtMillis()) {
            return false;
        }
        if (previous.status().sentAtMillis() - s.sentAtMillis() > settings.peerTimeoutMs()) {
            out.record("out-of-order", "dropped a status of " + s.node() + " sent at " + s.sentAtMillis() + " < "
                    + previous.status().sentAtMillis() + " (now " + now + ", state " + s.state() + ")");
        }
        return true;
    }

    /**
     * Whether {@code s} spent longer than a peer timeout on its way: after a partition heals, TCP delivers
     * what the sender queued during it, and a status from the start of the cut ("proposing") must not pass
     * for the sender's present state. The sender's clock may differ from ours, so the delay is measured
     * against the shortest one seen from that sender ({@code arrival - sentAt}, skew included). A sender
     * whose messages all look stale for two peer timeouts had its clock stepped back: its new delay is taken.
     */
    boolean stale(NodeStatus s, long now) {
        long delay = now - s.sentAtMillis();
        Delay d = delays.get(s.node());
        if (d == null || delay < d.min()) {
            delays.put(s.node(), new Delay(delay, -1));
            return false;
        }
        if (delay - d.min() <= settings.peerTimeoutMs()) {
            if (d.staleSince() >= 0) {
                delays.put(s.node(), new Delay(d.min(), -1));
            }
            return false;
        }
        if (d.staleSince() < 0) {
            delays.put(s.node(), new Delay(d.min(), now));
            out.record("stale-status", "ignored a status of " + s.node() + " that spent " + (delay - d.min())
                    + " ms more than the fastest on its way (queued during a cut?)");
            return true;
        }
        if (now - d.staleSince() > 2 * settings.peerTimeoutMs()) {
            delays.put(s.node(), new Delay(delay, -1));
            return false;
        }
        return true;
    }

    /** Takes {@code s} as its sender's present status. */
    void heard(NodeStatus s, long now) {
        if (!members.containsKey(s.node()) || s.redisRunId().isEmpty()) {
            firstHeard.put(s.node(), now); // (again) a new agent, as far as this node can tell
        }
        members.put(s.node(), new Member(s, now));
    }

    /** When {@code node} was first heard since it (re)started; {@code now} when not known. */
    long firstHeard(Endpoint node, long now) {
        return firstHeard.getOrDefault(node, now);
    }

    void discovered(Set<Endpoint> peers) {
        discovered = Set.copyOf(peers);
        discoveryAnswered = true;
    }

    boolean discoveryAnswered() {
        return discoveryAnswered;
    }

    boolean live(Member m, long now) {
        return now - m.heardAt() <= settings.peerTimeoutMs() && !gone(m);
    }

    /** Whether {@code m}, as last heard, was found gone with its redis ({@link #markGone}). */
    boolean gone(Member m) {
        return Long.valueOf(m.heardAt()).equals(gone.get(m.status().node()));
    }

    /** The connection {@code node} opened to us ended (the peer port saw it close) at {@code now}. */
    void connectionClosed(Endpoint node, long now) {
        if (members.containsKey(node)) {
            closedAt.put(node, now);
        }
    }

    /** When {@code node}'s connection to us ended after its last status arrived; -1 when it has not. */
    private long closedSinceHeard(Endpoint node) {
        Long at = closedAt.get(node);
        Member m = members.get(node);
        return at == null || m == null || at < m.heardAt() ? -1 : at;
    }

    /**
     * Whether {@code leader}'s whole node is gone, from the crash's own evidence rather than its silence: its agent's
     * connection to us ended after its last status, our redis's replication link is down in a probe since
     * ({@code ownLinkDown}, probed at {@code ownProbedAt}), and every other live member has told us since that its
     * link is down too. A dead agent alone leaves the links up (its redis still streams); a redis that lost its links
     * alone leaves the agent connected (and saying so); a partition closes nothing.
     */
    boolean goneWithItsRedis(Endpoint leader, boolean ownLinkDown, long ownProbedAt, long now) {
        long closed = closedSinceHeard(leader);
        if (closed < 0 || !ownLinkDown || ownProbedAt < closed) {
            return false;
        }
        for (Member m : members.values()) {
            if (m.status().node().equals(leader) || !live(m, now)) {
                continue;
            }
            if (m.heardAt() < closed || m.status().linkUp()) {
                return false;
            }
        }
        return true;
    }

    /** {@code node} is gone ({@link #goneWithItsRedis}): not live until a newer status of it arrives. */
    void markGone(Endpoint node) {
        Member m = members.get(node);
        if (m != null) {
            gone.put(node, m.heardAt());
        }
    }

    boolean isLive(Endpoint node, long now) {
        Member m = members.get(node);
        return m != null && live(m, now);
    }

    /** How long ago {@code node} was last heard; -1 when it is not a member. */
    long heardAgo(Endpoint node, long now) {
        Member m = node == null ? null : members.get(node);
        return m == null ? -1 : Math.max(0, now - m.heardAt());
    }

    void purge(long now) {
        members.values().removeIf(m -> now - m.heardAt() > settings.purgeAfterMs());
        firstHeard.keySet().retainAll(members.keySet());
        closedAt.keySet().retainAll(members.keySet());
        gone.keySet().retainAll(members.keySet());
    }

    /** Every node this one knows of: itself, discovered peers, members heard of (not yet purged). */
    int membershipSize() {
        Set<Endpoint> all = new HashSet<>(discovered);
        all.addAll(members.keySet());
        all.add(settings.self());
        return all.size();
    }

    /**
     * Ready nodes, itself included, heard within a heartbeat and a half: everyone sends every heartbeat, so a
     * node cut off from the others finds them stale long before it could decide an election (a leader is
     * declared lost only after a whole peer timeout).
     */
    int freshReady(long now) {
        int n = 1;
        for (Member m : members.values()) {
            if (now - m.heardAt() <= settings.heartbeatMs() * 3 / 2 && m.status().state() != NodeState.NOT_READY) {
                n++;
            }
        }
        return n;
    }

    /** Whether this agent started less than a purge period ago (see {@link #unheardPeer}). */
    boolean young(long now) {
        return now - startedAt < settings.purgeAfterMs();
    }

    /** Whether this node knows of any other: discovered, or heard of. */
    boolean knowsOthers() {
        return !(discovered.isEmpty() && members.isEmpty());
    }

    /**
     * A discovered peer this agent has never heard from, while it is young: a cold JVM on a busy machine
     * may take seconds before peer messages flow, and a restarted agent that elected itself meanwhile took
     * the hive from the live leader (its wall-clock epoch is higher), discarding that leader's writes.
     * Bounded by {@link ElectionSettings#purgeAfterMs()}: a peer that never answers stops counting then.
     */
    Endpoint unheardPeer(long now) {
        if (!young(now)) {
            return null;
        }
        for (Endpoint p : discovered) {
            if (!members.containsKey(p)) {
                return p;
            }
        }
        return null;
    }

    /**
     * The live leader of the highest epoch at least {@code epoch}, other than this node; null when none. A node
     * that leads {@code epoch} itself sees only one that beats it: a higher epoch, or the same led by a lower
     * address.
     */
    Member liveLeader(long now, NodeState state, long epoch) {
        Member best = null;
        for (Member m : members.values()) {
            NodeStatus s = m.status();
            if (s.state() != NodeState.LEADING || !live(m, now) || s.epoch() < epoch) {
                continue;
            }
            if (best == null || beats(s, best.status())) {
                best = m;
            }
        }
        if (best == null) {
            return null;
        }
        if (state == NodeState.LEADING) {
            NodeStatus b = best.status();
            boolean wins = b.epoch() > epoch || (b.epoch() == epoch && b.node().compareTo(settings.self()) < 0);
            return wins ? best : null;
        }
        return best;
    }

    /** Two leaderships compared: the higher epoch wins; at equal epochs, the lower address. */
    private static boolean beats(NodeStatus a, NodeStatus b) {
        return a.epoch() > b.epoch() || (a.epoch() == b.epoch() && a.node().compareTo(b.node()) < 0);
    }

    /** Whether {@code node}, as last heard, is a leader holding writes for a handover. */
    boolean handingOver(Endpoint node) {
        Member m = members.get(node);
        return m != null && m.status().state() == NodeState.LEADING && m.status().handoverTo() != null;
    }
}
