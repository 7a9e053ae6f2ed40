package dev.skep.election;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.fail;

/**
 * Runs the real {@link Election} of several nodes through randomized schedules in virtual time: redis
 * crashes and empty restarts, agent crashes, pod restarts, message delays, and (hostile schedules) message
 * loss and partitions; {@code --quorum majority} and {@code --election lease} in schedules of their own. Each
 * schedule is a {@link Sim}: its models are {@link SimNetwork}, {@link SimRedis} (replication, with the
 * {@link SimRedis.History history} of each dataset so that two datasets at the same offset after a split are told
 * apart) and {@link SimApiServer}; what it checks, on every step and after the faults stop, is in
 * {@link SimInvariants} and {@link SimAcks}.
 *
 * <p>A failing schedule prints its seed and the last events; replay it with
 * {@code -Dskep.sim.seed=N -Dskep.sim.hostile=true|false} (and {@code -Dskep.sim.majority=true} or
 * {@code -Dskep.sim.lease=true} for those modes), and {@code -Dskep.sim.verbose=true} to print every event.
 * Other schedules than the usual ones: {@code -Dskep.sim.firstRun=N} (with {@code skep.sim.runs} or
 * {@code skep.sim.leaseRuns}); every failing schedule rather than the first: {@code -Dskep.sim.keepGoing=true}.
 */
class ElectionSimulationTest {
    private static final int RUNS = Integer.getInteger("skep.sim.runs", 1500);
    /** Lease schedules cost more (a request per heartbeat per node): fewer of them by default. */
    private static final int LEASE_RUNS = Integer.getInteger("skep.sim.leaseRuns", Math.max(1, RUNS / 5));
    /**
     * Surveying many schedules: a failing schedule prints its first violation and the others still run; the test
     * fails at the end with the list (the figures printed then include the failed schedules up to their failure).
     */
    private static final boolean KEEP_GOING = Boolean.getBoolean("skep.sim.keepGoing");

    @Test
    void reliableNetworkSchedulesKeepEveryInvariant() {
        runMany(false);
    }

    @Test
    void hostileNetworkSchedulesStaySafeAndConverge() {
        runMany(true);
    }

    /**
     * {@code --quorum majority}: partitions, one-way cuts, loss and crashes, with message delays bounded as on
     * a LAN. A leader cut off from a majority stops leading within the peer timeout (and a heartbeat); the time
     * with two leaders at once (two nodes that each decided from a different view, without votes) is
     * counted and printed, not excused by the assertion.
     */
    @Test
    void majorityQuorumSchedulesNeverLetTheMinorityLead() {
        runMany(true, true);
    }

    /**
     * {@code --election lease}, hostile: partitions, one-way cuts and loss among peers, message delays up to
     * 600 ms, crashes, handovers, nodes cut off from the API server and the API server down, API requests
     * that occasionally take up to a second (and time out after two heartbeats, possibly applied all the
     * same). Promised: never two nodes at the same instant that each lead with a writable redis (master, not
     * paused) and a Lease they believe still valid ({@link Election#leaseExpiresAt()} in the future), even
     * though the peers' own view may briefly elect two leaders; after healing, one leader that holds the Lease.
     */
    @Test
    void leaseSchedulesNeverHaveTwoWritableLeaders() {
        runMany(true, false, true);
    }

    /**
     * {@code --election lease} on a reliable network among peers, with crashes, handovers and API server
     * faults (nodes cut off from it, the API server down, requests of a few ms): the Lease never gets in the
     * way of the reliable invariants (one leader at a time, no empty redis leading over data, the winner has
     * the most data, handovers lose nothing), and never two writable lease-backed leaders.
     */
    @Test
    void reliableLeaseSchedulesKeepEveryInvariant() {
        runMany(false, false, true);
    }

    // ---- --quorum majority: acknowledged writes lost (issue 14). These fail until Election is fixed. ----

    /**
     * Two leaders at once, each elected by a majority that shares a node. 3 nodes; node 0 isolated, then node 1's
     * rejoin leaves 0 and 2 cut from each other, both linked to 1, which is proposing. At 9775 node 0 decides from
     * its view (itself and 1: a majority) and at 9780 node 2 from its own (itself and 1), each before 1's
     * following the other can reach it: there are no votes, so node 1 counts for both. Node 1 follows node 0 first,
     * its redis confirms node 0's writes and node 0's write port acknowledges them (epoch 9775, held by 0 and 1);
     * node 2 leads epoch 9780 without them, and node 1 then follows the higher epoch and discards them.
     */
    @Test
    void twoLeadersSharingAFollowerLoseNoAcknowledgedWrite() {
        new Sim(118788, true, true).run();
    }

    /**
     * The most data by offset is not the most recent data. 3 nodes: node 2, just isolated, elects itself from its
     * last (fresh) view at 5385 and leads alone until it steps down at 6035: its redis takes writes none of which
     * is acknowledged (from offset 231 on, a history of its own). Meanwhile nodes 0 and 1 elect node 0 (epoch 6080,
     * offset 129) and acknowledge writes up to offset 303. When node 0 is cut off in turn, node 1 (303, every
     * acknowledged write) and node 2 (327, none of them) propose at 7820, and node 2 wins on its higher offset: the
     * acknowledged writes of epoch 6080 are gone. Offsets of diverged histories are not comparable; the epoch
     * whose master a redis last replicated (as Raft's last log term) would have to come first.
     */
    @Test
    void aStaleHistoryWithAHigherOffsetDoesNotWinOverAcknowledgedWrites() {
        new Sim(2043105, true, true).run();
    }

    /**
     * A replica that holds acknowledged writes is passed over because its agent still takes it for tainted. 3
     * nodes: node 1's redis restarted empty at 13730 and resynced from leader 0 by 13890, and its writes up to
     * offset 1734 were acknowledged at 13955 with node 1's confirmation (redis's WAIT counts it); but no probe of
     * node 1's agent saw its redis in sync with the leader before node 0 was lost (its agent clears the taint
     * only then). Node 2, untainted with offset 1315, wins over node 1 (tainted, 1734) at 14010.
     */
    @Test
    void aResyncedReplicaHoldingAcknowledgedWritesIsNotPassedOver() {
        new Sim(3183441, true, true).run();
    }

    /**
     * Hostile {@code --quorum majority} schedules of the default set (first 1, 1500 runs) known to lose acknowledged
     * writes: none now. The run fails on a loss in any other schedule, and when one listed here stops losing (take
     * it off the list), so that an open case found later can be listed while it is worked on, never excused
     * silently. History (issue 14): the check found 34 such schedules; ranking by data epoch (stale histories,
     * tainted replicas) left 20; backing one candidate at a time (two leaders whose majorities shared a node) left
     * 1; learning a history's epoch from the previous replication id of a node that detached from it left none
     * in 1500, 5 in 5000; after backing nobody until a candidate can no longer count an earlier backing, a fresh
     * probe before a stepped-down leader proposes, shared histories and no wrong epoch mappings: none in 10 000.
     */
    static final Set<Long> KNOWN_ACK_LOSSES = Set.of();

    private static void runMany(boolean hostile) {
        runMany(hostile, false);
    }

    private static void runMany(boolean hostile, boolean majority) {
        runMany(hostile, majority, false);
    }

    private static void runMany(boolean hostile, boolean majority, boolean lease) {
        String only = System.getProperty("skep.sim.seed");
        if (only != null) {
            if (Boolean.getBoolean("skep.sim.hostile") == hostile && Boolean.getBoolean("skep.sim.majority") == majority
                    && Boolean.getBoolean("skep.sim.lease") == lease) {
                new Sim(Long.parseLong(only), hostile, majority, lease).run();
            }
            return;
        }
        int runs = lease ? LEASE_RUNS : RUNS;
        SimFigures figures = new SimFigures(hostile, majority, lease);
        long first = Long.getLong("skep.sim.firstRun", 1);
        List<String> failed = new ArrayList<>();
        List<Long> knownLost = new ArrayList<>();
        for (long seed = first; seed < first + runs; seed++) {
            Sim sim = new Sim(seed * 7919 + (hostile ? 1 : 0) + (majority ? 2 : 0) + (lease ? 4 : 0), hostile, majority,
                    lease);
            try {
                sim.run();
            } catch (AssertionError e) {
                if (majority && hostile && !lease && KNOWN_ACK_LOSSES.contains(sim.seed)
                        && String.valueOf(e.getMessage()).contains("lacks acknowledged write")) {
                    knownLost.add(sim.seed); // an open loss, listed below: counted, not excused silently
                    System.out.println("KNOWN " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
                    continue;
                }
                if (!KEEP_GOING) {
                    throw e;
                }
                String what = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
                failed.add(what);
                System.out.println("FAILED " + what);
            }
            figures.add(sim);
        }
        String mode = figures.mode();
        figures.print(runs);
        if (majority && hostile && !lease) {
            System.out.printf("%s schedules: %d lost acknowledged writes, each a known open case (KNOWN_ACK_LOSSES)%n",
                    mode, knownLost.size());
            List<Long> fixed = new ArrayList<>();
            for (long seed = first; seed < first + runs; seed++) {
                long s = seed * 7919 + 3;
                if (KNOWN_ACK_LOSSES.contains(s) && !knownLost.contains(s)) {
                    fixed.add(s);
                }
            }
            if (!fixed.isEmpty()) {
                failed.add("seeds " + fixed + " no longer lose an acknowledged write: remove them from KNOWN_ACK_LOSSES");
            }
        }
        if (!failed.isEmpty()) {
            fail(failed.size() + " of " + runs + " " + mode + " schedules failed:\n  " + String.join("\n  ", failed));
        }
        if (runs >= 100 && figures.handoversDone == 0) {
            fail("no schedule completed a handover: the simulation does not exercise them");
        }
    }
}
