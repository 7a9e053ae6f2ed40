package dev.skep.election;

import dev.skep.status.HiveStatus;
import dev.skep.topology.Endpoint;

/**
 * What it takes to lead besides winning the peer election that every mode shares: nothing more in the default mode
 * ({@link NoGuard}); a majority of the membership under {@code --quorum majority} ({@link MajorityGuard}); holding
 * the Kubernetes Lease under {@code --election lease} ({@link LeaseGuard}, which also applies the majority's rules
 * when both are set). {@link Election} asks its guard at each point where the modes differ, so that the rules of
 * each mode live in one class. Implementations are pure and confined to the control thread, as Election is.
 */
sealed interface LeaderGuard permits NoGuard, MajorityGuard, LeaseGuard {

    /** The guard {@code settings} ask for. */
    static LeaderGuard of(ElectionSettings settings, Election election, MemberView members, Handover handover,
            Outbox out) {
        LeaderGuard peers = settings.quorum() == Quorum.MAJORITY ? new MajorityGuard(settings, election, members, out)
                : new NoGuard(out);
        return settings.leaseElection() ? new LeaseGuard(settings, election, handover, out, peers) : peers;
    }

    /** Why a leader must step down now, and why its redis is fenced at once (null: it is not). */
    record StepDown(String cause, String fence) {}

    // ---- statuses ----

    /** Whether a status a peer sent is taken at all. */
    boolean admits(NodeStatus s, long now);

    /** Whom this node's status names in its leader field, given the leader it knows and whether it is proposing. */
    Endpoint named(Endpoint leader, boolean proposing);

    /** This node is about to send {@code s} to its peers. */
    void sending(NodeStatus s, long now);

    // ---- elections ----

    /** Whether this node may decide an election now (every live ready member ranked alike). */
    boolean mayDecide(long now);

    /** The election ranked {@code best} first. */
    void ranked(Endpoint best, long now);

    /** Whether this node, ranked first, may promote itself now. */
    boolean mayPromote(long now);

    /** Whether this node may take over from a leader that hands over to it. */
    boolean mayTakeOver(long now);

    /** An epoch the next leadership must exceed, besides every epoch heard of (0: none). */
    long epochFloor();

    /** Promotes the local redis for the election just won: at once, or once it may. */
    void promote(Effect.Promote promote, long now);

    /** What the winner of an election does next, for the event log. */
    String promotion();

    /** A promotion under way was given up before it was confirmed (a leader appeared). */
    void promotionAbandoned();

    /** The election is over for this node: it follows, leads, or is not ready. */
    void electionOver();

    // ---- leadership ----

    /**
     * This node leads from {@code now} (its redis confirmed role:master). Returns whether the fence on its redis is
     * lifted at once: the modes that fence a leader's redis when it steps down.
     */
    boolean isLeader(long now);

    /** Why this leader must step down now; null when it may lead on. */
    StepDown check(long now);

    /** This node gave up leadership (held or being taken) because of {@code cause}. */
    void notLeader(String cause, long now);

    /** A heartbeat. */
    void tick(long now);

    /**
     * A planned handover's successor has everything up to {@code offset}: whether it may be told at once that it may
     * take over (false: the guard passes the baton itself, later).
     */
    boolean batonPassesNow(long offset, long now);

    /**
     * While leading: when this node's leadership runs out unless renewed, so that the control thread checks then
     * rather than at the next tick; {@link Long#MAX_VALUE} when there is nothing to check.
     */
    long leaseExpiresAt();

    /**
     * {@code --election lease}: a write of the Lease is under way, or a release waits for one to return (a stopping
     * agent waits for both, so that the Lease is given back rather than left to expire); false in the other modes.
     */
    default boolean writePending() {
        return false;
    }

    /** {@code --election lease}: the Lease as this node sees it at {@code now}; null in the other modes. */
    default HiveStatus.Lease leaseStatus(long now) {
        return null;
    }

    /** How many replicas must confirm each write (the proxy's {@code WAIT}). */
    int syncReplicas();

    /** This node detached its redis from {@code lost}, a leader it lost. */
    void detached(Endpoint lost);
}
