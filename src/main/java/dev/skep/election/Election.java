package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.topology.Endpoint;
import dev.skep.topology.HiveStatus;
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
 *   <li>A planned handover (invariant 5): the leader holds new writes (its topology says so, and so do its
 *       followers'), pauses writes on its redis once what was sent has been answered, waits until the
 *       successor's redis has everything, then tells the successor; the successor promotes itself under a
 *       new epoch, and the old leader follows it like any deposed leader, then resumes its redis's clients.
 *       Past {@code --handover-timeout-ms} it is abandoned and writes resume where they were.</li>
 *   <li>{@link Quorum#MAJORITY}: a leader that has not heard a majority of the membership (discovered peers
 *       and members heard of, itself included) for {@link ElectionSettings#leaderLeaseMs()} steps down and
 *       fences its redis; an election needs a majority of ready nodes.</li>
 * </ul>
 */
public final class Election {
    private final ElectionSettings settings;
    private final Outbox out = new Outbox();
    private final MemberView members;
    private final ReplicaHealth health;
    private final Fencing fencing;
    private final Handover handover;
    /** What it takes to lead besides winning the election: the mode's rules (--quorum, --election). */
    private final LeaderGuard guard;
    /** When the local redis was last probed (the age of its offset, for its own lag). */
    private long probedAtMillis;

    private NodeState state = NodeState.ALONE;
    private long epoch;
    private long highestEpochSeen;
    private Endpoint leader;
    private Endpoint leaderRedis;
    private String leaderRunId = "";
    /** The follower's replication id that last made this leader probe its redis at once (see onPeerStatus). */
    private String probedForReplId = "";
    /** The replication id the leader last reported for its redis; empty from an agent too old to report one. */
    private String leaderReplId = "";
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

    /** The minimum offset of the promotion under way (a handover's final offset), for masterSinceOffset. */
    private long promoteMinOffset;
    /** Our redis's offset when it became master of our epoch (told to peers while leading). */
    private long masterSinceOffset;
    /** The epoch this node led last, until it follows another leader (for the discarded-bytes report). */
    private long ledEpoch;
    /**
     * The epoch whose history the local redis's data ends with (0: unknown, e.g. just restarted): the epoch this
     * node led, or that of the leader whose replication id its redis was seen to carry. Candidates are ranked on
     * it before their offsets ({@link Candidate}).
     */
    private long dataEpoch;
    /**
     * The data epoch this node proposed with: fixed for the proposal, as its offset is, so that every node ranks
     * it from the same value (learning a higher one meanwhile, from a peer's status, must not make two winners).
     */
    private long proposalDataEpoch;
    /** The replication id the local redis had when {@link #dataEpoch} was last decided. */
    private String dataReplId = "";
    /** The time of the event being handled (for the few helpers that are not passed it). */
    private long lastNow;
    /**
     * The replication id each leader heard of announced, with the highest epoch it led under that id (a master
     * keeps its id when it leads again without having been a replica). A redis carrying one of these ids holds
     * that leader's history. Bounded: the oldest entries go first.
     */
    private final java.util.LinkedHashMap<String, Long> leaderReplIds = new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > 32;
        }
    };


    public Election(ElectionSettings settings, long now) {
        this.settings = Objects.requireNonNull(settings);
        this.listenUntil = now + settings.peerTimeoutMs();
        this.members = new MemberView(settings, out, now);
        this.health = new ReplicaHealth(settings, members);
        this.fencing = new Fencing(settings, members, out);
        this.handover = new Handover(settings, members, health, out);
        this.guard = LeaderGuard.of(settings, this, members, handover, out);
    }

    /** Handles one event; returns the effects to carry out, in order. */
    public List<Effect> handle(ElectionEvent event) {
        out.start();
        long now = event.now();
        lastNow = now;
        if (event instanceof ElectionEvent.Tick) {
            members.purge(now);
            String handedOver = handover.checkDeadline(state, now);
            if (handedOver != null) {
                stepDown(handedOver, now);
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
            onHandoverCaughtUp(e, now);
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
        publishTopology(now);
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
        if (s.node().equals(settings.self())) {
            return;
        }
        if (members.overtaken(s, now)) {
            return;
        }
        Member previous = members.get(s.node());
        if (!guard.admits(s, now)) {
            return;
        }
        if (state == NodeState.FOLLOWING && s.node().equals(leader) && previous != null
                && !Objects.equals(previous.status().handoverTo(), s.handoverTo())) {
            out.changed(); // tell the leader at once that we (and so our write port) hold its writes
        }
        members.heard(s, now);
        highestEpochSeen = Math.max(highestEpochSeen, s.epoch());
        // Which history each replication id names, from every member that knows (a leader's own, and any node's
        // whose data epoch is known): an agent that restarted learns what its redis holds without having heard the
        // leader it replicated, which may be gone by now.
        long knownEpoch = s.state() == NodeState.LEADING ? Math.max(s.epoch(), s.dataEpoch()) : s.dataEpoch();
        if (!s.replId2().isEmpty() && knownEpoch > 0 && s.state() != NodeState.LEADING
                && s.redisRole() == RedisRole.MASTER) {
            // Its data, of epoch knownEpoch, is the history of its previous id up to where it detached: other holders
            // of that history learn its epoch from it (only when nobody named it, as a history that went on past
            // the fork elsewhere may be newer). A leader's previous id is its predecessor's: not its epoch; nor is a
            // replica's, which took its master's previous id with a partial resync after that master's promotion.
            leaderReplIds.putIfAbsent(s.replId2(), knownEpoch);
        }
        if (!s.replId().isEmpty() && knownEpoch > 0 && s.state() != NodeState.PROMOTING
                && !(s.state() == NodeState.LEADING && s.redisRole() != RedisRole.MASTER)) {
            // (a promoting node's redis may have its new id already, the history of the epoch it is about to lead,
            // not of the data epoch it reports; a leader's status from a probe before its promotion names its
            // predecessor's id, not its own)
            leaderReplIds.merge(s.replId(), knownEpoch, Math::max);
        }
        // what it learnt the same way from others: a restarted agent learns whose history its redis holds from any
        // peer that knows, not only from one whose redis carries the same id (which may be cut off, or gone)
        s.histories().forEach((id, e) -> {
            if (!id.isEmpty() && e > 0) {
                leaderReplIds.merge(id, e, Math::max);
            }
        });
        if (redis != null && state != NodeState.LEADING) {
            learnDataEpoch(redis); // once, after every id this status taught us
        }
        if (s.state() == NodeState.LEADING) {
            health.sample(s.node(), s.epoch(), s.offset(), now);
        }
        if (state == NodeState.FOLLOWING && s.node().equals(leader)) {
            leaderReplId = s.replId();
        }
        if (state == NodeState.LEADING && s.state() == NodeState.FOLLOWING && settings.self().equals(s.leader())
                && redis != null && !s.replId().isEmpty() && !s.replId().equals(redis.replId())
                && !s.replId().equals(probedForReplId)) {
            // A follower's redis carries an id ours did not have at our last probe: most likely ours changed (redis
            // makes a new one when its first replica syncs), and the follower ranks itself last until we name it.
            probedForReplId = s.replId();
            out.add(new Effect.Probe("follower " + s.node() + " reports a replication id we have not named"));
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
        if (previous == null || (state == NodeState.LEADING && !previous.replId().equals(snap.replId()))) {
            // peers learn what our redis holds now, not at the next tick: a new leader's id before its replicas'
            // first sync shows it to them (one they cannot place ranks them last: see below)
            out.changed();
        }
        probeFailures = 0;
        if (busySince >= 0) {
            record("redis-busy", "local redis answers again after " + (now - busySince) + " ms busy");
            busySince = -1;
        }
        if (previous != null && !previous.runId().equals(snap.runId())) {
            // A new run_id is a new process: without persistence its dataset is whatever it was started
            // with, typically empty. It must resync from a leader before it may win (invariant 2).
            tainted = true;
            dataEpoch = 0;
            record("redis-restarted", "local redis restarted (run_id " + shortId(previous.runId()) + " -> "
                    + shortId(snap.runId()) + ", " + snap.keys() + " keys): must resync from the leader before it may lead");
            stepDown("its redis restarted and may have lost data", now);
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
            out.changed();
        }
        if (state == NodeState.LEADING) {
            health.sample(settings.self(), epoch, snap.replOffset(), now);
        }
        if (state == NodeState.FOLLOWING && !tainted && previous != null && !snap.replId().isEmpty()
                && !leaderReplId.isEmpty() && !snap.replId().equals(leaderReplId)
                && !snap.replId().equals(previous.replId()) && !leaderReplIds.containsKey(snap.replId())
                && (snap.replId2().isEmpty() || !leaderReplIds.containsKey(snap.replId2()))) {
            // A full sync of a history no leader has named: if the leader's redis restarted (empty) before its agent
            // noticed, our redis now holds that empty dataset, and must rank last (and not be a handover's successor)
            // until a leader names the id, which the restarted redis's will never be.
            tainted = true;
            out.changed();
            record("resyncing", "local redis took a full sync of a history no leader has named (replication id "
                    + shortId(snap.replId()) + ", offset " + snap.replOffset() + "): ranks last until one does");
        }
        if (state == NodeState.FOLLOWING) {
            if (!snap.replicates(leaderRedis.host(), leaderRedis.port())) {
                out.add(new Effect.Follow(leaderRedis, "local redis is not replicating leader " + leader));
            } else if (tainted && snap.inSyncWith(leaderRedis.host(), leaderRedis.port()) && leaderReplIdUnknown()) {
                // (a leader that shares replication ids untaints us through learnDataEpoch below, only once our
                // redis holds its history: being in sync with its redis is not enough, see learnDataEpoch)
                tainted = false;
                out.changed();
                record("resynced", "local redis resynced from leader " + leader + " (" + snap.keys() + " keys)");
            }
        }
        learnDataEpoch(snap);
        evaluate(now);
        fencing.enforce(snap, state, epoch, now);
    }

    /**
     * A failed probe. One that says redis is down (refused, reset, stopped) counts towards
     * {@code --redis-failures}; one that says it is alive but busy (a long script, a fork, a flood of replies)
     * does not, until it has been busy for {@code --busy-grace-ms}: failing over a busy master discards what it
     * is doing and gains nothing, while a crashed one closes its sockets and is declared down as before.
     */
    private void onProbeFailed(String reason, boolean busy, long now) {
        lastProbeFailure = reason;
        if (busy) {
            if (busySince < 0) {
                busySince = now;
                if (state != NodeState.NOT_READY) {
                    record("redis-busy", "local redis is alive but not answering: " + reason + "; counted as down "
                            + "if it lasts " + settings.busyGraceMs() + " ms (--busy-grace-ms)");
                }
            }
            if (now - busySince < settings.busyGraceMs()) {
                return;
            }
            reason = "busy for " + (now - busySince) + " ms, past --busy-grace-ms " + settings.busyGraceMs() + ": "
                    + reason;
            probeFailures = Math.max(probeFailures + 1, settings.redisFailures());
        } else {
            probeFailures++;
        }
        if (probeFailures >= settings.redisFailures() && state != NodeState.NOT_READY) {
            String cause = busy ? "local redis " + reason
                    : "local redis probe failed " + probeFailures + " times in a row: " + reason;
            stepDown(cause, NodeState.NOT_READY, null, now);
            enter(NodeState.NOT_READY);
            record("not-ready", cause);
        }
    }

    /**
     * What the local redis's replication id says about its data: carrying a leader's id, it holds that leader's
     * history (a sync with it succeeded, full or partial), whether or not a probe ever caught its link up. So a
     * restarted redis that resynced is no longer tainted even if its leader was lost before this node saw it in
     * sync (its acknowledgements, counted by the leader's WAIT, must not rank below a node without them).
     */
    private void learnDataEpoch(RedisSnapshot snap) {
        if (state == NodeState.LEADING) {
            if (!snap.replId().isEmpty() && snap.role() == RedisRole.MASTER) {
                leaderReplIds.merge(snap.replId(), epoch, Math::max);
            }
            dataEpoch = Math.max(dataEpoch, epoch);
            return;
        }
        if (snap.replOffset() == 0) {
            // no data (a redis that restarted empty, or one mid-way through its first full sync): nothing to rank, and
            // nothing that could make a restarted redis fit to lead, whatever id it carries (an empty redis that
            // restarted at its old address before anyone noticed hands its new id to the replicas that resync from it)
            if (dataEpoch != 0) {
                dataEpoch = 0;
                out.changed();
            }
            if (tainted && state == NodeState.FOLLOWING && !snap.replId().isEmpty()
                    && snap.replId().equals(leaderReplId)) {
                // in a hive that has no data yet, a copy of our leader's empty dataset: as good as any (empty ranks
                // last anyway), and fit to be a handover's successor
                tainted = false;
                out.changed();
                record("resynced", "local redis holds the (empty) history of leader " + leader);
            }
            return;
        }
        Long e = snap.replId().isEmpty() ? null : leaderReplIds.get(snap.replId());
        if (e == null && !snap.replId2().isEmpty() && leaderReplIds.containsKey(snap.replId2())
                && state == NodeState.FOLLOWING && !detached && snap.inSyncWith(leaderRedis.host(), leaderRedis.port())) {
            // in sync with our leader's redis, whose new id we have not heard yet, and continuing (a partial resync) a
            // history we know: the leader's. A full sync with an id nobody named yet proves nothing: the leader's redis
            // may have restarted empty before its agent noticed, and a replica that synced from it holds nothing of
            // the leader's epoch; we wait for the leader's status to name the id.
            e = epoch;
        }
        if (e == null) {
            Long floor = snap.replId2().isEmpty() ? null : leaderReplIds.get(snap.replId2());
            if (floor == null || floor <= dataEpoch) {
                // not known to be any leader's history (yet): the data epoch stays what it was (a master keeps its
                // data when REPLICAOF NO ONE gives it a new id)
                dataReplId = snap.replId();
                return;
            }
            // Its previous id is a leader's history: our data holds it up to where it forked, and whatever came after
            // (a later leader's writes, or nothing of note: a detached redis is fenced). That epoch is a floor, known
            // when every agent that heard the later leader name its id has restarted since.
            e = floor;
        }
        dataReplId = snap.replId();
        if (e != dataEpoch) {
            dataEpoch = e;
            out.changed();
            if (state == NodeState.PROPOSING && e > proposalDataEpoch) {
                // learnt (from a peer) that our data is newer than we proposed it as: propose again, so that every
                // node ranks the new value from then on, rather than decide on the old one
                proposalDataEpoch = e;
                since = lastNow;
            }
        }
        if (tainted && state != NodeState.PROMOTING) {
            tainted = false;
            out.changed();
            record("resynced", "local redis holds the history of epoch " + e + " (replication id " + shortId(snap.replId())
                    + ", " + snap.keys() + " keys)");
        }
    }

    /**
     * Whether the leader we follow does not share replication ids (an agent of a version before they were appended
     * to its status): then being in sync with its redis is the only evidence we have that our redis holds its data.
     */
    private boolean leaderReplIdUnknown() {
        return leaderReplId.isEmpty();
    }

    /** Since when the local redis has been alive but unanswering (busy); -1 while it answers. */
    private long busySince = -1;

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
        ledEpoch = epoch;
        dataEpoch = epoch;
        masterSinceOffset = Math.max(promoteMinOffset, redis == null ? 0 : redis.replOffset());
        enter(NodeState.LEADING);
        record("promoted", "leading epoch " + epoch + ": local redis confirmed role:master");
        fencing.orphans(state, epoch, pendingEpoch, now);
        if (guard.isLeader(now)) {
            out.add(Effect.FenceWrites.lift("leading epoch " + epoch));
        }
    }

    // ---- planned handover ----

    private void onHandoverCaughtUp(ElectionEvent.HandoverCaughtUp e, long now) {
        if (!handover.awaitingCatchUp()) {
            if (e.ok()) {
                out.add(new Effect.ResumeWrites("handover no longer under way")); // abandoned meanwhile
            }
            return;
        }
        if (!e.ok()) {
            handover.end(false, "successor " + handover.to() + " did not catch up: " + e.detail(), null, 0, state, now);
            return;
        }
        guard.passBaton(handover, e.offset(), now);
    }

    /** The successor: our leader hands over to us and we have its data: promote under a new epoch. */
    private void takeOver(NodeStatus from, long now) {
        pendingEpoch = Math.max(Math.max(Math.max(highestEpochSeen, epoch), guard.epochFloor()) + 1, now);
        promoteMinOffset = from.handoverOffset();
        // what our status shows while promoting: the data we take over with, not that of an older proposal
        proposalOffset = Math.max(from.handoverOffset(), redis.replOffset());
        proposalDataEpoch = dataEpoch;
        enter(NodeState.PROMOTING);
        record("election", "leader " + from.node() + " hands over at offset " + from.handoverOffset()
                + ": promoting local redis for epoch " + pendingEpoch);
        guard.promote(new Effect.Promote(pendingEpoch, redis.runId(), from.handoverOffset(),
                "handover from " + from.node() + " for epoch " + pendingEpoch), now);
    }

    /**
     * While leading under {@code --quorum majority} or {@code --election lease}: when this node's leadership runs out
     * unless renewed, so that the control thread checks then rather than at the next tick; {@link Long#MAX_VALUE}
     * when there is nothing to check.
     */
    public long leaseExpiresAt() {
        return guard.leaseExpiresAt();
    }

    /** The epoch a promotion under way is for. */
    long pendingEpoch() {
        return pendingEpoch;
    }

    /** The claim of the Lease a promotion waited for was refused: the election starts over. */
    void claimRefused(long now) {
        enter(NodeState.ALONE);
        listenUntil = now;
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
                    stepDown("leader " + l.node() + " has epoch " + l.epoch(), now);
                    follow(l, now);
                    handover.endWith(successor, l, state, now);
                } else if (highestEpochSeen > epoch && !handover.successorTakingOver(highestEpochSeen)) {
                    stepDown("a peer has seen epoch " + highestEpochSeen + " > " + epoch, now);
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
                    record("election", "abandoned promotion: leader " + lead.status().node() + " appeared");
                    guard.promotionAbandoned();
                    follow(lead.status(), now);
                }
            }
            default -> {
                if (lead != null) {
                    NodeStatus l = lead.status();
                    if (state == NodeState.FOLLOWING && l.node().equals(leader) && l.epoch() == epoch && !tainted
                            && l.handsOverTo(settings.self()) && guard.mayTakeOver(now)) {
                        takeOver(l, now);
                        return;
                    }
                    follow(l, now);
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
                    proposalDataEpoch = dataEpoch;
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
        pool.add(new Candidate(settings.self(), tainted, proposalDataEpoch, proposalOffset, since));
        boolean everyoneProposed = true;
        for (Member m : members.all()) {
            NodeStatus s = m.status();
            if (!members.live(m, now) || s.state() == NodeState.NOT_READY) {
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
            if (s.dataEpoch() == 0 && s.offset() > 0 && !s.replId().isEmpty() && leaderReplIds.containsKey(s.replId())
                    && now - members.firstHeard(s.node(), now) < settings.proposalWindowMs()) {
                // Its agent does not know yet which epoch its data is from (it restarted), but we do: it learns from
                // the statuses of those whose redis carries the same history. Ranked now, its data would count as
                // older than it is. Bounded: when nobody carries that history any more, it never learns.
                return;
            }
            everyoneProposed &= s.state() == NodeState.PROPOSING;
            pool.add(Candidate.of(s, knownDataEpoch(s)));
        }
        if (!everyoneProposed && now - since < settings.proposalWindowMs()) {
            return;
        }
        if (members.unheardPeer(now) != null) {
            return;
        }
        if (pool.size() == 1 && members.young(now) && members.knowsOthers()) {
            // A young agent never elects itself alone while it knows of other nodes: a restarted agent whose
            // cold JVM falls behind its messages takes the live leader for silent, and its newer epoch would
            // discard that leader's writes (seen in bench/chaos: 161 148 bytes in a handover round).
            return;
        }
        if (!guard.mayDecide(now)) {
            return;
        }
        pool.sort(Candidate.BEST_FIRST);
        guard.ranked(pool.get(0).node(), now);
        if (!pool.get(0).node().equals(settings.self()) || (tainted && someoneKnownHasMoreData())) {
            return;
        }
        if (!guard.mayPromote(now)) {
            return;
        }
        // The wall clock keeps epochs increasing even when every agent that knew the last one restarted
        // (agents keep no disk state); one more than the highest heard keeps them increasing under skew.
        pendingEpoch = Math.max(Math.max(Math.max(highestEpochSeen, epoch), guard.epochFloor()) + 1, now);
        promoteMinOffset = proposalOffset;
        enter(NodeState.PROMOTING);
        record("election", "won the election for epoch " + pendingEpoch + " among " + pool.size()
                + " ready node(s) (offset " + proposalOffset + "): "
                + guard.promotion());
        guard.promote(new Effect.Promote(pendingEpoch, redis.runId(), proposalOffset,
                "won the election for epoch " + pendingEpoch), now);
        // a silent leader's redis may still take writes: fenced while ours is promoted, not after
        fencing.orphans(state, epoch, pendingEpoch, now);
    }


    /**
     * The data epoch we know {@code s}'s redis to hold, which its agent may not know yet (it restarted): that of the
     * history its replication id names, or else at least that of the one its previous id names (see
     * {@link #learnDataEpoch}); null when neither is known.
     */
    private Long knownDataEpoch(NodeStatus s) {
        Long e = s.replId().isEmpty() ? null : leaderReplIds.get(s.replId());
        if (e != null) {
            return e;
        }
        return s.replId2().isEmpty() ? null : leaderReplIds.get(s.replId2());
    }

    /**
     * Invariant 2 when we cannot hear everyone: a restarted redis waits for any member still remembered
     * (not purged) that reported more data, rather than lead with less; it is forgotten after
     * {@link ElectionSettings#purgeAfterMs()}.
     */
    private boolean someoneKnownHasMoreData() {
        for (Member m : members.all()) {
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
        leaderReplId = l.replId();
        detached = false;
        if (ledEpoch != 0 && redis != null) {
            // Our redis resyncs from the new leader: what it wrote after the new leader's history left ours is gone.
            long lost = l.masterSinceOffset() > 0 ? Math.max(0, redis.replOffset() - l.masterSinceOffset()) : -1;
            record("discarded", lost < 0 ? "led epoch " + ledEpoch + "; leader " + l.node() + " did not say where its "
                    + "history began: writes this node took after the split, if any, are discarded"
                    : lost == 0 ? "led epoch " + ledEpoch + "; leader " + l.node() + " has all of its replication stream"
                    : "led epoch " + ledEpoch + "; discards " + lost + " bytes of its replication stream (offset "
                    + redis.replOffset() + ", leader " + l.node() + " began epoch " + l.epoch() + " at "
                    + l.masterSinceOffset() + ")");
            ledEpoch = 0;
        }
        enter(NodeState.FOLLOWING);
        record("following", "following leader " + l.node() + " (epoch " + epoch + ", redis " + l.redis() + ")");
        out.add(new Effect.Follow(l.redis(), "leader " + l.node() + " of epoch " + epoch));
        handover.resumeOnFollow(l.node());
    }

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
        record("leader-lost", "leader " + leader + " of epoch " + epoch + " lost: " + why);
        probesWhenLeaderLost = probes;
        out.add(new Effect.Probe("leader lost"));
        // Keep replicating a silent leader whose redis still streams to us (its agent died, not its redis):
        // the next master then resyncs us partially. Detach when that redis is down or was declared so.
        if (!detached && (leaderRedisDown || !redis.linkUp())) {
            detached = true;
            out.add(new Effect.Detach("leader " + leader + " lost (" + why + ")"));
            guard.detached(leader);
        }
        leader = null;
        leaderRedis = null;
        enter(NodeState.ALONE);
    }

    private void stepDown(String cause, long now) {
        stepDown(cause, null, now);
    }

    private void stepDown(String cause, String fence, long now) {
        stepDown(cause, NodeState.ALONE, fence, now);
    }

    /**
     * The one place this node gives up leadership, held or being taken (LEADING or PROMOTING): edge-triggered, a
     * no-op in any other state. A handover under way is abandoned, a Lease claim waiting to be sent is dropped and
     * a Lease held is given back; with {@code fence}, the local redis is fenced at once (it is fenced anyway at the
     * next probe, {@link #enforceFence}). A node that stays ready ({@code next} ALONE) proposes only after a
     * fresh probe: the last one is older than the writes our redis took since, some of them acknowledged, and a
     * proposal below them could let a node without them win.
     */
    void stepDown(String cause, NodeState next, String fence, long now) {
        if (state != NodeState.LEADING && state != NodeState.PROMOTING) {
            return;
        }
        handover.abandon(cause, state, now);
        guard.notLeader(cause, now);
        record("stepped-down", "gave up leadership of epoch " + epoch + ": " + cause);
        leader = null;
        leaderRedis = null;
        enter(next);
        listenUntil = now;
        if (fence != null) {
            out.add(Effect.FenceWrites.fence(fence));
        }
        probesWhenLeaderLost = probes;
        if (next == NodeState.ALONE) {
            out.add(new Effect.Probe("stepped down"));
        }
    }

    private void publishTopology(long now) {
        Topology t = switch (state) {
            case LEADING -> new Topology(epoch, settings.self(), settings.redis(),
                    replicasOf(now, settings.self(), epoch), handover.underWay(), syncReplicas());
            case FOLLOWING -> new Topology(epoch, leader, leaderRedis, replicasOf(now, leader, epoch),
                    members.handingOver(leader), syncReplicas());
            default -> {
                // Our own redis may be down (NOT_READY) or we may be between leaders: clients of this node's
                // proxy still go to the master the rest of the hive follows, if there is a live one.
                Member lead = members.liveLeader(now, state, epoch);
                yield lead == null ? new Topology(epoch, null, null, List.of(), false, syncReplicas())
                        : new Topology(lead.status().epoch(), lead.status().node(), lead.status().redis(),
                                replicasOf(now, lead.status().node(), lead.status().epoch()),
                                lead.status().handoverTo() != null, syncReplicas());
            }
        };
        if (!t.equals(published)) {
            published = t;
            out.add(new Effect.PublishTopology(t));
        }
    }

    /** The replicas of {@code of}'s leadership fit to serve reads, this node's redis among them when it is one. */
    private List<Endpoint> replicasOf(long now, Endpoint of, long ofEpoch) {
        boolean local = state == NodeState.FOLLOWING && redis != null
                && redis.inSyncWith(leaderRedis.host(), leaderRedis.port());
        return health.healthy(of, ofEpoch, now, local ? redis : null, probedAtMillis);
    }

    /** {@link Quorum#MAJORITY}: the replicas that must confirm each write for a majority to hold it. */
    private int syncReplicas() {
        return guard.syncReplicas();
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

    private void record(String kind, String message) {
        out.record(kind, message);
    }

    private static String shortId(String runId) {
        return runId.length() > 8 ? runId.substring(0, 8) : runId;
    }

    // ---- read-only views, for the status page and the tests ----

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
        Endpoint named = guard.named(leader, proposing);
        return new NodeStatus(settings.self(), settings.redis(), settings.httpPort(), state, epoch, named,
                proposing ? since : 0, proposing ? proposalOffset : (r == null ? 0 : r.replOffset()), tainted,
                r == null ? RedisRole.UNKNOWN : r.role(), r != null && r.linkUp(), r == null ? "" : r.runId(),
                r == null ? 0 : r.processId(), now, state == NodeState.LEADING ? handover.to() : null,
                state == NodeState.LEADING ? handover.statusOffset() : -1,
                state == NodeState.LEADING ? masterSinceOffset : 0, leaderHeardAgo(now),
                r == null || (state == NodeState.LEADING && r.role() != RedisRole.MASTER) ? "" : r.replId(),
                proposing ? proposalDataEpoch : dataEpoch, r == null ? "" : r.replId2(), leaderReplIds);
    }

    private long leaderHeardAgo(long now) {
        return state == NodeState.FOLLOWING ? members.heardAgo(leader, now) : -1;
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
            case NOT_READY -> "local redis unhealthy: " + lastProbeFailure;
            case LEADING -> redis.role() == RedisRole.MASTER ? "" : "leading but local redis reports role " + redis.role();
            case FOLLOWING -> redis.inSyncWith(leaderRedis.host(), leaderRedis.port()) ? ""
                    : "local redis is not yet in sync with leader " + leader;
            default -> "no leader yet (" + state + ")";
        };
    }
}
