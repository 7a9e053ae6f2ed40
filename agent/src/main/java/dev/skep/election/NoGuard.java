package dev.skep.election;

import dev.skep.topology.Endpoint;

/**
 * The default mode ({@code --quorum none}, {@code --election peers}): winning the peer election is all it takes to
 * lead, and only a higher epoch (or the local redis) ends a leadership. Availability first: under a partition each
 * side may elect a leader, and the higher epoch deposes the other when they meet. Holds no state of its own;
 * confined to the control thread, as {@link Election} is.
 */
final class NoGuard implements LeaderGuard {
    private final Outbox out;

    NoGuard(Outbox out) {
        this.out = out;
    }

    @Override
    public boolean admits(NodeStatus s, long now) {
        return true;
    }

    @Override
    public Endpoint named(Endpoint leader, boolean proposing) {
        return leader;
    }

    @Override
    public void sending(NodeStatus s, long now) {
    }

    @Override
    public boolean mayDecide(long now) {
        return true;
    }

    @Override
    public void ranked(Endpoint best, long now) {
    }

    @Override
    public boolean mayPromote(long now) {
        return true;
    }

    @Override
    public boolean mayTakeOver(long now) {
        return true;
    }

    @Override
    public long epochFloor() {
        return 0;
    }

    @Override
    public void promote(Effect.Promote promote, long now) {
        out.add(promote);
    }

    @Override
    public String promotion() {
        return "promoting local redis";
    }

    @Override
    public void promotionAbandoned() {
    }

    @Override
    public void electionOver() {
    }

    @Override
    public boolean isLeader(long now) {
        return false; // promoting lifts the fence, and a probe lifts any found later (Fencing)
    }

    @Override
    public StepDown check(long now) {
        return null;
    }

    @Override
    public void notLeader(String cause, long now) {
    }

    @Override
    public void tick(long now) {
    }

    @Override
    public boolean batonPassesNow(long offset, long now) {
        return true;
    }

    @Override
    public long leaseExpiresAt() {
        return Long.MAX_VALUE;
    }

    @Override
    public int syncReplicas() {
        return 0;
    }

    @Override
    public void detached(Endpoint lost) {
    }
}
