package dev.skep.election;

import dev.skep.redis.ProbeFailure;
import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.status.SkepVersion;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One node's leader election: a pure state machine. {@link #handle} takes an event and returns the effects to carry
 * out; it does no I/O, reads no clock and starts no thread, so a simulation can run it through thousands of
 * schedules. Not thread-safe: one thread (the control thread) calls it, and the parts it is made of are confined to
 * that thread with it. The rules, with DESIGN.md's invariants:
 * <ul>
 *   <li>A node that starts (or whose redis is healthy again) first listens for a peer timeout: if a leader exists it
 *       follows it, before anything else.</li>
 *   <li>With no live leader of an epoch at least ours, a ready node proposes, and every node ranks the live ready
 *       members alike; only the first may promote itself ({@link Candidacy}, invariant 3).</li>
 *   <li>The winner takes its epoch, {@code max(highest heard + 1, now in ms)}, only once its redis confirmed
 *       {@code role:master}, then announces it (invariant 4's precondition).</li>
 *   <li>A leader that hears of a higher epoch, or of an equal one led by a lower address, steps down at once
 *       (invariant 1).</li>
 *   <li>A redis that restarted ranks last until it resynced from a leader (invariant 2, {@link LocalData}).</li>
 *   <li>A planned handover loses no write (invariant 5, {@link Handover}).</li>
 *   <li>What it takes to lead besides winning is the mode's ({@link LeaderGuard}): nothing more by default, a
 *       majority with {@code --quorum majority}, the Kubernetes Lease with {@code --election lease}.</li>
 * </ul>
 * Leadership is taken in one place ({@link #lead}) and given up in one place ({@link #stepDown}), whatever the cause.
 */
public final class Election {
    private final ElectionSettings settings;
    private final Outbox out = new Outbox();
    /** The agent is stopping ({@link ElectionEvent.Stopping}): it never stands for election again. */
    private boolean stopping;
    private final MemberView members;
    private final ReplicaHealth health;
    private final Fencing fencing;
    private final Handover handover;
    /** What it takes to lead besides winning the election: the mode's rules. */
    private final LeaderGuard guard;
    private final LocalData data;
    private final LocalProbes probes;
    private final Following following;
    private final Candidacy candidacy;
    private final RoutedTopology routed;
    private final LeaderCrash crash;

    private NodeState state = NodeState.ALONE;
    private long epoch;
    private long highestEpochSeen;
    /** The leader this node follows, or itself while it leads; null between leaders. */
    private Endpoint leader;
    private Endpoint leaderRedis;
    /** A node proposes no sooner: it first listens for a leader. */
    private long listenUntil;
    /** The local redis as last probed; null before its first answer. */
    private RedisSnapshot redis;

    public Election(ElectionSettings settings, long now) {
        this.settings = Objects.requireNonNull(settings);
        this.listenUntil = now + settings.peerTimeoutMs();
        this.members = new MemberView(settings, out, now);
        this.health = new ReplicaHealth(settings, members);
        this.fencing = new Fencing(settings, members, out);
        this.handover = new Handover(settings, members, health, out);
        this.guard = LeaderGuard.of(settings, this, members, handover, out);
        this.data = new LocalData(out);
        this.probes = new LocalProbes(settings, out);
        this.following = new Following(settings, members, data, probes, guard, out);
        this.candidacy = new Candidacy(settings, members, data, guard, out);
        this.routed = new RoutedTopology(settings, members, health, handover, guard, out);
        this.crash = new LeaderCrash(settings, members, out);
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
            fencing.orphans(state, epoch, candidacy.pendingEpoch(), now);
            guard.tick(now);
            broadcast(now);
            out.told();
        } else if (event instanceof ElectionEvent.PeerStatusReceived e) {
            onPeerStatus(e.status(), now);
        } else if (event instanceof ElectionEvent.PeerClosed e) {
            crash.peerClosed(e.node(), state, leader, now);
        } else if (event instanceof ElectionEvent.ProbeSucceeded e) {
            onProbe(e.snapshot(), now);
        } else if (event instanceof ElectionEvent.ProbeFailed e) {
            onProbeFailed(e.reason(), e.kind(), now);
        } else if (event instanceof ElectionEvent.PromotionFinished e) {
            onPromotionFinished(e, now);
        } else if (event instanceof ElectionEvent.HandoverRequested e) {
            handover.request(e, state, leader, epoch, redis, now);
        } else if (event instanceof ElectionEvent.HandoverCaughtUp e) {
            handover.caughtUp(e, state, guard, now);
        } else if (event instanceof ElectionEvent.Stopping && !stopping) {
            stopping = true; // before the guard steps down: a stopping agent must not stand again (and take the Lease)
            if (guard instanceof LeaseGuard lease) {
                lease.handle(event, now);
            }
        } else if (guard instanceof LeaseGuard lease && lease.handle(event, now)) {
            evaluate(now);
        } else if (event instanceof ElectionEvent.PeersDiscovered e) {
            members.discovered(e.peers());
            evaluate(now);
        }
        routed.update(state, epoch, leader, leaderRedis, redis, probes.answeredAt(), now);
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
        if (returning(previous, s, now)) {
            out.changed(); // told at once, not at our next tick: a (re)started agent follows a leader sooner
        }
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

    /**
     * Whether {@code s} is the first status of a member this node had not heard from within a peer timeout (new,
     * restarted, or back from a cut), or of an agent that lost its redis's run id (its agent or its redis restarted).
     * Such a member is waiting for the hive's statuses to find its leader; each extra status this costs is one per
     * such change, never one per heartbeat.
     */
    private boolean returning(Member previous, NodeStatus s, long now) {
        return previous == null || now - previous.heardAt() > settings.peerTimeoutMs()
                || (s.redisRunId().isEmpty() && !previous.status().redisRunId().isEmpty());
    }

    private void onProbe(RedisSnapshot snap, long now) {
        RedisSnapshot previous = redis;
        redis = snap;
        if (previous == null || (state == NodeState.LEADING && !previous.replId().equals(snap.replId()))) {
            out.changed(); // told now: a replica that syncs an id no leader has named ranks itself last
        }
        probes.answered(now);
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
        if ((state == NodeState.PROPOSING || state == NodeState.PROMOTING)
                && candidacy.track(snap.replOffset(), state == NodeState.PROPOSING, now)) {
            out.changed(); // our data was replaced (a full sync), or grew: we propose what we have
        }
        if (state == NodeState.LEADING) {
            health.sample(settings.self(), epoch, snap.replOffset(), now);
        }
        boolean linkReport = crash.linkReportDue();
        if (state == NodeState.FOLLOWING) {
            following.probed(previous, snap, leader, leaderRedis);
            if (linkReport) {
                out.changed(); // our link, as the redis sees it since the leader's agent closed its connection
            }
        }
        learnDataEpoch(snap, now);
        evaluate(now);
        fencing.enforce(snap, state, epoch, now);
    }

    private void onProbeFailed(String reason, ProbeFailure.Kind kind, long now) {
        String cause = probes.failed(reason, kind, state != NodeState.NOT_READY, now);
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
        if (state != NodeState.PROMOTING || e.epoch() != candidacy.pendingEpoch()) {
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
        crash.check(state, leader, redis.linkUp(), probes.answeredAt(), now);
        Member lead = members.liveLeader(now, state, epoch);
        switch (state) {
            case LEADING -> {
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
                NodeStatus l = lead == null ? null : lead.status();
                if (l != null && !(l.handsOverTo(settings.self()) && l.epoch() < candidacy.pendingEpoch())) {
                    out.record("election", "abandoned promotion: leader " + l.node() + " appeared");
                    guard.promotionAbandoned();
                    follow(l);
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
                if (stopping) {
                    return; // it gave its leadership up to stop: standing again would take back what it released
                }
                if (state != NodeState.PROPOSING) {
                    if (!probes.fresh()) {
                        return; // a fresh offset first: the last probe may predate a sync that completed since
                    }
                    enter(NodeState.PROPOSING);
                    candidacy.propose(now, redis.replOffset());
                    out.record("election", "no live leader: proposing with offset " + candidacy.offset());
                }
                decide(now);
            }
        }
    }

    /** Promotes our redis once this node has won the election ({@link Candidacy#decide}). */
    private void decide(long now) {
        Effect.Promote promote = candidacy.decide(now, redis, Math.max(highestEpochSeen, epoch));
        if (promote != null) {
            enter(NodeState.PROMOTING);
            guard.promote(promote, now);
            // a silent leader's redis may still take writes: fenced while ours is promoted, not after
            fencing.orphans(state, epoch, candidacy.pendingEpoch(), now);
        }
    }

    /** The successor: our leader hands over to us and we have its data: promote under a new epoch. */
    private void takeOver(NodeStatus from, long now) {
        Effect.Promote promote = candidacy.takeOver(from, redis, Math.max(highestEpochSeen, epoch), now);
        enter(NodeState.PROMOTING);
        guard.promote(promote, now);
    }

    private void follow(NodeStatus l) {
        boolean same = state == NodeState.FOLLOWING && l.node().equals(leader) && l.epoch() == epoch;
        epoch = l.epoch();
        leader = l.node();
        leaderRedis = l.redis();
        if (!same) {
            following.started(l, redis);
            enter(NodeState.FOLLOWING);
            handover.resumeOnFollow(l.node());
        }
    }

    /** The leader this node followed is silent, or no longer leads. */
    private void leaderLost(long now) {
        following.lost(leader, epoch, redis.linkUp(), now);
        leader = null;
        leaderRedis = null;
        enter(NodeState.ALONE);
    }

    // ---- leadership: taken in lead(), given up in stepDown(), nowhere else ----

    /**
     * The one place this node takes leadership: its redis confirmed role:master for the promotion under way, and
     * it leads that epoch from now. Its guard learns it leads (and says whether the fence on its redis comes off).
     */
    private void lead(long now) {
        epoch = candidacy.pendingEpoch();
        highestEpochSeen = Math.max(highestEpochSeen, epoch);
        leader = settings.self();
        leaderRedis = settings.redis();
        data.promoted(epoch);
        following.led(epoch);
        candidacy.promoted(redis);
        enter(NodeState.LEADING);
        out.record("promoted", "leading epoch " + epoch + ": local redis confirmed role:master");
        fencing.orphans(state, epoch, candidacy.pendingEpoch(), now);
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
            probes.askFresh("stepped down");
        }
    }

    /** The epoch of the promotion under way. */
    long pendingEpoch() {
        return candidacy.pendingEpoch();
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

    /** The mode's rules, for what only the mode knows: when the hold runs out, the Lease and its writes. */
    LeaderGuard guard() {
        return guard;
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
                state == NodeState.LEADING ? candidacy.masterSinceOffset() : 0,
                state == NodeState.FOLLOWING ? members.heardAgo(leader, now) : -1,
                r == null || (state == NodeState.LEADING && r.role() != RedisRole.MASTER) ? "" : r.replId(),
                proposing ? candidacy.dataEpoch() : data.epoch(), r == null ? "" : r.replId2(), data.histories(),
                SkepVersion.CURRENT, r == null || r.version() == null ? "" : r.version(), settings.zone());
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
        if (state == NodeState.FOLLOWING && !following.refusal().isEmpty()) {
            return following.refusal();
        }
        return probes.notReadyReason(redis, state, leader, leaderRedis);
    }
}
