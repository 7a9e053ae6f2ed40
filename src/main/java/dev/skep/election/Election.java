package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One node's leader election: a pure state machine. {@link #handle} takes an event and returns the
 * effects to carry out; it does no I/O, reads no clock and starts no thread, so a simulation can run it
 * through thousands of schedules. Not thread-safe: one thread (the control thread) calls it.
 *
 * <p>The rules, with DESIGN.md's invariants:
 * <ul>
 *   <li>A node that starts (or whose redis is healthy again) first listens for a peer-timeout: if a leader
 *       exists it follows it, before anything else.</li>
 *   <li>With no live leader of an epoch at least ours, a ready node proposes ({@code since = now}, its
 *       offset). When every live ready member has proposed, or the proposal window has passed, each node
 *       ranks every live ready member ({@link Candidate#BEST_FIRST}); only the first may promote itself.
 *       A member that has not proposed still counts, with its current offset: a node never promotes over
 *       a member that has more data, it waits for that member to propose instead.</li>
 *   <li>The winner promotes its redis and only after {@code role:master} is confirmed takes its epoch,
 *       {@code max(highest heard + 1, now in ms)}, and announces it (invariant 4's precondition).</li>
 *   <li>A leader that hears of a higher epoch, or of an equal epoch led by a lower address, steps down at
 *       once (invariant 1).</li>
 *   <li>A node whose redis restarted is tainted until it has resynced from a leader: it ranks last, and
 *       never wins while an untainted ready member is alive (invariant 2).</li>
 * </ul>
 */
public final class Election {
    private final ElectionSettings settings;
    private final Map<Endpoint, Member> members = new HashMap<>();
    /** The offsets of one leadership's redis over time (for replica lag in ms), and whose they are. */
    private final LeaderOffsets leaderOffsets = new LeaderOffsets();
    private Endpoint offsetsOf;
    private long offsetsEpoch;
    private long probedAtMillis;

    private NodeState state = NodeState.ALONE;
    private long epoch;
    private long highestEpochSeen;
    private Endpoint leader;
    private Endpoint leaderRedis;
    private String leaderRunId = "";
    private long since;
    private long proposalOffset;
    private long pendingEpoch;
    private long listenUntil;
    private boolean tainted;
    private boolean detached;
    private int probeFailures;
    /** Successful probes so far, and their number when the leader was lost: a proposal waits for a new one. */
    private long probes;
    private long probesWhenLeaderLost = -1;
    private String lastProbeFailure = "";
    private RedisSnapshot redis;
    private Topology published = Topology.NONE;

    private List<Effect> out = new ArrayList<>();
    private boolean changed;

    /** A member as last heard: its status and when it arrived (local clock). */
    record Member(NodeStatus status, long heardAt) {}

    public Election(ElectionSettings settings, long now) {
        this.settings = Objects.requireNonNull(settings);
        this.listenUntil = now + settings.peerTimeoutMs();
    }

    /** Handles one event; returns the effects to carry out, in order. */
    public List<Effect> handle(ElectionEvent event) {
        out = new ArrayList<>();
        changed = false;
        long now = event.now();
        if (event instanceof ElectionEvent.Tick) {
            purge(now);
            evaluate(now);
            out.add(new Effect.Broadcast(status(now)));
            changed = false;
        } else if (event instanceof ElectionEvent.PeerStatusReceived e) {
            onPeerStatus(e.status(), now);
        } else if (event instanceof ElectionEvent.ProbeSucceeded e) {
            onProbe(e.snapshot(), now);
        } else if (event instanceof ElectionEvent.ProbeFailed e) {
            onProbeFailed(e.reason(), now);
        } else if (event instanceof ElectionEvent.PromotionFinished e) {
            onPromotionFinished(e, now);
        }
        publishTopology(now);
        if (changed) {
            out.add(new Effect.Broadcast(status(now)));
        }
        return out;
    }

    private void onPeerStatus(NodeStatus s, long now) {
        if (s.node().equals(settings.self())) {
            return;
        }
        Member previous = members.get(s.node());
        if (previous != null && s.sentAtMillis() < previous.status().sentAtMillis()) {
            return; // an older status overtaken by a newer one (reconnect, reordering): it says nothing new
        }
        members.put(s.node(), new Member(s, now));
        highestEpochSeen = Math.max(highestEpochSeen, s.epoch());
        if (s.state() == NodeState.LEADING) {
            sampleLeaderOffset(s.node(), s.epoch(), s.offset(), now);
        }
        if (state == NodeState.FOLLOWING && s.node().equals(leader) && !s.redisRunId().isEmpty()) {
            if (leaderRunId.isEmpty()) {
                leaderRunId = s.redisRunId();
            } else if (!leaderRunId.equals(s.redisRunId()) && !detached) {
                // The leader's redis is a new process, most likely empty: our redis must not resync from it.
                detached = true;
                out.add(new Effect.Detach("leader " + leader + "'s redis restarted (run_id changed)"));
            }
        }
        evaluate(now);
    }

    private void onProbe(RedisSnapshot snap, long now) {
        RedisSnapshot previous = redis;
        redis = snap;
        probes++;
        probedAtMillis = now;
        if (previous == null) {
            changed = true; // peers learn what our redis holds now, not at the next tick
        }
        probeFailures = 0;
        if (previous != null && !previous.runId().equals(snap.runId())) {
            // A new run_id is a new process: without persistence its dataset is whatever it was started
            // with, typically empty. It must resync from a leader before it may win (invariant 2).
            tainted = true;
            record("redis-restarted", "local redis restarted (run_id " + shortId(previous.runId()) + " -> "
                    + shortId(snap.runId()) + ", " + snap.keys() + " keys): must resync from the leader before it may lead");
            if (state == NodeState.LEADING || state == NodeState.PROMOTING) {
                stepDown("its redis restarted and may have lost data", now);
            }
        }
        if (state == NodeState.NOT_READY) {
            enter(NodeState.ALONE);
            listenUntil = now;
            record("ready", "local redis answers again");
        }
        if (state == NodeState.LEADING && snap.role() == RedisRole.REPLICA) {
            stepDown("its redis was made a replica outside Skep", now);
        }
        if ((state == NodeState.PROPOSING || state == NodeState.PROMOTING) && snap.replOffset() < proposalOffset) {
            proposalOffset = snap.replOffset(); // our data was replaced (a full sync): propose what we have
            changed = true;
        }
        if (state == NodeState.LEADING) {
            sampleLeaderOffset(settings.self(), epoch, snap.replOffset(), now);
        }
        if (state == NodeState.FOLLOWING) {
            if (!snap.replicates(leaderRedis.host(), leaderRedis.port())) {
                out.add(new Effect.Follow(leaderRedis, "local redis is not replicating leader " + leader));
            } else if (tainted && snap.inSyncWith(leaderRedis.host(), leaderRedis.port())) {
                tainted = false;
                changed = true;
                record("resynced", "local redis resynced from leader " + leader + " (" + snap.keys() + " keys)");
            }
        }
        evaluate(now);
    }

    private void onProbeFailed(String reason, long now) {
        probeFailures++;
        lastProbeFailure = reason;
        if (probeFailures >= settings.redisFailures() && state != NodeState.NOT_READY) {
            String cause = "local redis probe failed " + probeFailures + " times in a row: " + reason;
            if (state == NodeState.LEADING || state == NodeState.PROMOTING) {
                record("stepped-down", "gave up leadership of epoch " + epoch + ": " + cause);
                leader = null;
                leaderRedis = null;
            }
            enter(NodeState.NOT_READY);
            record("not-ready", cause);
        }
    }

    private void onPromotionFinished(ElectionEvent.PromotionFinished e, long now) {
        if (state != NodeState.PROMOTING || e.epoch() != pendingEpoch) {
            return; // abandoned: a leader appeared while our redis was being promoted
        }
        if (!e.ok()) {
            enter(NodeState.NOT_READY);
            record("promotion-failed", "could not promote local redis: " + e.detail());
            return;
        }
        epoch = e.epoch();
        highestEpochSeen = Math.max(highestEpochSeen, epoch);
        leader = settings.self();
        leaderRedis = settings.redis();
        tainted = false;
        detached = false;
        enter(NodeState.LEADING);
        record("promoted", "leading epoch " + epoch + ": local redis confirmed role:master");
    }

    /** Re-derives what this node should do from everything it knows now. */
    private void evaluate(long now) {
        if (state == NodeState.NOT_READY || redis == null) {
            return;
        }
        Member lead = liveLeader(now);
        switch (state) {
            case LEADING -> {
                if (lead != null) {
                    stepDown("leader " + lead.status().node() + " has epoch " + lead.status().epoch(), now);
                    follow(lead.status(), now);
                } else if (highestEpochSeen > epoch) {
                    stepDown("a peer has seen epoch " + highestEpochSeen + " > " + epoch, now);
                    evaluate(now);
                }
            }
            case PROMOTING -> {
                if (lead != null) {
                    record("election", "abandoned promotion: leader " + lead.status().node() + " appeared");
                    follow(lead.status(), now);
                }
            }
            default -> {
                if (lead != null) {
                    follow(lead.status(), now);
                    return;
                }
                if (state == NodeState.FOLLOWING) {
                    leaderLost(now);
                }
                if (now < listenUntil) {
                    return;
                }
                if (state != NodeState.PROPOSING) {
                    if (probes == probesWhenLeaderLost) {
                        // The last probe may be older than a sync that completed since: propose with a
                        // fresh offset, or an empty-looking node could lose to a really empty one.
                        return;
                    }
                    enter(NodeState.PROPOSING);
                    since = now;
                    proposalOffset = redis.replOffset();
                    record("election", "no live leader: proposing with offset " + proposalOffset);
                }
                decide(now);
            }
        }
    }

    private void decide(long now) {
        if (now - since < settings.heartbeatMs() / 2) {
            // Let our proposal reach the others, and statuses already in flight (a PROMOTING peer) reach
            // us, before deciding: nodes decide alike only from alike views.
            return;
        }
        List<Candidate> pool = new ArrayList<>();
        pool.add(new Candidate(settings.self(), tainted, proposalOffset, since));
        boolean everyoneProposed = true;
        for (Member m : members.values()) {
            NodeStatus s = m.status();
            if (!live(m, now) || s.state() == NodeState.NOT_READY) {
                continue;
            }
            if (s.state() == NodeState.PROMOTING) {
                return; // someone has decided already: wait for its announcement
            }
            if (s.redisRunId().isEmpty()) {
                // A member that just started and has not yet told us what its redis holds: it may hold
                // the most data. Bounded: its first probe answers, or its failures make it NOT_READY.
                return;
            }
            if (s.state() == NodeState.FOLLOWING) {
                // A live peer still hears a leader we do not (yet): a node that just (re)started and whose
                // first messages are slow, or a one-way loss. Electing now would make a second leader.
                return;
            }
            everyoneProposed &= s.state() == NodeState.PROPOSING;
            pool.add(Candidate.of(s));
        }
        if (!everyoneProposed && now - since < settings.proposalWindowMs()) {
            return;
        }
        pool.sort(Candidate.BEST_FIRST);
        if (!pool.get(0).node().equals(settings.self()) || (tainted && someoneKnownHasMoreData())) {
            return;
        }
        // The wall clock keeps epochs increasing even when every agent that knew the last one restarted
        // (agents keep no disk state); one more than the highest heard keeps them increasing under skew.
        pendingEpoch = Math.max(Math.max(highestEpochSeen, epoch) + 1, now);
        enter(NodeState.PROMOTING);
        record("election", "won the election for epoch " + pendingEpoch + " among " + pool.size()
                + " ready node(s) (offset " + proposalOffset + "): promoting local redis");
        out.add(new Effect.Promote(pendingEpoch, redis.runId(), proposalOffset,
                "won the election for epoch " + pendingEpoch));
    }

    /**
     * Invariant 2 when we cannot hear everyone: a restarted redis waits for any member still remembered
     * (not purged) that reported more data, rather than lead with less; it is forgotten after
     * {@link ElectionSettings#purgeAfterMs()}.
     */
    private boolean someoneKnownHasMoreData() {
        for (Member m : members.values()) {
            if (!m.status().tainted() && m.status().offset() > proposalOffset) {
                return true;
            }
        }
        return false;
    }

    private void follow(NodeStatus l, long now) {
        boolean same = state == NodeState.FOLLOWING && l.node().equals(leader) && l.epoch() == epoch;
        epoch = l.epoch();
        leader = l.node();
        leaderRedis = l.redis();
        if (same) {
            return;
        }
        leaderRunId = l.redisRunId();
        detached = false;
        enter(NodeState.FOLLOWING);
        record("following", "following leader " + l.node() + " (epoch " + epoch + ", redis " + l.redis() + ")");
        out.add(new Effect.Follow(l.redis(), "leader " + l.node() + " of epoch " + epoch));
    }

    private void leaderLost(long now) {
        Member m = members.get(leader);
        String why;
        boolean leaderRedisDown;
        if (m == null || !live(m, now)) {
            why = "silent for more than " + settings.peerTimeoutMs() + " ms";
            leaderRedisDown = false;
        } else {
            why = "now " + m.status().state();
            leaderRedisDown = m.status().state() == NodeState.NOT_READY || m.status().state() == NodeState.ALONE;
        }
        record("leader-lost", "leader " + leader + " of epoch " + epoch + " lost: " + why);
        probesWhenLeaderLost = probes;
        out.add(new Effect.Probe("leader lost"));
        // Keep replicating a silent leader whose redis still streams to us (its agent died, not its redis):
        // the next master then resyncs us partially. Detach when that redis is down or was declared so.
        if (!detached && (leaderRedisDown || !redis.linkUp())) {
            detached = true;
            out.add(new Effect.Detach("leader " + leader + " lost (" + why + ")"));
        }
        leader = null;
        leaderRedis = null;
        enter(NodeState.ALONE);
    }

    private void stepDown(String cause, long now) {
        record("stepped-down", "gave up leadership of epoch " + epoch + ": " + cause);
        leader = null;
        leaderRedis = null;
        enter(NodeState.ALONE);
        listenUntil = now;
    }

    /** The live leader of the highest epoch at least ours, other than this node; null when none. */
    private Member liveLeader(long now) {
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

    private boolean live(Member m, long now) {
        return now - m.heardAt() <= settings.peerTimeoutMs();
    }

    private void purge(long now) {
        members.values().removeIf(m -> now - m.heardAt() > settings.purgeAfterMs());
    }

    private void publishTopology(long now) {
        Topology t = switch (state) {
            case LEADING -> new Topology(epoch, settings.self(), settings.redis(),
                    healthyReplicas(now, settings.self(), epoch));
            case FOLLOWING -> new Topology(epoch, leader, leaderRedis, healthyReplicas(now, leader, epoch));
            default -> {
                // Our own redis may be down (NOT_READY) or we may be between leaders: clients of this node's
                // proxy still go to the master the rest of the hive follows, if there is a live one.
                Member lead = liveLeader(now);
                yield lead == null ? new Topology(epoch, null, null, List.of())
                        : new Topology(lead.status().epoch(), lead.status().node(), lead.status().redis(),
                                healthyReplicas(now, lead.status().node(), lead.status().epoch()));
            }
        };
        if (!t.equals(published)) {
            published = t;
            out.add(new Effect.PublishTopology(t));
        }
    }

    private List<Endpoint> healthyReplicas(long now, Endpoint of, long ofEpoch) {
        List<Endpoint> replicas = new ArrayList<>();
        for (Member m : members.values()) {
            NodeStatus s = m.status();
            if (live(m, now) && s.state() == NodeState.FOLLOWING && of.equals(s.leader()) && s.epoch() == ofEpoch
                    && s.linkUp() && withinLag(of, ofEpoch, s.offset(), m.heardAt())) {
                replicas.add(s.redis());
            }
        }
        if (state == NodeState.FOLLOWING && redis != null && redis.inSyncWith(leaderRedis.host(), leaderRedis.port())
                && withinLag(of, ofEpoch, redis.replOffset(), probedAtMillis)) {
            replicas.add(settings.redis());
        }
        replicas.sort(Comparator.naturalOrder());
        return replicas;
    }

    private void sampleLeaderOffset(Endpoint leaderNode, long leaderEpoch, long offset, long now) {
        if (!leaderNode.equals(offsetsOf) || leaderEpoch != offsetsEpoch) {
            leaderOffsets.clear();
            offsetsOf = leaderNode;
            offsetsEpoch = leaderEpoch;
        }
        leaderOffsets.add(now, offset);
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

    /** How far behind its leader, in ms, a member (or this node) is, as far as this node can tell; -1 unknown. */
    long lagMs(long offset, long at) {
        if (offsetsOf == null) {
            return -1;
        }
        long lag = leaderOffsets.lagMs(offset, at);
        return lag == Long.MAX_VALUE ? -1 : lag;
    }

    private void enter(NodeState next) {
        if (state != next) {
            state = next;
            changed = true;
        }
    }

    private void record(String kind, String message) {
        out.add(new Effect.Record(kind, message));
    }

    private static String shortId(String runId) {
        return runId.length() > 8 ? runId.substring(0, 8) : runId;
    }

    // ---- read-only views, for the status page and the tests ----

    /** This node's status as it tells its peers. */
    public NodeStatus status(long now) {
        boolean proposing = state == NodeState.PROPOSING || state == NodeState.PROMOTING;
        RedisSnapshot r = redis;
        return new NodeStatus(settings.self(), settings.redis(), settings.httpPort(), state, epoch, leader,
                proposing ? since : 0, proposing ? proposalOffset : (r == null ? 0 : r.replOffset()), tainted,
                r == null ? RedisRole.UNKNOWN : r.role(), r != null && r.linkUp(), r == null ? "" : r.runId(),
                r == null ? 0 : r.processId(), now);
    }

    public NodeState state() {
        return state;
    }

    public long epoch() {
        return epoch;
    }

    public Endpoint leader() {
        return leader;
    }

    public boolean tainted() {
        return tainted;
    }

    public RedisSnapshot redis() {
        return redis;
    }

    public Topology topology() {
        return published;
    }

    public ElectionSettings settings() {
        return settings;
    }

    /** Members as last heard, with their arrival time, for the status view. */
    public Map<Endpoint, Member> members() {
        return Map.copyOf(members);
    }

    public boolean isLive(Endpoint node, long now) {
        Member m = members.get(node);
        return m != null && live(m, now);
    }

    /**
     * What {@code /readyz} says: empty when the local redis is healthy, in the role the hive wants and a
     * leader is known; otherwise why not.
     */
    public String notReadyReason() {
        if (redis == null) {
            return "waiting for the first answer of the local redis";
        }
        return switch (state) {
            case NOT_READY -> "local redis unhealthy: " + lastProbeFailure;
            case LEADING -> redis.role() == RedisRole.MASTER ? "" : "leading but local redis reports role " + redis.role();
            case FOLLOWING -> redis.inSyncWith(leaderRedis.host(), leaderRedis.port()) ? ""
                    : "local redis is not yet in sync with leader " + leader;
            default -> "no leader yet (" + state + ")";
        };
    }
}
