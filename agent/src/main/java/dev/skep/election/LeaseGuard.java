package dev.skep.election;

import dev.skep.lease.LeaseRecord;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

/**
 * {@code --election lease}: the peer election picks the candidate as in every mode, but the winner promotes its redis
 * only once its claim of the Kubernetes Lease is stored; the leader renews it, steps down and fences its redis before
 * anyone else may take it, gives it back when it stops leading, and hands it to a handover's successor before telling
 * that successor to take over. The API server arbitrates: every write is a compare-and-swap on the Lease's version,
 * one at a time, each based on the version the last one left ({@link LeaseView}). With {@code --quorum majority} too,
 * the rules of the {@link MajorityGuard} it wraps apply as well. Confined to the control thread, as {@link Election}
 * is.
 */
final class LeaseGuard implements LeaderGuard {
    private final ElectionSettings settings;
    private final Election election;
    private final Handover handover;
    private final Outbox out;
    /** The rules of the peer election this Lease guards ({@link NoGuard}, or {@link MajorityGuard}). */
    private final LeaderGuard peers;
    private final LeaseView lease;
    /** The promotion waiting for our claim of the Lease to be stored; null when none. */
    private Effect.Promote promoteAfterClaim;
    /** The last "waiting for the Lease" reason recorded, so that it is recorded once, not every tick. */
    private String leaseWaitNoted = "";
    /**
     * A claim or handover that waits for the write under way, and why: it is built once that write is done, on
     * the version it left, from what it is for ({@link #promoteAfterClaim}, the handover).
     */
    private Effect.LeaseWrite pendingLeaseKind;
    private String pendingLeaseReason;
    /** Why this node stepped down while a write was under way: it releases the Lease once that write is done. */
    private String releaseAfterWrite;
    /** When the leader last sent a renewal. */
    private long lastRenewAt = Long.MIN_VALUE / 2;

    LeaseGuard(ElectionSettings settings, Election election, Handover handover, Outbox out, LeaderGuard peers) {
        this.settings = settings;
        this.election = election;
        this.handover = handover;
        this.out = out;
        this.peers = peers;
        this.lease = new LeaseView(settings);
    }

    // ---- what the peer election decides ----

    @Override
    public boolean admits(NodeStatus s, long now) {
        return peers.admits(s, now);
    }

    @Override
    public Endpoint named(Endpoint leader, boolean proposing) {
        return peers.named(leader, proposing);
    }

    @Override
    public void sending(NodeStatus s, long now) {
        peers.sending(s, now);
    }

    @Override
    public boolean mayDecide(long now) {
        return peers.mayDecide(now);
    }

    @Override
    public void ranked(Endpoint best, long now) {
        peers.ranked(best, now);
    }

    @Override
    public boolean mayTakeOver(long now) {
        return peers.mayTakeOver(now);
    }

    @Override
    public void electionOver() {
        peers.electionOver();
    }

    @Override
    public int syncReplicas() {
        return peers.syncReplicas();
    }

    @Override
    public void detached(Endpoint lost) {
        peers.detached(lost);
    }

    // ---- what the Lease adds ----

    /** The best candidate claims only a Lease that is free, ours, or unchanged for its whole duration. */
    @Override
    public boolean mayPromote(long now) {
        if (!peers.mayPromote(now)) {
            return false;
        }
        if (!lease.claimable(now)) {
            noteLeaseWait(lease.holder().isEmpty() ? "the Lease has not been read yet (is the API server reachable?)"
                    : "the Lease is held by " + lease.holder() + " until " + (lease.expiresAt() - now)
                    + " ms from now, unless renewed", now);
            return false;
        }
        return true;
    }

    private void noteLeaseWait(String why, long now) {
        String key = why.replaceAll("[0-9]+ ms", "");
        if (!key.equals(leaseWaitNoted)) {
            leaseWaitNoted = key;
            out.record("election", "best candidate, not promoting: " + why);
        }
    }

    /** Epochs go on from the one the Lease records, which may be past any a live agent has heard of. */
    @Override
    public long epochFloor() {
        return lease.epoch();
    }

    /** Claims the Lease; the promotion goes out once the claim is stored. */
    @Override
    public void promote(Effect.Promote promote, long now) {
        if (lease.writing()) {
            // a renewal or release still under way would make our claim a conflict: claim when it returns
            out.record("election", "a Lease write is under way: claiming when it returns");
        }
        promoteAfterClaim = promote;
        leaseWaitNoted = "";
        writeLease(lease.base().claimedBy(lease.self(), promote.epoch(), settings.leaseDurationSeconds(), now),
                Effect.LeaseWrite.CLAIM, promote.reason());
    }

    @Override
    public String promotion() {
        return "claiming the Lease";
    }

    /** A claim still under way is released when it returns. */
    @Override
    public void promotionAbandoned() {
        promoteAfterClaim = null;
    }

    /** A leader that steps down fences its redis before the Lease may be taken, so the fence comes off as it leads. */
    @Override
    public boolean isLeader(long now) {
        peers.isLeader(now);
        return true;
    }

    /** The Lease is no longer ours, or its hold ran out: step down before anyone else may take it. */
    @Override
    public StepDown check(long now) {
        if (!handover.passingOn() && !lease.heldBySelf()) {
            return new StepDown("the Lease is held by " + (lease.holder().isEmpty() ? "nobody" : lease.holder())
                    + " (--election lease)", "lost the Lease: clients writing to this redis directly must stop too");
        }
        if (!handover.passingOn() && now >= lease.heldUntil()) {
            return new StepDown("could not renew the Lease for " + (now - lease.heldUntil() + settings.leaseHoldMs())
                    + " ms (--election lease)", "the Lease may be taken: clients writing to this redis directly "
                    + "must stop too");
        }
        return peers.check(now);
    }

    /** A claim waiting to go out is dropped, and a Lease held is given back. */
    @Override
    public void notLeader(String cause, long now) {
        peers.notLeader(cause, now);
        promoteAfterClaim = null;
        release(cause, now);
    }

    /** A leader that stops leading gives the Lease back, so that the next one need not wait for it to expire. */
    private void release(String cause, long now) {
        if (!lease.heldBySelf() || handover.handingLease()) {
            return;
        }
        writeLease(lease.base().releasedAt(now), Effect.LeaseWrite.RELEASE, cause);
    }

    @Override
    public void tick(long now) {
        renew(now);
    }

    /** The leader renews the Lease every heartbeat, unless it is handing it over. */
    private void renew(long now) {
        if (election.state() != NodeState.LEADING || !lease.heldBySelf() || handover.passingOn()) {
            return;
        }
        if (now - lastRenewAt < settings.leaseRenewMs() - settings.heartbeatMs() / 2) {
            return; // ticks come every heartbeat: renew on the first one past the interval
        }
        lastRenewAt = now;
        writeLease(lease.base().renewed(now), Effect.LeaseWrite.RENEW, "leading epoch " + election.epoch());
    }

    /** The successor may take over only once the Lease is its own: it is handed over first. */
    @Override
    public boolean batonPassesNow(long offset, long now) {
        handover.handLease(offset);
        writeLease(lease.base().handedTo(handover.to().toString(), now), Effect.LeaseWrite.HAND_OVER,
                "handover to " + handover.to() + " at offset " + offset);
        return false; // passed once the Lease is written (handedOver)
    }

    /** Until when this leader surely holds the Lease. */
    @Override
    public long leaseExpiresAt() {
        if (election.state() != NodeState.LEADING) {
            return Long.MAX_VALUE;
        }
        return lease.heldUntil() == Long.MIN_VALUE ? Long.MAX_VALUE : lease.heldUntil();
    }

    /**
     * The events only this mode receives: the Lease read or written, and the agent stopping. Returns whether the
     * Lease changed as this node sees it, so that what it may do is looked at again.
     */
    boolean handle(ElectionEvent event, long now) {
        if (event instanceof ElectionEvent.LeaseObserved e) {
            observed(e.lease(), now);
            return true;
        }
        if (event instanceof ElectionEvent.LeaseWritten e) {
            written(e, now);
            return true;
        }
        if (event instanceof ElectionEvent.Stopping e) {
            stopping(e.cause(), now);
        }
        return false;
    }

    /** The agent stops while leading with no successor: its redis fenced first, the Lease goes back. */
    private void stopping(String cause, long now) {
        if (election.state() == NodeState.LEADING && !handover.underWay()) {
            out.add(Effect.FenceWrites.fence("agent stopping: clients writing to this redis directly must stop too, "
                    + "as the Lease goes back"));
            election.stepDown(cause, NodeState.ALONE, null, now); // releases the Lease
        }
    }

    @Override
    public boolean writePending() {
        return lease.writing() || releaseAfterWrite != null;
    }

    @Override
    public HiveStatus.Lease leaseStatus(long now) {
        return lease.status(now);
    }

    // ---- the Lease's reads and writes ----

    private void writeLease(LeaseRecord next, Effect.LeaseWrite kind, String reason) {
        if (lease.writing()) {
            if (kind == Effect.LeaseWrite.CLAIM || kind == Effect.LeaseWrite.HAND_OVER) {
                pendingLeaseKind = kind;
                pendingLeaseReason = reason;
            } else if (kind == Effect.LeaseWrite.RELEASE) {
                // released once the renewal under way is stored: dropped, the next leader would wait for the whole
                // duration (LeaseElectionTest.aLeaderThatStepsDownWhileARenewalIsUnderWayReleasesOnceItIsStored)
                releaseAfterWrite = reason;
            }
            return;
        }
        lease.writing(true);
        out.add(new Effect.WriteLease(next, kind, reason));
    }

    private void observed(LeaseRecord observed, long now) {
        String before = lease.holder();
        lease.observed(observed, now);
        if (!lease.holder().equals(before)) {
            out.record("lease", lease.holder().isEmpty() ? "the Lease is free"
                    : "the Lease is held by " + lease.holder() + " (epoch " + lease.epoch() + ")");
        }
    }

    private void written(ElectionEvent.LeaseWritten e, long now) {
        lease.writing(false);
        if (e.stored() != null) {
            String before = lease.holder();
            lease.observed(e.stored(), now);
            if (!e.ok() && !lease.holder().equals(before)) {
                out.record("lease", "the Lease is held by " + lease.holder() + " (epoch " + lease.epoch() + ")");
            }
        }
        NodeState state = election.state();
        switch (e.kind()) {
            case CLAIM -> claimed(e, now);
            case RENEW -> {
                if (e.ok()) {
                    lease.held(e.sentAt());
                } else if (e.stored() != null && lease.heldBySelf() && state == NodeState.LEADING) {
                    // a renewal that timed out was stored after all, so this one was based on an old version:
                    // still ours, renew again at once from the version just read rather than a heartbeat later
                    lastRenewAt = Long.MIN_VALUE / 2;
                }
            }
            case HAND_OVER -> handedOver(e, now);
            case RELEASE -> { }
        }
        Effect.LeaseWrite pending = pendingLeaseKind;
        pendingLeaseKind = null;
        if (pending == Effect.LeaseWrite.CLAIM && promoteAfterClaim != null) {
            writeLease(lease.base().claimedBy(lease.self(), promoteAfterClaim.epoch(), settings.leaseDurationSeconds(),
                    now), pending, pendingLeaseReason);
        } else if (pending == Effect.LeaseWrite.HAND_OVER && handover.underWay() && handover.handingLease()) {
            writeLease(lease.base().handedTo(handover.to().toString(), now), pending, pendingLeaseReason);
        }
        renew(now); // no-op unless a renewal is due (or was just refused on an old version)
        String release = releaseAfterWrite;
        releaseAfterWrite = null;
        state = election.state();
        if (release != null && !lease.writing() && state != NodeState.LEADING && state != NodeState.PROMOTING) {
            release(release, now); // from the version just stored; not if this node is leading (again) by now
        }
    }

    private void claimed(ElectionEvent.LeaseWritten e, long now) {
        Effect.Promote promote = promoteAfterClaim;
        promoteAfterClaim = null;
        boolean promoting = election.state() == NodeState.PROMOTING;
        if (e.ok() && promote != null && promoting && promote.epoch() == election.pendingEpoch()) {
            lease.held(e.sentAt());
            out.record("lease", "claimed the Lease for epoch " + election.pendingEpoch() + ": promoting local redis");
            out.add(promote);
        } else if (e.ok()) {
            release("the promotion it was claimed for was abandoned", now);
        } else if (promoting && promote != null && e.stored() != null
                && (lease.heldBySelf() || lease.base().released())) {
            // our view was a version behind (the Lease was handed to us, or released, since we read it)
            promote(promote, now);
        } else if (promoting && promote != null) {
            out.record("election", "could not claim the Lease: " + e.detail());
            election.claimRefused(now);
        }
    }

    private void handedOver(ElectionEvent.LeaseWritten e, long now) {
        if (!handover.underWay() || !handover.handingLease()) {
            return; // the handover ended meanwhile
        }
        if (e.ok()) {
            handover.leaseHanded();
        } else if (e.stored() == null) {
            // No answer: the request may have been stored all the same, and the successor may then claim the Lease
            // at once. Leading on the hold of our last renewal could make two masters. As after the baton passed
            // (the Lease is still being handed when it ends), writes stay paused until we follow someone; we step
            // down, and clients writing to our redis directly are fenced.
            Endpoint successor = handover.to();
            handover.end(false, "could not hand the Lease over: " + e.detail() + " (it may be " + successor
                    + "'s now)", null, 0, election.state(), now);
            election.stepDown("the Lease may have gone to " + successor + " (--election lease)", NodeState.ALONE, null,
                    now);
            out.add(Effect.FenceWrites.fence("the Lease may be " + successor + "'s: clients writing to this redis "
                    + "directly must stop too"));
        } else {
            handover.leaseKept();
            handover.end(false, "could not hand the Lease over: " + e.detail(), null, 0, election.state(), now);
        }
    }
}
