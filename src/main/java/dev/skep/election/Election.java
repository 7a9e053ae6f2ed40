package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.topology.Endpoint;
import dev.skep.topology.HiveStatus;
import dev.skep.topology.Topology;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One node's leader election: a pure state machine. {@link #handle} takes an event and returns the
 * effects to carry out; it does no I/O, reads no clock and starts no thread, so a simulation can run it
 * through thousands of schedules. Not thread-safe: one thread (the control thread) calls it, and the parts it
 * is made of are confined to that thread with it.
 *
 * <p>The rules, with DESIGN.md's invariants:
 * <ul>
 *   <li>A node that starts (or whose redis is healthy again) first listens for a peer-timeout: if a leader
 *       exists it follows it, before anything else.</li>
 *   <li>With no live leader of an epoch at least ours, a ready node proposes; every node ranks the live ready
 *       members alike, and only the first may promote itself ({@link Candidacy}, invariant 3).</li>
 *   <li>The winner promotes its redis and only after {@code role:master} is confirmed takes its epoch,
 *       {@code max(highest heard + 1, now in ms)}, and announces it (invariant 4's precondition).</li>
 *   <li>A leader that hears of a higher epoch, or of an equal epoch led by a lower address, steps down at
 *       once (invariant 1).</li>
 *   <li>A node whose redis restarted is tainted until it has resynced from a leader: it ranks last, and
 *       never wins while an untainted ready member is alive (invariant 2, {@link LocalData}).</li>
 *   <li>A planned handover moves leadership to an in-sync replica without losing a write (invariant 5,
 *       {@link Handover}).</li>
 *   <li>What it takes to lead besides winning depends on the mode ({@link LeaderGuard}): nothing more by
 *       default, a majority under {@code --quorum majority}, the Kubernetes Lease under {@code --election lease}.</li>
 * </ul>
 * Leadership is taken in one place ({@link #lead}) and given up in one place ({@link #stepDown}), whatever the cause.
 */
public final class Election {
    private final ElectionSettings settings;
    private final Outbox out = new Outbox();
    private final MemberView members;
    private final ReplicaHealth health;
    private final Fencing fencing;
    private final Handover handover;
    /** What it takes to lead besides winning the election: the mode's rules. */
    private final LeaderGuard guard;
    private final LocalData data;
    private final ProbeFailures failures;
    private final Following following;
    private final Candidacy candidacy;
    private final RoutedTopology routed;

    private NodeState state = NodeState.ALONE;
    private long epoch;
    private long highestEpochSeen;
    /** The leader this node follows, or itself while it leads; null between leaders. */
    private Endpoint leader;
    private Endpoint leaderRedis;
    /** A node proposes no sooner: it first listens for a leader. */
    private long listenUntil;
    /** The epoch of the promotion under way, and the least offset it needs (a handover's final offset). */
    private long pendingEpoch;
    private long promoteMinOffset;
    /** Our redis's offset when it became master of our epoch (told to peers while leading). */
    private long masterSinceOffset;
    /** The epoch this node led last, until it follows another leader (for the discarded-bytes report). */
    private long ledEpoch;
    private RedisSnapshot redis;
    /** When {@link #redis} was probed: the age of its offset, for its own lag. */
    private long probedAt;
    /** Successful probes so far, and their number when the leader was lost: a proposal waits for a new one. */
    private long probes;
    private long probesWhenLeaderLost = -1;

    public Election(ElectionSettings settings, long now) {
        this.settings = Objects.requireNonNull(settings);
        this.listenUntil = now + settings.peerTimeoutMs();
        this.members = new MemberView(settings, out, now);
        this.health = new ReplicaHealth(settings, members);
        this.fencing = new Fencing(settings, members, out);
        this.handover = new Handover(settings, members, health, out);
        this.guard = LeaderGuard.of(settings, this, members, handover, out);
        this.data = new LocalData(out);
        this.failures = new ProbeFailures(settings, out);
        this.following = new Following(out, data);
        this.candidacy = new Candidacy(settings, members, data, guard);
        this.routed = new RoutedTopology(settings, members, health, handover, guard, out);
    }

    /** Handles one event; returns the effects to carry out, in order. */
    public List<Effect> handle(ElectionEvent event) {
        out.start();
        long now = event.now();
        if (event instanceof ElectionEvent.Tick) {
            members.purge(now);
            String handedOver = handover.checkDeadline(state, now);
            if (handedOver != null) {
                stepDown(handedOver, NodeState.ALONE, null, now);
            }
            evaluate(now);
            fencing.orphans(state, epoch, pendingEpoch, now);
            guard.tick(now);
            broadcast(now);
            out.told();
        } else if (event instanceof ElectionEvent.PeerStatusReceived e) {
            onPeerStatus(e.status(), now);
        } else if (event instanceof ElectionEvent.ProbeSucceeded e) {
            onProbe(e.snapshot(), now);
        } else if (event instanceof ElectionEvent.ProbeFailed e) {
            onProbeFailed(e.reason(), e.busy(), now);
        } else if (event instanceof ElectionEvent.PromotionFinished e) {
            onPromotionFinished(e, now);
        } else if (event instanceof ElectionEvent.HandoverRequested e) {
            handover.request(e, state, leader, epoch, redis, now);
        } else if (event instanceof ElectionEvent.HandoverCaughtUp e) {
            handover.caughtUp(e, state, guard, now);
        } else if (event instanceof ElectionEvent.Stopping e && guard instanceof LeaseGuard lease) {
            lease.stopping(e.cause(), now);
        } else if (event instanceof ElectionEvent.LeaseObserved e && guard instanceof LeaseGuard lease) {
            lease.observed(e.lease(), now);
            evaluate(now);
        } else if (event instanceof ElectionEvent.LeaseWritten e && guard instanceof LeaseGuard lease) {
            lease.written(e, now);
            evaluate(now);
        } else if (event instanceof ElectionEvent.PeersDiscovered e) {
            members.discovered(e.peers());
            evaluate(now);
        }
        boolean localReplica = state == NodeState.FOLLOWING && redis != null
                && redis.inSyncWith(leaderRedis.host(), leaderRedis.port());
        routed.update(state, epoch, leader, leaderRedis, localReplica ? redis : null, probedAt, now);
        if (out.isChanged()) {
            broadcast(now);
        }
        return out.effects();
    }

    private void broadcast(long now) {
        NodeStatus s = status(now);
        guard.sending(s, now);
        out.add(new Effect.Broadcast(s));
    }

    private void onPeerStatus(NodeStatus s, long now) {
        if (s.node().equals(settings.self()) || members.overtaken(s, now)) {
            return;
        }
        Member previous = members.get(s.node());
        if (!guard.admits(s, now)) {
            return;
        }
        members.heard(s, now);
        highestEpochSeen = Math.max(highestEpochSeen, s.epoch());
        data.learnFrom(s);
        if (redis != null && state != NodeState.LEADING) {
            learnDataEpoch(redis, now); // once, after every id this status taught us
        }
        if (s.state() == NodeState.LEADING) {
            health.sample(s.node(), s.epoch(), s.offset(), now);
        }
        if (state == NodeState.FOLLOWING && s.node().equals(leader)) {
            following.heard(s, previous);
        }
        if (state == NodeState.LEADING && s.state() == NodeState.FOLLOWING && settings.self().equals(s.leader())
                && data.unnamedFollowerId(s, redis)) {
            out.add(new Effect.Probe("follower " + s.node() + " reports a replication id we have not named"));
        }
        evaluate(now);
    }

    private void onProbe(RedisSnapshot snap, long now) {
        RedisSnapshot previous = redis;
        redis = snap;
        probes++;
        probedAt = now;
        if (previous == null || (state == NodeState.LEADING && !previous.replId().equals(snap.replId()))) {
            // peers learn what our redis holds now, not at the next tick: a new leader's id before its replicas'
            // first sync shows it to them (one they cannot place ranks them last: see LocalData.fullSynced)
            out.changed();
        }
        failures.answered(now);
        if (previous != null && !previous.runId().equals(snap.runId())) {
            data.restarted(previous, snap);
            stepDown("its redis restarted and may have lost data", NodeState.ALONE, null, now);
        }
        if (state == NodeState.NOT_READY) {
            enter(NodeState.ALONE);
            listenUntil = now;
            out.record("ready", "local redis answers again");
        }
        if (state == NodeState.LEADING && snap.role() == RedisRole.REPLICA) {
            stepDown("its redis was made a replica outside Skep", NodeState.ALONE, null, now);
        }
        if ((state == NodeState.PROPOSING || state == NodeState.PROMOTING) && candidacy.lower(snap.replOffset())) {
            out.changed(); // our data was replaced (a full sync): we propose what we have
        }
        if (state == NodeState.LEADING) {
            health.sample(settings.self(), epoch, snap.replOffset(), now);
        }
        if (state == NodeState.FOLLOWING) {
            following.probed(previous, snap, leader, leaderRedis);
        }
        learnDataEpoch(snap, now);
        evaluate(now);
        fencing.enforce(snap, state, epoch, now);
    }

    private void onProbeFailed(String reason, boolean busy, long now) {
        String cause = failures.failed(reason, busy, state != NodeState.NOT_READY, now);
        if (cause != null) {
            stepDown(cause, NodeState.NOT_READY, null, now);
            enter(NodeState.NOT_READY);
            out.record("not-ready", cause);
        }
    }

    /** What the local redis's replication id says about its data ({@link LocalData#learn}). */
    private void learnDataEpoch(RedisSnapshot snap, long now) {
        boolean inSync = state == NodeState.FOLLOWING && !following.detached()
                && snap.inSyncWith(leaderRedis.host(), leaderRedis.port());
        if (data.learn(snap, state, epoch, leader, following.replId(), inSync) && state == NodeState.PROPOSING) {
            candidacy.newerData(now);
        }
    }

    private void onPromotionFinished(ElectionEvent.PromotionFinished e, long now) {
        if (state != NodeState.PROMOTING || e.epoch() != pendingEpoch) {
            return; // abandoned: a leader appeared while our redis was being promoted
        }
        if (!e.ok()) {
            enter(NodeState.NOT_READY);
            out.record("promotion-failed", "could not promote local redis: " + e.detail());
            return;
        }
        lead(now);
    }

    /** Re-derives what this node should do from everything it knows now. */
    private void evaluate(long now) {
        if (state == NodeState.NOT_READY || redis == null) {
            return;
        }
        Member lead = members.liveLeader(now, state, epoch);
        switch (state) {
            case LEADING -> {
                // e.g. its agent is stopping too (every pod of a release deleted at once): no one to wait for
                handover.abandonIfSuccessorSilent(state, now);
                handover.prepareWhenHeld(redis, now);
                if (lead != null) {
                    NodeStatus l = lead.status();
                    Endpoint successor = handover.setAside(); // ended after the Follow: writes resume only then
                    stepDown("leader " + l.node() + " has epoch " + l.epoch(), NodeState.ALONE, null, now);
                    follow(l);
                    handover.endWith(successor, l, state, now);
                } else if (highestEpochSeen > epoch && !handover.successorTakingOver(highestEpochSeen)) {
                    stepDown("a peer has seen epoch " + highestEpochSeen + " > " + epoch, NodeState.ALONE, null, now);
                    evaluate(now);
                } else {
                    LeaderGuard.StepDown why = guard.check(now);
                    if (why != null) {
                        stepDown(why.cause(), NodeState.ALONE, why.fence(), now);
                    }
                }
            }
            case PROMOTING -> {
                if (lead != null && !(lead.status().handsOverTo(settings.self()) && lead.status().epoch() < pendingEpoch)) {
                    out.record("election", "abandoned promotion: leader " + lead.status().node() + " appeared");
                    guard.promotionAbandoned();
                    follow(lead.status());
                }
            }
            default -> {
                if (lead != null) {
                    NodeStatus l = lead.status();
                    if (state == NodeState.FOLLOWING && l.node().equals(leader) && l.epoch() == epoch
                            && !data.tainted() && l.handsOverTo(settings.self()) && guard.mayTakeOver(now)) {
                        takeOver(l, now);
                        return;
                    }
                    follow(l);
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
                    candidacy.propose(now, redis.replOffset());
                    out.record("election", "no live leader: proposing with offset " + candidacy.offset());
                }
                decide(now);
            }
        }
    }

    /** Promotes our redis once this node has won the election ({@link Candidacy#won}). */
    private void decide(long now) {
        int ranked = candidacy.won(now);
        if (ranked == 0) {
            return;
        }
        pendingEpoch = nextEpoch(now);
        promoteMinOffset = candidacy.offset();
        enter(NodeState.PROMOTING);
        out.record("election", "won the election for epoch " + pendingEpoch + " among " + ranked
                + " ready node(s) (offset " + candidacy.offset() + "): " + guard.promotion());
        guard.promote(new Effect.Promote(pendingEpoch, redis.runId(), candidacy.offset(),
                "won the election for epoch " + pendingEpoch), now);
        // a silent leader's redis may still take writes: fenced while ours is promoted, not after
        fencing.orphans(state, epoch, pendingEpoch, now);
    }

    /** The successor: our leader hands over to us and we have its data: promote under a new epoch. */
    private void takeOver(NodeStatus from, long now) {
        pendingEpoch = nextEpoch(now);
        promoteMinOffset = from.handoverOffset();
        // what our status shows while promoting: the data we take over with, not that of an older proposal
        candidacy.takeOver(Math.max(from.handoverOffset(), redis.replOffset()));
        enter(NodeState.PROMOTING);
        out.record("election", "leader " + from.node() + " hands over at offset " + from.handoverOffset()
                + ": promoting local redis for epoch " + pendingEpoch);
        guard.promote(new Effect.Promote(pendingEpoch, redis.runId(), from.handoverOffset(),
                "handover from " + from.node() + " for epoch " + pendingEpoch), now);
    }

    /**
     * The epoch of the next leadership. The wall clock keeps epochs increasing even when every agent that knew the
     * last one restarted (agents keep no disk state); one more than the highest heard keeps them increasing under skew.
     */
    private long nextEpoch(long now) {
        return Math.max(Math.max(Math.max(highestEpochSeen, epoch), guard.epochFloor()) + 1, now);
    }

    private void follow(NodeStatus l) {
        boolean same = state == NodeState.FOLLOWING && l.node().equals(leader) && l.epoch() == epoch;
        epoch = l.epoch();
        leader = l.node();
        leaderRedis = l.redis();
        if (same) {
            return;
        }
        following.started(l);
        if (ledEpoch != 0 && redis != null) {
            // Our redis resyncs from the new leader: what it wrote after the new leader's history left ours is gone.
            long lost = l.masterSinceOffset() > 0 ? Math.max(0, redis.replOffset() - l.masterSinceOffset()) : -1;
            out.record("discarded", lost < 0 ? "led epoch " + ledEpoch + "; leader " + l.node() + " did not say where "
                    + "its history began: writes this node took after the split, if any, are discarded"
                    : lost == 0 ? "led epoch " + ledEpoch + "; leader " + l.node() + " has all of its replication stream"
                    : "led epoch " + ledEpoch + "; discards " + lost + " bytes of its replication stream (offset "
                    + redis.replOffset() + ", leader " + l.node() + " began epoch " + l.epoch() + " at "
                    + l.masterSinceOffset() + ")");
            ledEpoch = 0;
        }
        enter(NodeState.FOLLOWING);
        out.record("following", "following leader " + l.node() + " (epoch " + epoch + ", redis " + l.redis() + ")");
        out.add(new Effect.Follow(l.redis(), "leader " + l.node() + " of epoch " + epoch));
        handover.resumeOnFollow(l.node());
    }

    /** The leader this node followed is silent, or no longer leads. */
    private void leaderLost(long now) {
        Member m = members.get(leader);
        String why;
        boolean leaderRedisDown;
        if (m == null || !members.live(m, now)) {
            why = "silent for more than " + settings.peerTimeoutMs() + " ms";
            leaderRedisDown = false;
        } else {
            why = "now " + m.status().state();
            leaderRedisDown = m.status().state() == NodeState.NOT_READY || m.status().state() == NodeState.ALONE;
        }
        out.record("leader-lost", "leader " + leader + " of epoch " + epoch + " lost: " + why);
        awaitFreshProbe("leader lost");
        if (following.lost(leader, why, leaderRedisDown, redis.linkUp())) {
            guard.detached(leader);
        }
        leader = null;
        leaderRedis = null;
        enter(NodeState.ALONE);
    }

    /**
     * Our next proposal waits for a probe taken after now: the last one is older than what our redis took since
     * (writes, some of them acknowledged, or a sync), and a proposal below that could let a node with less win.
     */
    private void awaitFreshProbe(String reason) {
        probesWhenLeaderLost = probes;
        out.add(new Effect.Probe(reason));
    }

    // ---- leadership: taken in lead(), given up in stepDown(), nowhere else ----

    /**
     * The one place this node takes leadership: its redis confirmed role:master for the promotion under way, and
     * it leads that epoch from now. Its guard learns it leads (and says whether the fence on its redis comes off).
     */
    private void lead(long now) {
        epoch = pendingEpoch;
        highestEpochSeen = Math.max(highestEpochSeen, epoch);
        leader = settings.self();
        leaderRedis = settings.redis();
        data.promoted(epoch);
        following.ended();
        ledEpoch = epoch;
        masterSinceOffset = Math.max(promoteMinOffset, redis == null ? 0 : redis.replOffset());
        enter(NodeState.LEADING);
        out.record("promoted", "leading epoch " + epoch + ": local redis confirmed role:master");
        fencing.orphans(state, epoch, pendingEpoch, now);
        if (guard.isLeader(now)) {
            out.add(Effect.FenceWrites.lift("leading epoch " + epoch));
        }
    }

    /**
     * The one place this node gives up leadership, held or being taken (LEADING or PROMOTING), for any cause (a
     * higher epoch, its redis failed or restarted, its guard's rules, a handover passed on, the agent stopping):
     * edge-triggered, a no-op in any other state. A handover under way is abandoned and its guard learns it no
     * longer leads (a Lease claim waiting to be sent is dropped, a Lease held is given back); with {@code fence},
     * the local redis is fenced at once (it is fenced anyway at the next probe, {@link Fencing#enforce}). A node that
     * stays ready ({@code next} ALONE) proposes only after a fresh probe.
     */
    void stepDown(String cause, NodeState next, String fence, long now) {
        if (state != NodeState.LEADING && state != NodeState.PROMOTING) {
            return;
        }
        handover.abandon(cause, state, now);
        guard.notLeader(cause, now);
        out.record("stepped-down", "gave up leadership of epoch " + epoch + ": " + cause);
        leader = null;
        leaderRedis = null;
        enter(next);
        listenUntil = now;
        if (fence != null) {
            out.add(Effect.FenceWrites.fence(fence));
        }
        if (next == NodeState.ALONE) {
            awaitFreshProbe("stepped down");
        }
    }

    /** The epoch of the promotion under way. */
    long pendingEpoch() {
        return pendingEpoch;
    }

    /** The claim of the Lease a promotion waited for was refused: the election starts over. */
    void claimRefused(long now) {
        enter(NodeState.ALONE);
        listenUntil = now;
    }

    private void enter(NodeState next) {
        if (state != next) {
            state = next;
            out.changed();
            if (next != NodeState.PROPOSING && next != NodeState.PROMOTING) {
                guard.electionOver();
            }
        }
    }

    // ---- read-only views, for ElectionLoop, the status page and the tests ----

    /**
     * While leading under {@code --quorum majority} or {@code --election lease}: when this node's leadership runs out
     * unless renewed, so that the control thread checks then rather than at the next tick; {@link Long#MAX_VALUE}
     * when there is nothing to check.
     */
    public long leaseExpiresAt() {
        return guard.leaseExpiresAt();
    }

    /**
     * {@code --election lease}: a write of the Lease is under way, or a release waits for one to return (a
     * stopping agent waits for both, so that the Lease is given back rather than left to expire).
     */
    public boolean leaseWritePending() {
        return guard instanceof LeaseGuard lease && lease.writePending();
    }

    /** {@code --election lease}: the Lease as this node sees it at {@code now}; null with {@code --election peers}. */
    public HiveStatus.Lease leaseStatus(long now) {
        return guard instanceof LeaseGuard lease ? lease.status(now) : null;
    }

    /** This node's status as it tells its peers. */
    public NodeStatus status(long now) {
        boolean proposing = state == NodeState.PROPOSING || state == NodeState.PROMOTING;
        RedisSnapshot r = redis;
        return new NodeStatus(settings.self(), settings.redis(), settings.httpPort(), state, epoch,
                guard.named(leader, proposing), proposing ? candidacy.since() : 0,
                proposing ? candidacy.offset() : (r == null ? 0 : r.replOffset()), data.tainted(),
                r == null ? RedisRole.UNKNOWN : r.role(), r != null && r.linkUp(), r == null ? "" : r.runId(),
                r == null ? 0 : r.processId(), now, state == NodeState.LEADING ? handover.to() : null,
                state == NodeState.LEADING ? handover.statusOffset() : -1,
                state == NodeState.LEADING ? masterSinceOffset : 0,
                state == NodeState.FOLLOWING ? members.heardAgo(leader, now) : -1,
                r == null || (state == NodeState.LEADING && r.role() != RedisRole.MASTER) ? "" : r.replId(),
                proposing ? candidacy.dataEpoch() : data.epoch(), r == null ? "" : r.replId2(), data.histories());
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
        return data.tainted();
    }

    public RedisSnapshot redis() {
        return redis;
    }

    public Topology topology() {
        return routed.published();
    }

    public ElectionSettings settings() {
        return settings;
    }

    /** Members as last heard, with their arrival time, for the status view. */
    public Map<Endpoint, Member> members() {
        return members.snapshot();
    }

    public boolean isLive(Endpoint node, long now) {
        return members.isLive(node, now);
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
            case NOT_READY -> "local redis unhealthy: " + failures.last();
            case LEADING -> redis.role() == RedisRole.MASTER ? "" : "leading but local redis reports role " + redis.role();
            case FOLLOWING -> redis.inSyncWith(leaderRedis.host(), leaderRedis.port()) ? ""
                    : "local redis is not yet in sync with leader " + leader;
            default -> "no leader yet (" + state + ")";
        };
    }
}
