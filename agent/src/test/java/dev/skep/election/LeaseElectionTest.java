package dev.skep.election;

import dev.skep.lease.LeaseRecord;
import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --election lease}, the pure part: a node promotes its redis only once its claim of the Lease is stored,
 * never claims a Lease another holds until it has looked unchanged for its whole duration, renews it while it
 * leads, steps down and fences its writes before anyone else may take it, and gives it back when it stops leading.
 */
class LeaseElectionTest {
    private static final Endpoint A = new Endpoint("10.0.0.1", 7380);
    private static final Endpoint A_REDIS = new Endpoint("10.0.0.1", 6379);
    private static final long HB = 250;
    private static final int DURATION_S = 5;
    private static final ElectionSettings SETTINGS = new ElectionSettings(A, A_REDIS, 8080, HB, 750, 3, Long.MAX_VALUE,
            5000, Quorum.NONE, DURATION_S);

    private final Election a = new Election(SETTINGS, 0);
    private final List<Effect> effects = new ArrayList<>();
    private long now;

    @Test
    void theWinnerClaimsTheLeaseAndPromotesOnlyOnceTheClaimIsStored() {
        handle(new ElectionEvent.LeaseObserved(null, now));
        handle(new ElectionEvent.ProbeSucceeded(master(100), now));
        Effect.WriteLease claim = runUntil(Effect.WriteLease.class, 3_000);
        assertThat(claim.kind()).isEqualTo(Effect.LeaseWrite.CLAIM);
        assertThat(claim.next().holder()).isEqualTo(A.toString());
        assertThat(claim.next().resourceVersion()).as("the Lease does not exist: create it").isNull();
        assertThat(effects).as("no promotion before the Lease is ours").noneMatch(e -> e instanceof Effect.Promote);
        assertThat(a.state()).isEqualTo(NodeState.PROMOTING);

        long sentAt = now;
        handle(new ElectionEvent.LeaseWritten(Effect.LeaseWrite.CLAIM, true, stored(claim.next(), "1"), sentAt, "stored", now));
        Effect.Promote promote = only(Effect.Promote.class);
        assertThat(promote.epoch()).isEqualTo(claim.next().epoch());
        handle(new ElectionEvent.PromotionFinished(promote.epoch(), true, "ok", now));
        assertThat(a.state()).isEqualTo(NodeState.LEADING);
        assertThat(effects).contains(new Effect.FenceWrites(0, "leading epoch " + promote.epoch()));

        Effect.WriteLease renew = runUntil(Effect.WriteLease.class, 2 * HB);
        assertThat(renew.kind()).isEqualTo(Effect.LeaseWrite.RENEW);
        assertThat(renew.next().resourceVersion()).as("compare-and-swap on the version we wrote").isEqualTo("1");
        assertThat(a.guard().leaseExpiresAt()).as("held from when the claim was sent, less the margin")
                .isEqualTo(sentAt + SETTINGS.leaseHoldMs());
    }

    @Test
    void aLeaseHeldByAnotherIsClaimedOnlyAfterItLookedUnchangedForItsWholeDuration() {
        LeaseRecord other = new LeaseRecord("10.0.0.2:7380", 40, DURATION_S, 0, 3, "17");
        handle(new ElectionEvent.LeaseObserved(other, now));
        handle(new ElectionEvent.ProbeSucceeded(master(100), now));
        long seenAt = now;
        Effect.WriteLease claim = runUntil(Effect.WriteLease.class, 10_000);
        assertThat(now).as("not before the Lease expired on our clock").isGreaterThanOrEqualTo(seenAt + DURATION_S * 1000L);
        assertThat(claim.next().holder()).isEqualTo(A.toString());
        assertThat(claim.next().resourceVersion()).isEqualTo("17");
        assertThat(claim.next().transitions()).isEqualTo(4);
        assertThat(claim.next().epoch()).as("above the epoch the Lease records").isGreaterThan(40);
    }

    @Test
    void aRenewalSeenByTheReaderRestartsItsWait() {
        handle(new ElectionEvent.LeaseObserved(new LeaseRecord("10.0.0.2:7380", 40, DURATION_S, 0, 3, "17"), now));
        handle(new ElectionEvent.ProbeSucceeded(master(100), now));
        for (int i = 0; i < 30; i++) { // 7.5 s during which the holder renews every heartbeat
            tick();
            handle(new ElectionEvent.LeaseObserved(new LeaseRecord("10.0.0.2:7380", 40, DURATION_S, now, 3,
                    Long.toString(18 + i)), now));
        }
        assertThat(effects).as("the holder is alive").noneMatch(e -> e instanceof Effect.WriteLease);
        assertThat(a.state()).isEqualTo(NodeState.PROPOSING);
    }

    @Test
    void aLeaderThatCannotRenewStepsDownAndFencesWritesBeforeAnyoneMayTakeTheLease() {
        long claimSentAt = lead();
        Effect.FenceWrites fence = null;
        while (fence == null && now < 20_000) {
            tick();
            List<Effect> seen = new ArrayList<>(effects);
            for (Effect e : seen) {
                if (e instanceof Effect.WriteLease w) { // the API server does not answer
                    handle(new ElectionEvent.LeaseWritten(w.kind(), false, null, now, "timed out", now));
                    seen.addAll(effects);
                    break;
                }
            }
            for (Effect e : seen) {
                if (e instanceof Effect.FenceWrites f && f.minReplicas() > 0) {
                    fence = f;
                }
            }
        }
        assertThat(fence).as("fenced").isNotNull();
        assertThat(a.state()).isNotEqualTo(NodeState.LEADING);
        assertThat(a.topology().master()).as("its proxies stop sending writes to its redis").isNull();
        assertThat(now).as("stepped down before another node could take the Lease")
                .isLessThan(claimSentAt + DURATION_S * 1000L - HB);
    }

    @Test
    void aLeaderThatSeesAnotherHolderStepsDownAtOnce() {
        lead();
        handle(new ElectionEvent.LeaseObserved(new LeaseRecord("10.0.0.2:7380", 99, DURATION_S, now, 2, "50"), now));
        assertThat(a.state()).isEqualTo(NodeState.ALONE);
        assertThat(effects).anyMatch(e -> e instanceof Effect.FenceWrites f && f.minReplicas() > 0);
        assertThat(effects).as("not ours to release").noneMatch(e -> e instanceof Effect.WriteLease);
    }

    @Test
    void aLeaderWhoseRedisFailsReleasesTheLeaseSoTheNextNeedNotWaitForItToExpire() {
        lead();
        effects.clear();
        for (int i = 0; i < 3; i++) {
            handle(new ElectionEvent.ProbeFailed("connection refused", now));
        }
        assertThat(a.state()).isEqualTo(NodeState.NOT_READY);
        Effect.WriteLease release = only(Effect.WriteLease.class);
        assertThat(release.kind()).isEqualTo(Effect.LeaseWrite.RELEASE);
        assertThat(release.next().released()).isTrue();
        assertThat(release.next().resourceVersion()).isEqualTo("1");
    }

    @Test
    void aLeaderThatStepsDownWhileARenewalIsUnderWayReleasesOnceItIsStored() {
        lead();
        Effect.WriteLease renew = runUntil(Effect.WriteLease.class, 2 * HB);
        assertThat(renew.kind()).isEqualTo(Effect.LeaseWrite.RENEW);
        long sentAt = now;
        for (int i = 0; i < 3; i++) {
            handle(new ElectionEvent.ProbeFailed("connection refused", now));
        }
        assertThat(a.state()).isEqualTo(NodeState.NOT_READY);
        assertThat(effects).as("one write at a time: the renewal is under way").noneMatch(e -> e instanceof Effect.WriteLease);

        handle(new ElectionEvent.LeaseWritten(Effect.LeaseWrite.RENEW, true, stored(renew.next(), "2"), sentAt, "stored", now));
        Effect.WriteLease release = only(Effect.WriteLease.class);
        assertThat(release.kind()).isEqualTo(Effect.LeaseWrite.RELEASE);
        assertThat(release.next().released()).isTrue();
        assertThat(release.next().resourceVersion()).as("based on the renewal just stored").isEqualTo("2");
    }

    @Test
    void aClaimThatLosesTheRaceDoesNotPromote() {
        handle(new ElectionEvent.LeaseObserved(null, now));
        handle(new ElectionEvent.ProbeSucceeded(master(100), now));
        Effect.WriteLease claim = runUntil(Effect.WriteLease.class, 3_000);
        LeaseRecord winner = new LeaseRecord("10.0.0.3:7380", claim.next().epoch() + 1, DURATION_S, now, 1, "2");
        handle(new ElectionEvent.LeaseWritten(Effect.LeaseWrite.CLAIM, false, winner, now, "changed meanwhile", now));
        assertThat(effects).noneMatch(e -> e instanceof Effect.Promote);
        assertThat(a.state()).isNotEqualTo(NodeState.PROMOTING).isNotEqualTo(NodeState.LEADING);
    }

    @Test
    void aHandOverLeftUnansweredStepsDownWithWritesPausedForTheLeaseMayBeTheSuccessors() {
        lead();
        Endpoint b = new Endpoint("10.0.0.2", 7380);
        handle(new ElectionEvent.PeerStatusReceived(new NodeStatus(b, new Endpoint("10.0.0.2", 6379), 8080,
                NodeState.FOLLOWING, a.epoch(), A, 0, 200, false, RedisRole.REPLICA, true, "run-b", 2, now), now));
        handle(new ElectionEvent.HandoverRequested(b, "test", now));
        runUntil(Effect.PrepareHandover.class, 2 * HB);
        handle(new ElectionEvent.HandoverCaughtUp(true, 200, "caught up", now));
        // the hand-over waits for the renewal under way, then goes out on the version it stored
        handle(new ElectionEvent.LeaseWritten(Effect.LeaseWrite.RENEW, true,
                new LeaseRecord(A.toString(), a.epoch(), DURATION_S, now, 1, "2"), now, "stored", now));
        Effect.WriteLease handOver = only(Effect.WriteLease.class);
        assertThat(handOver.kind()).isEqualTo(Effect.LeaseWrite.HAND_OVER);

        // the request may have been stored: then b holds the Lease and may claim it at once
        handle(new ElectionEvent.LeaseWritten(Effect.LeaseWrite.HAND_OVER, false, null, now, "timed out", now));
        assertThat(a.state()).isNotEqualTo(NodeState.LEADING);
        assertThat(effects).as("writes stay paused until this node follows someone")
                .noneMatch(e -> e instanceof Effect.ResumeWrites);
        assertThat(effects).anyMatch(e -> e instanceof Effect.FenceWrites f && f.minReplicas() > 0);
    }

    /** Makes {@code a} lead under Lease version "1"; returns when its claim was sent. */
    @Test
    void aLeaderStoppingAloneReleasesTheLeaseAndNeverStandsAgain() {
        lead();
        handle(new ElectionEvent.Stopping("agent stopping with no successor", now));
        Effect.WriteLease release = only(Effect.WriteLease.class);
        assertThat(release.kind()).isEqualTo(Effect.LeaseWrite.RELEASE);
        handle(new ElectionEvent.LeaseWritten(Effect.LeaseWrite.RELEASE, true, stored(release.next(), "3"), now,
                "stored", now));
        // a lone node would otherwise win its own election again a heartbeat later and take the Lease back
        long until = now + 10_000;
        while (now < until) {
            tick();
            assertThat(effects).as("at %d ms", now).noneMatch(e -> e instanceof Effect.WriteLease
                    || e instanceof Effect.Promote);
        }
        assertThat(a.state()).isNotIn(NodeState.PROPOSING, NodeState.PROMOTING, NodeState.LEADING);
    }

    private long lead() {
        handle(new ElectionEvent.LeaseObserved(null, now));
        handle(new ElectionEvent.ProbeSucceeded(master(100), now));
        Effect.WriteLease claim = runUntil(Effect.WriteLease.class, 3_000);
        long sentAt = now;
        handle(new ElectionEvent.LeaseWritten(Effect.LeaseWrite.CLAIM, true, stored(claim.next(), "1"), sentAt, "stored", now));
        Effect.Promote promote = only(Effect.Promote.class);
        handle(new ElectionEvent.PromotionFinished(promote.epoch(), true, "ok", now));
        assertThat(a.state()).isEqualTo(NodeState.LEADING);
        return sentAt;
    }

    private static LeaseRecord stored(LeaseRecord r, String version) {
        return new LeaseRecord(r.holder(), r.epoch(), r.durationSeconds(), r.renewTimeMillis(), r.transitions(), version);
    }

    private static RedisSnapshot master(long offset) {
        return new RedisSnapshot("run-a", 1, "7.0.15", RedisRole.MASTER, null, 0, false, false, offset, 10, 0);
    }

    /** Ticks (with a fresh probe each time) until an effect of {@code type} appears, for at most {@code withinMs}. */
    private <T extends Effect> T runUntil(Class<T> type, long withinMs) {
        long until = now + withinMs;
        while (now <= until) {
            tick();
            for (Effect e : effects) {
                if (type.isInstance(e)) {
                    return type.cast(e);
                }
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " within " + withinMs + " ms; state " + a.state());
    }

    private void tick() {
        now += HB / 5;
        effects.clear();
        effects.addAll(a.handle(new ElectionEvent.Tick(now)));
        if (a.state() != NodeState.NOT_READY) {
            effects.addAll(a.handle(new ElectionEvent.ProbeSucceeded(a.state() == NodeState.LEADING ? master(200)
                    : master(100), now)));
        }
    }

    private void handle(ElectionEvent event) {
        effects.clear();
        effects.addAll(a.handle(event));
    }

    private <T extends Effect> T only(Class<T> type) {
        List<T> found = effects.stream().filter(type::isInstance).map(type::cast).toList();
        assertThat(found).as(type.getSimpleName() + " among " + effects).hasSize(1);
        return found.get(0);
    }
}
