package dev.skep.election;

import dev.skep.lease.LeaseRecord;
import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.fail;

/**
 * Runs the real {@link Election} of several nodes through randomized schedules in virtual time: redis
 * crashes and empty restarts, agent crashes, pod restarts, message delays, and (hostile schedules) message
 * loss and partitions. Redis replication is modelled: a replica copies its master's data (offset and
 * {@link Sim.History history}) while the link is up, and a full sync from a restarted master replaces the
 * replica's data. A redis that turns master starts a new history on top of what it holds, and one that restarts
 * empty a new one from nothing, so that two datasets at the same offset after a split are told apart.
 *
 * <p>Checked on every step: epochs never go backwards at a node; at most one node ever leads a given epoch
 * and at most one leads at a time (reliable schedules: no partitions or loss can excuse it); a node never
 * becomes leader with an empty redis while a reachable ready peer, up for
 * longer than a peer timeout and not itself restarted (tainted), has data (invariant 2); the winner of an
 * election has the highest offset among the proposals (invariant 3, reliable schedules). After the faults
 * stop, the hive must converge to exactly one leader that every node follows.
 *
 * <p>{@code --quorum majority}: a leader cut off from a majority stops leading within a peer timeout and a
 * heartbeat; and what the write ports acknowledged is never lost. A leader's write port acknowledges the writes
 * that the replicas its topology asks for ({@code syncReplicas}, linked to its redis) hold, and every
 * acknowledged write must be held by the redis of each leader of a later epoch when its promotion is confirmed,
 * by a handover's successor, and by the leader after healing. Excluded (counted and printed), as a crash may
 * have destroyed them by no fault of the election: writes once the redis of any node that held them when
 * acknowledged crashed, or resynced from a master that had restarted empty since it was told to replicate it;
 * and writes acknowledged by a leader whose redis had restarted empty before its agent could tell (both
 * docs/guarantees.md, Known limits).
 *
 * <p>{@code --election lease}: a Kubernetes API server is modelled as a compare-and-swap store of one Lease,
 * reached by each agent's single lease thread through requests that take time, time out (possibly applied
 * all the same) and can be cut off, with the API server itself down at times. Checked besides: never two nodes
 * at once that lead with a writable redis and a Lease they believe valid; after healing, the leader holds the
 * Lease. Planned handovers pause the old master as redis does, until a second past the handover's deadline.
 *
 * <p>A failing schedule prints its seed and the last events; replay it with
 * {@code -Dskep.sim.seed=N -Dskep.sim.hostile=true|false} (and {@code -Dskep.sim.majority=true} or
 * {@code -Dskep.sim.lease=true} for those modes), and {@code -Dskep.sim.verbose=true} to print every event.
 * Other schedules than the usual ones: {@code -Dskep.sim.firstRun=N} (with {@code skep.sim.runs} or
 * {@code skep.sim.leaseRuns}); every failing schedule rather than the first: {@code -Dskep.sim.keepGoing=true}.
 */
class ElectionSimulationTest {
    private static final int RUNS = Integer.getInteger("skep.sim.runs", 1500);
    /** Replaying one seed: every event (and every renewal) printed as it happens. */
    private static final boolean VERBOSE = Boolean.getBoolean("skep.sim.verbose");
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
    static final java.util.Set<Long> KNOWN_ACK_LOSSES = java.util.Set.of();

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
        int[] handovers = new int[2];
        long twoLeadersMs = 0;
        long twoLeadingStatesMs = 0;
        long restartedUnprobedMs = 0;
        long[] leaseWrites = new long[4];
        long[] acked = new long[Sim.Excluded.values().length + 1];
        long[] holdersLost = new long[Sim.Excluded.values().length];
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
            handovers[0] += sim.handoversDone;
            handovers[1] += sim.handoversAbandoned;
            twoLeadersMs += sim.twoLeadersMs;
            twoLeadingStatesMs += sim.twoLeadingStatesMs;
            restartedUnprobedMs += sim.restartedUnprobedMs;
            for (int i = 0; i < leaseWrites.length; i++) {
                leaseWrites[i] += sim.leaseWrites[i];
            }
            if (majority) {
                long[] w = sim.acknowledgedWrites();
                for (int i = 0; i < w.length; i++) {
                    acked[i] += w[i];
                }
                acked[w.length] += sim.ackChecks;
                for (int i = 0; i < holdersLost.length; i++) {
                    holdersLost[i] += sim.holdersLost[i];
                }
            }
        }
        String mode = (hostile ? "hostile" : "reliable") + (majority ? " majority" : "") + (lease ? " lease" : "");
        System.out.printf("%s schedules: %d ms in all with two writable leaders at once over %d schedules of %d s%n",
                mode, twoLeadersMs, runs, (Sim.FAULT_PHASE + Sim.HEAL_PHASE) / 1000);
        if (lease) {
            System.out.printf("%s schedules: %d ms in all with two nodes in state LEADING at once (writable or not,"
                    + " Lease valid or not)%n", mode, twoLeadingStatesMs);
            System.out.printf("%s schedules: %d ms in all with a leader's redis restarted (empty, unpaused), not yet"
                    + " probed, while another node leads on the Lease%n", mode, restartedUnprobedMs);
            System.out.printf("%s schedules: Lease writes: %d stored, %d refused (409), %d failed or timed out;"
                    + " %d step-downs that fenced writes%n", mode, leaseWrites[0], leaseWrites[1], leaseWrites[2],
                    leaseWrites[3]);
        }
        if (majority) {
            System.out.printf("%s schedules: %d acknowledged writes, checked on the redis of every later epoch's leader"
                    + " (%d checks); excluded as a crash may have destroyed them: %d after a redis that held them when"
                    + " acknowledged lost its data (%d times to its own crash, %d to a resync from a master that had"
                    + " restarted empty), %d acknowledged by a leader whose redis had restarted empty unnoticed%n",
                    mode, acked[0], acked[4], acked[1] + acked[2], holdersLost[1], holdersLost[2], acked[3]);
        }
        System.out.printf("%s schedules: %d handovers completed, %d abandoned or refused%n", mode, handovers[0],
                handovers[1]);
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
        if (runs >= 100 && handovers[0] == 0) {
            fail("no schedule completed a handover: the simulation does not exercise them");
        }
    }

    /** One schedule. */
    static final class Sim {
        static final long HB = 250;
        static final long TIMEOUT = 750;
        static final long STEP = 5;
        static final long FAULT_PHASE = 30_000;
        static final long HEAL_PHASE = 12_000;
        /** --lease-duration-s: short, so that schedules exercise expiry (hold: 1.5 s after a renewal was sent). */
        static final int LEASE_S = 2;
        /** The lease client's bound on each request, as SkepNode gives it: two heartbeats. */
        static final long API_TIMEOUT = 2 * HB;

        final long seed;
        final boolean hostile;
        /** --quorum majority, with LAN-like delays: two writable leaders are never excused. */
        final boolean majority;
        final Random rnd;
        final int n;
        final Node[] nodes;
        final boolean[][] cut;
        final PriorityQueue<Delivery> queue = new PriorityQueue<>();
        final Map<Long, Integer> leaderOfEpoch = new HashMap<>();
        final Deque<String> trace = new ArrayDeque<>();
        double loss;
        long lossUntil;
        long now;
        long seq;
        int runIds;
        int handoversDone;
        long twoLeadersMs;
        int handoversAbandoned;
        /** --election lease: the API server below, each agent's lease thread in its {@link Node}. */
        final boolean lease;
        /** Timed steps of API requests (arrival at the server, the answer's return), in virtual time. */
        final PriorityQueue<Action> actions = new PriorityQueue<>();
        /** The Lease as the API server stores it; null until created (it is never deleted). */
        LeaseRecord stored;
        long versions;
        long apiDownUntil = -1;
        /** While down: whether the API server refuses connections at once, or is silent (requests time out). */
        boolean apiRefuses;
        /**
         * Time during which a node leads on a redis that restarted since its agent last probed it (empty and
         * unpaused: a handover's pause is lost) while another node is a lease-backed writable leader.
         */
        long restartedUnprobedMs;
        /** A node to isolate (peers and API server) at {@code isolateAt}; -1: none. */
        int isolateNode = -1;
        long isolateAt;
        /** Time with two nodes in state LEADING at once, lease-backed and writable or not. */
        long twoLeadingStatesMs;
        /** Lease writes stored, refused with 409, failed (timed out or unreachable); fencing step-downs. */
        final long[] leaseWrites = new long[4];
        /**
         * Whether redis starts fenced and a replica of nowhere ({@code LocalHive.FENCED_AT_BIRTH}, as {@code skep up}
         * and the chart start it) or as a writable master (a redis a user started on their own): half the schedules
         * each.
         */
        final boolean fencedAtBirth;
        /** Histories made so far: each new one gets the next id. */
        int histories;
        /**
         * --quorum majority: what the write ports acknowledged, in the order acknowledged; an entry grows while
         * the same leader acknowledges more of the same history with the same nodes holding it.
         */
        final List<Ack> acks = new ArrayList<>();
        /** The entry that grows for each (history, epoch, holders); an entry leaves it once excluded. */
        final Map<AckKey, Ack> growing = new HashMap<>();
        /** How many times a new leader's (or a handover successor's) redis was checked against {@link #acks}. */
        long ackChecks;
        /** How many times a redis that held acknowledged writes lost its data, by {@link Excluded} reason. */
        final long[] holdersLost = new long[Excluded.values().length];

        Sim(long seed, boolean hostile) {
            this(seed, hostile, false);
        }

        Sim(long seed, boolean hostile, boolean majority) {
            this(seed, hostile, majority, false);
        }

        Sim(long seed, boolean hostile, boolean majority, boolean lease) {
            this.seed = seed;
            // drawn apart from rnd, so that the schedule a seed names does not depend on it
            this.fencedAtBirth = new Random(~seed).nextBoolean();
            this.hostile = hostile;
            this.majority = majority;
            this.lease = lease;
            this.rnd = new Random(seed);
            this.n = 3 + rnd.nextInt(3);
            this.nodes = new Node[n];
            this.cut = new boolean[n][n];
            for (int i = 0; i < n; i++) {
                nodes[i] = new Node(i);
            }
        }

        final class Node {
            final int id;
            final Endpoint peer;
            final Endpoint redisEp;
            Election election;
            int incarnation;
            long nextTick;
            /** When this agent (re)started: before its first messages arrive, no one can know its data. */
            long agentStartedAt;
            long agentBackAt = -1;
            long redisBackAt = -1;
            long lastEpoch;
            NodeState lastState = NodeState.ALONE;
            boolean redisUp = true;
            String runId;
            /** What this redis holds: {@code offset} writes along this history (see {@link History}). */
            History history;
            /** The run_id of this redis when it was last promoted: a later one restarted (empty) since. */
            String promotedRunId = "";
            /**
             * How many histories existed when this node's agent last told its redis whom to replicate: a master whose
             * data descends from a later empty restart restarted since, unknown to that command.
             */
            int historiesAtFollow;
            RedisRole role = RedisRole.MASTER;
            int master = -1;
            String syncedFrom = "";
            boolean linkUp;
            long offset;
            long nextConnect;
            long syncDoneAt = -1;
            long isolatedUntil = -1;
            /** Fenced ({@code min-replicas-to-write} above the hive's size): this redis takes no client write. */
            boolean fenced;
            /** Writes paused on this redis (a handover); clients' writes do not advance its offset. */
            boolean paused;
            /** When a pause ends by itself: ElectionLoop's CLIENT PAUSE lasts a second past the handover's deadline. */
            long pausedUntil;
            /** A handover's successor this node waits for (-1: none), and until when. */
            int handoverSuccessor = -1;
            /** When the last event of this agent's redis thread is delivered: the next comes no earlier. */
            long lastRedisEventAt;
            /** The run_id the leader's election knew when it asked for the handover: RedisController checks it. */
            String handoverRunId = "";
            long handoverDeadline;
            long leaseCheckAt;
            /** Last time this node had two-way links to a majority of running agents. */
            long majorityAt;
            long agentDiedAt = -1_000_000;
            long ledSince;
            // --election lease: the agent's lease thread runs one request at a time, writes before the next read
            final Deque<Effect.WriteLease> leaseWrites = new ArrayDeque<>();
            boolean leaseBusy;
            long nextLeaseRead;
            /** Cut off from the API server until then. */
            long apiCutUntil = -1;

            Node(int id) {
                this.id = id;
                this.peer = new Endpoint("10.0.0." + (id + 1), 7380);
                this.redisEp = new Endpoint("10.0.0." + (id + 1), 6379);
                this.runId = newRunId();
                this.history = newHistory(null, 0);
                born();
                startAgent();
                this.nextTick = rnd.nextInt((int) HB);
            }

            void startAgent() {
                incarnation++;
                lastEpoch = 0;
                lastState = NodeState.ALONE;
                election = new Election(new ElectionSettings(peer, redisEp, 8080, HB, TIMEOUT, 3, Long.MAX_VALUE, 2000,
                        majority ? Quorum.MAJORITY : Quorum.NONE, lease ? LEASE_S : 0), now);
                handoverSuccessor = -1;
                // a new lease thread: what the dead one had queued is gone (requests already sent may still land)
                leaseWrites.clear();
                leaseBusy = false;
                nextLeaseRead = now;
                // discovery's first answer: the configured peers (a static list, or the Service's A records)
                java.util.Set<Endpoint> all = new java.util.HashSet<>();
                for (int j = 0; j < n; j++) {
                    if (j != id) {
                        all.add(new Endpoint("10.0.0." + (j + 1), 7380));
                    }
                }
                enqueue(this, now + 1, new ElectionEvent.PeersDiscovered(all, 0));
                agentStartedAt = now;
            }

            /** A redis-server process starts: fenced and a replica of nowhere, or a writable master (fencedAtBirth). */
            void born() {
                fenced = fencedAtBirth;
                role = fencedAtBirth ? RedisRole.REPLICA : RedisRole.MASTER;
            }

            RedisSnapshot snapshot() {
                Endpoint upstream = master >= 0 ? nodes[master].redisEp
                        : role == RedisRole.REPLICA ? dev.skep.redis.RedisController.NOWHERE : null;
                return new RedisSnapshot(runId, 100 + id, "7.0.15", role, upstream == null ? null : upstream.host(),
                        upstream == null ? 0 : upstream.port(), linkUp, role == RedisRole.REPLICA && syncDoneAt >= 0, offset, offset, 0,
                        fenced, 0, "h" + history.id(), // a history is what redis's master_replid names,
                        history.parent() == null ? "" : "h" + history.parent().id()); // and its fork, master_replid2
            }
        }

        record Delivery(long at, long seq, int node, int incarnation, ElectionEvent event)
                implements Comparable<Delivery> {
            @Override
            public int compareTo(Delivery o) {
                int c = Long.compare(at, o.at);
                return c != 0 ? c : Long.compare(seq, o.seq);
            }
        }

        /** A step of an API request, run at {@code at}. */
        record Action(long at, long seq, Runnable step) implements Comparable<Action> {
            @Override
            public int compareTo(Action o) {
                int c = Long.compare(at, o.at);
                return c != 0 ? c : Long.compare(seq, o.seq);
            }
        }

        /** An API server's answer: {@code ok} false is a 409 Conflict; {@code lease} is the Lease (null: none). */
        record Answer(boolean ok, LeaseRecord lease) {}

        /**
         * The lineage of a redis's dataset: the writes one master took on top of {@code parent}'s writes up to
         * {@code forkOffset} (its offset when it became master), or from nothing ({@code parent} null: a redis
         * that started empty). Offsets alone cannot tell two datasets apart: two masters of a split both at
         * offset 100 hold different writes. A write is (history, offset), the offset above {@code forkOffset};
         * only the redis that started a history writes to it (any other redis that holds it got it by syncing),
         * so two redis with the same history and offset hold the same data. Compared by identity: the chain
         * can be long, and the id alone names it.
         */
        record History(History parent, long forkOffset, int id) {
            History root() {
                History h = this;
                while (h.parent != null) {
                    h = h.parent;
                }
                return h;
            }

            /** Whether a redis at {@code offset} on this history holds write {@code (of, at)}. */
            boolean holds(long offset, History of, long at) {
                long upTo = offset;
                for (History h = this; h != null; h = h.parent) {
                    if (h == of) {
                        return upTo >= at;
                    }
                    upTo = Math.min(upTo, h.forkOffset); // the parent's writes past the fork are not ours
                }
                return false;
            }

            /** The write at {@code offset} on this history, named by the history that took it. */
            static String write(History h, long offset) {
                while (h.parent != null && offset <= h.forkOffset) {
                    h = h.parent;
                }
                return "h" + h.id + "@" + offset;
            }

            /** This history and its first ancestors, for a trace: {@code h9(h4@80(h1@12))}. */
            String lineage() {
                StringBuilder b = new StringBuilder("h" + id);
                int depth = 0;
                for (History h = this; h.parent != null; h = h.parent) {
                    if (++depth > 4) {
                        b.append("(...");
                        break;
                    }
                    b.append("(h").append(h.parent.id).append('@').append(h.forkOffset);
                }
                return b.append(")".repeat(depth)).toString();
            }

            @Override
            public boolean equals(Object o) {
                return this == o;
            }

            @Override
            public int hashCode() {
                return id;
            }

            @Override
            public String toString() {
                return "h" + id;
            }
        }

        /** Acknowledged writes grow one entry while these stay the same. */
        record AckKey(History history, long epoch, int holders) {}

        /** Why acknowledged writes are not checked: a crash may have destroyed them, by no fault of the election. */
        enum Excluded {
            /** Checked. */
            NO,
            /** The redis of a node that held them when they were acknowledged crashed since (it restarts empty). */
            HOLDER_CRASHED,
            /**
             * The redis of a node that held them resynced since from a master whose redis restarted empty after it
             * was told to replicate that master: redis reconnects by itself to whatever answers at the master's
             * address, before the agents can tell (docs/guarantees.md, Known limits).
             */
            HOLDER_RESYNCED_FROM_RESTARTED,
            /**
             * Acknowledged by a leader whose redis had restarted empty since its promotion, before its agent's next
             * probe could tell: its writes start a history of their own, cut off from everything acknowledged
             * before, and the next election must choose between the two (docs/guarantees.md, Known limits: a redis that
             * restarts faster than it is detected).
             */
            LEADER_RESTARTED
        }

        /**
         * Writes a leader's write port acknowledged: those of {@code history} up to {@code offset}, in
         * {@code epoch}, while the nodes of the bit set {@code holders} (the leader and the replicas linked to it
         * at that offset or past it) held them.
         */
        static final class Ack {
            final History history;
            final long epoch;
            final int leader;
            final int holders;
            final long since;
            long offset;
            long at;
            Excluded excluded;
            /** Another node that led a later epoch (or was being promoted) while these were acknowledged; null: none. */
            String rival;

            Ack(History history, long epoch, int leader, int holders, long offset, long now, Excluded excluded) {
                this.history = history;
                this.epoch = epoch;
                this.leader = leader;
                this.holders = holders;
                this.offset = offset;
                this.since = now;
                this.at = now;
                this.excluded = excluded;
            }
        }

        History newHistory(History parent, long forkOffset) {
            return new History(parent, forkOffset, ++histories);
        }

        /**
         * {@code x}'s redis turns master: the writes it takes from now on are a new history on top of what it
         * holds. A redis that is master already keeps its history ({@code REPLICAOF NO ONE} is a no-op there, and
         * it has been the only writer of that history since it started it).
         */
        void becomeMaster(Node x) {
            if (x.role != RedisRole.MASTER) {
                x.history = newHistory(x.history, x.offset);
            }
            x.role = RedisRole.MASTER;
            x.master = -1;
        }

        String newRunId() {
            return "run" + (++runIds);
        }

        void run() {
            long nextFault = 500 + rnd.nextInt(1500);
            for (now = 0; now < FAULT_PHASE + HEAL_PHASE; now += STEP) {
                if (isolateNode >= 0 && now >= isolateAt) {
                    if (now < FAULT_PHASE) {
                        isolate(nodes[isolateNode], 300 + rnd.nextInt(3700), true);
                    }
                    isolateNode = -1;
                }
                if (now < FAULT_PHASE && now >= nextFault) {
                    injectFault();
                    nextFault = now + 300 + rnd.nextInt(hostile ? 2000 : 3000);
                }
                if (now == FAULT_PHASE) {
                    heal();
                }
                restarts();
                replicate();
                if (majority) {
                    acknowledge();
                }
                handovers();
                ticks();
                leaseThreads();
                deliver();
                checkInstant();
            }
            checkConverged();
        }

        // ---- faults ----

        void injectFault() {
            if (rnd.nextInt(6) == 0) {
                Node l = leaderOrAny();
                if (l.election != null) {
                    log("handover requested of " + l.id);
                    dispatch(l, new ElectionEvent.HandoverRequested(null, "sim", now));
                    if (lease && hostile && rnd.nextInt(3) == 0) {
                        // the leader's network goes away while it hands the Lease over: the Lease may or may not
                        // be its successor's, and the successor soon stops hearing it
                        isolateAt = now + rnd.nextInt(800);
                        isolateNode = l.id;
                    }
                }
                return;
            }
            if (lease && rnd.nextInt(4) == 0) {
                injectApiFault();
                return;
            }
            Node x = nodes[rnd.nextInt(n)];
            int kinds = hostile ? 7 : 4;
            switch (rnd.nextInt(kinds)) {
                case 0 -> crashRedis(x, 200 + rnd.nextInt(2300));
                case 1 -> crashAgent(x, 200 + rnd.nextInt(2800));
                case 2 -> { // a pod restart: both go, redis comes back empty
                    long back = 300 + rnd.nextInt(2500);
                    crashRedis(x, back);
                    crashAgent(x, back);
                }
                case 3 -> crashRedis(leaderOrAny(), 200 + rnd.nextInt(1500));
                case 4 -> isolate(x, 300 + rnd.nextInt(3700));
                case 5 -> {
                    loss = 0.1 + rnd.nextDouble() * 0.5;
                    lossUntil = now + 500 + rnd.nextInt(2500);
                    log("loss " + Math.round(loss * 100) + "% until " + lossUntil);
                }
                default -> { // one direction only
                    int a = rnd.nextInt(n);
                    int b = rnd.nextInt(n);
                    if (a != b) {
                        cut[a][b] = true;
                        log("cut " + a + "->" + b);
                    }
                }
            }
        }

        /** A node cut off from the API server (the leader, half the time), or the API server down for a while. */
        void injectApiFault() {
            if (rnd.nextBoolean()) {
                Node x = rnd.nextBoolean() ? leaderOrAny() : nodes[rnd.nextInt(n)];
                long forMs = 300 + rnd.nextInt(3700);
                x.apiCutUntil = Math.max(x.apiCutUntil, now + forMs);
                log("cut " + x.id + " from the API server for " + forMs + " ms");
            } else if (apiDownUntil < now) {
                long forMs = 300 + rnd.nextInt(3200);
                apiDownUntil = now + forMs;
                apiRefuses = rnd.nextBoolean();
                log("API server down for " + forMs + " ms (" + (apiRefuses ? "refusing connections" : "silent") + ")");
            }
        }

        Node leaderOrAny() {
            for (Node x : nodes) {
                if (x.election != null && x.election.state() == NodeState.LEADING) {
                    return x;
                }
            }
            return nodes[rnd.nextInt(n)];
        }

        void crashRedis(Node x, long downFor) {
            if (!x.redisUp) {
                return;
            }
            x.redisUp = false;
            x.linkUp = false;
            x.paused = false;
            x.redisBackAt = now + downFor;
            log("kill -9 redis " + x.id + " for " + downFor + " ms");
            if (majority) {
                exclude(x, Excluded.HOLDER_CRASHED);
            }
        }

        void crashAgent(Node x, long downFor) {
            if (x.election == null) {
                return;
            }
            x.election = null;
            x.agentDiedAt = now;
            x.agentBackAt = now + downFor;
            log("kill -9 agent " + x.id + " for " + downFor + " ms");
        }

        void isolate(Node x, long forMs) {
            isolate(x, forMs, lease && rnd.nextBoolean());
        }

        void isolate(Node x, long forMs, boolean fromApi) {
            for (int j = 0; j < n; j++) {
                if (j != x.id) {
                    cut[x.id][j] = true;
                    cut[j][x.id] = true;
                }
            }
            x.isolatedUntil = now + forMs;
            // (lease) half the time the node's whole network is gone, the API server with its peers: the case the
            // Lease is for (a leader that can neither renew nor hear its successor)
            if (fromApi) {
                x.apiCutUntil = Math.max(x.apiCutUntil, now + forMs);
            }
            log("isolate " + x.id + " for " + forMs + " ms" + (fromApi ? ", from the API server too" : ""));
        }

        void heal() {
            for (boolean[] row : cut) {
                java.util.Arrays.fill(row, false);
            }
            loss = 0;
            apiDownUntil = -1;
            for (Node x : nodes) {
                x.isolatedUntil = -1;
                x.apiCutUntil = -1;
                if (x.redisBackAt > now) {
                    x.redisBackAt = now;
                }
                if (x.agentBackAt > now) {
                    x.agentBackAt = now;
                }
            }
            log("heal");
        }

        void restarts() {
            if (loss > 0 && now >= lossUntil) {
                loss = 0;
            }
            if (apiDownUntil >= 0 && now >= apiDownUntil) {
                apiDownUntil = -1;
                log("API server back");
            }
            for (Node x : nodes) {
                if (x.apiCutUntil >= 0 && now >= x.apiCutUntil) {
                    x.apiCutUntil = -1;
                    log(x.id + " reaches the API server again");
                }
                if (x.isolatedUntil >= 0 && now >= x.isolatedUntil) {
                    for (int j = 0; j < n; j++) {
                        cut[x.id][j] = false;
                        cut[j][x.id] = false;
                    }
                    x.isolatedUntil = -1;
                    log("rejoin " + x.id);
                }
                if (!x.redisUp && now >= x.redisBackAt) {
                    x.redisUp = true;
                    x.runId = newRunId();
                    x.born();
                    x.master = -1;
                    x.offset = 0;
                    x.history = newHistory(null, 0); // whatever it held is gone
                    x.linkUp = false;
                    x.syncedFrom = "";
                    log("redis " + x.id + " back, empty");
                }
                if (x.election == null && now >= x.agentBackAt) {
                    x.startAgent();
                    x.nextTick = now;
                    log("agent " + x.id + " back");
                }
            }
        }

        // ---- redis model ----

        void replicate() {
            for (Node x : nodes) {
                if (x.paused && now >= x.pausedUntil) {
                    x.paused = false; // the pause timed out by itself: redis takes writes again, whoever leads
                }
            }
            for (Node x : nodes) {
                if (x.redisUp && x.role == RedisRole.MASTER && x.election != null && !x.paused && !x.fenced
                        && x.election.state() == NodeState.LEADING) {
                    x.offset += 1; // clients write to the leader
                }
            }
            for (Node x : nodes) {
                if (!x.redisUp || x.role != RedisRole.REPLICA) {
                    continue;
                }
                if (x.master < 0) {
                    continue; // born a replica of nowhere: no link until its agent points it somewhere
                }
                Node m = nodes[x.master];
                // (a replica not linked to its master refuses to serve a sync: -NOMASTERLINK; one born a replica
                // of nowhere never serves one before its agent promotes it)
                if (!m.redisUp || cut[x.id][m.id] || cut[m.id][x.id] || (m.role == RedisRole.REPLICA && !m.linkUp)) {
                    if (x.linkUp || x.syncDoneAt >= 0) {
                        // redis retries from its replication cron, once a second
                        x.nextConnect = now + 1 + rnd.nextInt(1000);
                    }
                    x.linkUp = false;
                    x.syncDoneAt = -1;
                    continue;
                }
                if (!x.linkUp) {
                    if (x.syncDoneAt < 0) {
                        if (now < x.nextConnect) {
                            continue;
                        }
                        x.syncDoneAt = now + (x.syncedFrom.equals(m.runId) ? 0 : 20 + rnd.nextInt(80));
                    }
                    if (now < x.syncDoneAt) {
                        continue;
                    }
                    // a full (or PSYNC2 partial) sync: the replica now holds the master's data, whatever it had
                    x.syncedFrom = m.runId;
                    x.syncDoneAt = -1;
                }
                if (x.history != m.history && x.offset > 0 && !m.history.holds(m.offset, x.history, x.offset)) {
                    boolean restarted = m.history.root().id() > x.historiesAtFollow;
                    log("redis " + x.id + " resyncs from redis " + m.id + " (" + m.history.lineage() + " at " + m.offset
                            + "): its writes past the split are gone (it had " + x.history.lineage() + " at " + x.offset + ")"
                            + (restarted ? ", as that redis restarted empty since it was told to replicate it" : ""));
                    if (majority && restarted) {
                        exclude(x, Excluded.HOLDER_RESYNCED_FROM_RESTARTED);
                    }
                }
                x.offset = m.offset;
                x.history = m.history; // a full or partial sync alike: the replica now has the master's data
                x.linkUp = true;
            }
        }

        /**
         * --quorum majority: what the write ports acknowledge. Clients write to the leader ({@link #replicate()});
         * the proxy answers a write once {@code WAIT} says the number of replicas its topology asks for
         * ({@link dev.skep.topology.Topology#syncReplicas()}) have it. A replica counts while it is linked to the
         * leader's redis and holds the leader's history, as redis's {@code WAIT} counts the replicas connected to
         * that master. A paused redis (handover) takes no writes and none are acknowledged meanwhile.
         */
        void acknowledge() {
            for (Node l : nodes) {
                if (l.election == null || l.election.state() != NodeState.LEADING || !l.redisUp
                        || l.role != RedisRole.MASTER || l.paused) {
                    continue;
                }
                int needed = l.election.topology().syncReplicas();
                List<Long> offsets = new ArrayList<>();
                for (Node r : nodes) {
                    if (linkedReplica(r, l)) {
                        offsets.add(r.offset);
                    }
                }
                if (offsets.size() < needed) {
                    continue;
                }
                offsets.sort(java.util.Comparator.reverseOrder());
                long acked = needed == 0 ? l.offset : Math.min(l.offset, offsets.get(needed - 1));
                if (acked <= l.history.forkOffset()) {
                    continue; // nothing this leader wrote: writes below the fork were its predecessor's to acknowledge
                }
                int holders = 1 << l.id;
                for (Node r : nodes) {
                    if (linkedReplica(r, l) && r.offset >= acked) {
                        holders |= 1 << r.id;
                    }
                }
                long epoch = l.election.epoch();
                AckKey key = new AckKey(l.history, epoch, holders);
                Ack a = growing.get(key);
                if (a == null) {
                    // the proxy writes to whatever redis answers at the leader's address; a restarted one stays
                    // master (empty) until the agent's next probe makes the leader step down
                    boolean restarted = !l.runId.equals(l.promotedRunId);
                    a = new Ack(l.history, epoch, l.id, holders, acked, now,
                            restarted ? Excluded.LEADER_RESTARTED : Excluded.NO);
                    growing.put(key, a);
                    acks.add(a);
                    if (VERBOSE) {
                        log(l.id + " acknowledges up to " + History.write(l.history, acked) + " in epoch " + epoch
                                + ", held by " + nodesOf(holders) + (restarted ? " (its redis restarted unnoticed:"
                                + " not checked)" : ""));
                    }
                } else if (acked > a.offset) {
                    a.offset = acked;
                    a.at = now;
                }
                for (Node y : nodes) {
                    if (a.rival == null && y != l && y.election != null && (y.election.state() == NodeState.PROMOTING
                            || y.election.state() == NodeState.LEADING && y.election.epoch() > epoch)) {
                        a.rival = "node " + y.id + (y.election.state() == NodeState.PROMOTING ? " being promoted"
                                : " leading epoch " + y.election.epoch()) + " at t=" + now;
                    }
                }
            }
        }

        boolean linkedReplica(Node r, Node of) {
            return r != of && r.redisUp && r.role == RedisRole.REPLICA && r.master == of.id && r.linkUp
                    && r.history == of.history;
        }

        /** {@code x}'s redis lost its data by a crash: the writes it held when acknowledged are no longer checked. */
        void exclude(Node x, Excluded why) {
            boolean held = false;
            for (Ack a : acks) {
                if (a.excluded == Excluded.NO && (a.holders & (1 << x.id)) != 0) {
                    held = true;
                    a.excluded = why;
                    growing.remove(new AckKey(a.history, a.epoch, a.holders));
                }
            }
            if (held) {
                holdersLost[why.ordinal()]++;
            }
        }

        /**
         * Invariant of --quorum majority: {@code x}'s redis, as it became master for {@code epoch}, holds every
         * write acknowledged in an earlier epoch (every one, for {@code epoch} {@link Long#MAX_VALUE}) except
         * those excluded. Not checked when that redis has restarted since its promotion: it has lost everything
         * by a crash, and the next leader is checked instead.
         */
        void checkAcknowledged(Node x, long epoch, String who) {
            if (!x.redisUp || !x.runId.equals(x.promotedRunId)) {
                log(who + ": its redis restarted since its promotion, acknowledged writes not checked on it");
                return;
            }
            ackChecks++;
            for (Ack a : acks) {
                if (a.excluded != Excluded.NO || a.epoch >= epoch || x.history.holds(x.offset, a.history, a.offset)) {
                    continue;
                }
                int holdNow = 0;
                for (Node y : nodes) {
                    if (y.redisUp && y.history.holds(y.offset, a.history, a.offset)) {
                        holdNow |= 1 << y.id;
                    }
                }
                violation(who + " lacks acknowledged write " + History.write(a.history, a.offset) + ": node "
                        + a.leader + " acknowledged it in epoch " + a.epoch + " at t=" + a.at + " (writes of " + a.history
                        + " up to " + a.offset + " since t=" + a.since + ") while nodes " + nodesOf(a.holders)
                        + " held it, none of which lost its data to a crash since" + (a.rival == null ? "" : ", and " + a.rival)
                        + "; node " + x.id + "'s redis has "
                        + x.history.lineage() + " at offset " + x.offset + "; it is held now by nodes " + nodesOf(holdNow));
            }
        }

        String nodesOf(int bits) {
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if ((bits & (1 << i)) != 0) {
                    ids.add(i);
                }
            }
            return ids.toString();
        }

        /**
         * Writes acknowledged in this schedule: {acknowledged, then excluded for each {@link Excluded} reason but
         * {@code NO}}. A write counts once, on the history that took it, whichever entries of {@link #acks} cover it
         * (an entry covers every write below it on its lineage); it is checked when an entry that is checked covers
         * it, else excluded for the first reason of an entry that covers it.
         */
        long[] acknowledgedWrites() {
            int reasons = Excluded.values().length;
            // per history: up to where it is covered by entries excluded for a reason of that ordinal or lower
            Map<History, long[]> upTo = new LinkedHashMap<>();
            for (Ack a : acks) {
                long cap = a.offset;
                for (History h = a.history; h != null; cap = Math.min(cap, h.forkOffset()), h = h.parent()) {
                    long[] u = upTo.computeIfAbsent(h, k -> new long[reasons]);
                    for (int k = a.excluded.ordinal(); k < reasons; k++) {
                        u[k] = Math.max(u[k], cap);
                    }
                }
            }
            long[] w = new long[reasons];
            for (Map.Entry<History, long[]> e : upTo.entrySet()) {
                long below = e.getKey().forkOffset(); // the parent's writes, counted there
                long[] u = e.getValue();
                w[0] += Math.max(below, u[reasons - 1]) - below;
                for (int k = 0; k < reasons; k++) {
                    long covered = Math.max(below, u[k]);
                    if (k > 0) {
                        w[k] += covered - below;
                    }
                    below = covered;
                }
            }
            return w;
        }

        /** The leader's side of a handover: its redis waits until the successor's has caught up, or times out. */
        void handovers() {
            for (Node x : nodes) {
                if (x.handoverSuccessor < 0) {
                    continue;
                }
                Node s = nodes[x.handoverSuccessor];
                if (!x.redisUp) {
                    x.handoverSuccessor = -1;
                    enqueueRedis(x, now + 1, new ElectionEvent.HandoverCaughtUp(false, 0, "redis down", 0));
                } else if (!x.handoverRunId.isEmpty() && !x.handoverRunId.equals(x.runId)) {
                    x.handoverSuccessor = -1;
                    x.paused = false;
                    enqueueRedis(x, now + 1, new ElectionEvent.HandoverCaughtUp(false, 0, "local redis restarted", 0));
                } else if (s.redisUp && s.role == RedisRole.REPLICA && s.master == x.id && s.linkUp
                        && s.offset >= x.offset) {
                    x.handoverSuccessor = -1;
                    enqueueRedis(x, now + 1 + rnd.nextInt(5), new ElectionEvent.HandoverCaughtUp(true, x.offset, "", 0));
                } else if (now >= x.handoverDeadline) {
                    x.handoverSuccessor = -1;
                    x.paused = false;
                    enqueueRedis(x, now + 1, new ElectionEvent.HandoverCaughtUp(false, 0, "timed out", 0));
                }
            }
        }

        // ---- driving the elections ----

        void ticks() {
            for (Node x : nodes) {
                if (x.election == null || now < x.nextTick) {
                    continue;
                }
                x.nextTick = now + HB;
                dispatch(x, new ElectionEvent.Tick(now));
                if (x.redisUp) {
                    enqueueRedis(x, now + 1 + rnd.nextInt(10), new ElectionEvent.ProbeSucceeded(x.snapshot(), 0));
                } else {
                    enqueueRedis(x, now + 100, new ElectionEvent.ProbeFailed("connection refused", 0));
                }
            }
        }

        /**
         * What the agent's redis thread reports (probes, promotions, handovers): one thread, so in the order it did
         * them, as ElectionLoop delivers them to the control thread.
         */
        void enqueueRedis(Node x, long at, ElectionEvent e) {
            x.lastRedisEventAt = Math.max(at, x.lastRedisEventAt);
            enqueue(x, x.lastRedisEventAt, e);
        }

        void enqueue(Node x, long at, ElectionEvent e) {
            queue.add(new Delivery(at, seq++, x.id, x.incarnation, e));
        }

        void deliver() {
            while (!queue.isEmpty() && queue.peek().at() <= now) {
                Delivery d = queue.poll();
                Node x = nodes[d.node()];
                if (x.election == null || x.incarnation != d.incarnation()) {
                    continue;
                }
                dispatch(x, withNow(d.event(), now));
            }
        }

        static ElectionEvent withNow(ElectionEvent e, long now) {
            if (e instanceof ElectionEvent.PeerStatusReceived p) {
                return new ElectionEvent.PeerStatusReceived(p.status(), now);
            } else if (e instanceof ElectionEvent.ProbeSucceeded p) {
                return new ElectionEvent.ProbeSucceeded(p.snapshot(), now);
            } else if (e instanceof ElectionEvent.ProbeFailed p) {
                return new ElectionEvent.ProbeFailed(p.reason(), now);
            } else if (e instanceof ElectionEvent.PromotionFinished p) {
                return new ElectionEvent.PromotionFinished(p.epoch(), p.ok(), p.detail(), now);
            } else if (e instanceof ElectionEvent.Tick) {
                return new ElectionEvent.Tick(now);
            } else if (e instanceof ElectionEvent.PeersDiscovered p) {
                return new ElectionEvent.PeersDiscovered(p.peers(), now);
            } else if (e instanceof ElectionEvent.HandoverCaughtUp h) {
                return new ElectionEvent.HandoverCaughtUp(h.ok(), h.offset(), h.detail(), now);
            } else if (e instanceof ElectionEvent.LeaseObserved o) {
                return new ElectionEvent.LeaseObserved(o.lease(), now);
            } else if (e instanceof ElectionEvent.LeaseWritten w) {
                return new ElectionEvent.LeaseWritten(w.kind(), w.ok(), w.stored(), w.sentAt(), w.detail(), now);
            }
            return e;
        }

        void dispatch(Node x, ElectionEvent e) {
            List<Effect> effects = x.election.handle(e);
            for (Effect f : effects) {
                execute(x, f);
            }
            long lease = x.election.leaseExpiresAt();
            if (lease != Long.MAX_VALUE && lease != x.leaseCheckAt) {
                x.leaseCheckAt = lease; // as ElectionLoop does: a check when the lease runs out
                enqueue(x, Math.max(now + 1, lease + 1), new ElectionEvent.Tick(0));
            }
            checkNode(x);
        }

        void execute(Node x, Effect f) {
            if (f instanceof Effect.Broadcast b) {
                for (Node y : nodes) {
                    if (y == x || cut[x.id][y.id] || (loss > 0 && rnd.nextDouble() < loss)) {
                        continue;
                    }
                    long delay = hostile && !majority ? 1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 600 : 60) : 1 + rnd.nextInt(40);
                    enqueue(y, now + delay, new ElectionEvent.PeerStatusReceived(b.status(), 0));
                }
            } else if (f instanceof Effect.Promote p) {
                checkElectionWinner(x, p.minOffset());
                if (x.redisUp && x.runId.equals(p.runId()) && x.offset >= p.minOffset()) {
                    becomeMaster(x);
                    x.fenced = false; // RedisController.promote lifts the fence before REPLICAOF NO ONE
                    x.promotedRunId = x.runId;
                    x.linkUp = false;
                    enqueueRedis(x, now + 2 + rnd.nextInt(30), new ElectionEvent.PromotionFinished(p.epoch(), true, "", 0));
                } else {
                    enqueueRedis(x, now + 100, new ElectionEvent.PromotionFinished(p.epoch(), false, "refused", 0));
                }
            } else if (f instanceof Effect.Follow fo) {
                if (x.redisUp) {
                    int m = indexOfRedis(fo.master());
                    x.fenced = true; // RedisController.follow fences first
                    x.historiesAtFollow = histories;
                    if (x.role != RedisRole.REPLICA || x.master != m) {
                        x.role = RedisRole.REPLICA;
                        x.master = m;
                        x.linkUp = false;
                        x.syncDoneAt = -1;
                        x.nextConnect = now; // REPLICAOF connects at once
                    }
                }
            } else if (f instanceof Effect.Probe) {
                if (x.redisUp) {
                    enqueueRedis(x, now + 1 + rnd.nextInt(5), new ElectionEvent.ProbeSucceeded(x.snapshot(), 0));
                } else {
                    enqueueRedis(x, now + 100, new ElectionEvent.ProbeFailed("connection refused", 0));
                }
            } else if (f instanceof Effect.Detach) {
                if (x.redisUp) {
                    x.fenced = true; // RedisController.detach fences first
                    becomeMaster(x);
                    x.linkUp = false;
                    x.syncDoneAt = -1;
                }
            } else if (f instanceof Effect.Record r) {
                log(x.id + " " + r.kind() + ": " + r.message());
            } else if (f instanceof Effect.PrepareHandover h) {
                if (x.redisUp) {
                    x.paused = true;
                    x.pausedUntil = h.deadlineMillis() + 1000;
                    x.handoverSuccessor = indexOfRedis(h.successorRedis());
                    x.handoverRunId = h.runId();
                    x.handoverDeadline = h.deadlineMillis();
                } else {
                    enqueueRedis(x, now + 100, new ElectionEvent.HandoverCaughtUp(false, 0, "redis down", 0));
                }
            } else if (f instanceof Effect.ResumeWrites) {
                x.paused = false;
            } else if (f instanceof Effect.WriteLease w) {
                x.leaseWrites.add(w);
                pumpLease(x);
            } else if (f instanceof Effect.FenceWrites fw) {
                if (x.redisUp) {
                    x.fenced = fw.minReplicas() > 0;
                }
                if (fw.minReplicas() > 0 && lease) {
                    leaseWrites[3]++;
                }
            } else if (f instanceof Effect.FenceOrphans o) {
                for (Endpoint e : o.redis()) {
                    Node y = nodes[indexOfRedis(e)];
                    if (y.redisUp && y.role == RedisRole.MASTER && !cut[x.id][y.id] && !cut[y.id][x.id]) {
                        y.fenced = true;
                    }
                }
            } else if (f instanceof Effect.HandoverDone d && !d.ok()) {
                handoversAbandoned++;
            } else if (f instanceof Effect.HandoverDone d && d.ok()) {
                handoversDone++;
                // invariant 5: the successor was promoted with everything the old master had when paused
                Node s = nodes[indexOfPeer(d.successor())];
                if (s.offset < x.offset && !hostile) {
                    violation("handover from " + x.id + " (offset " + x.offset + ") to " + s.id + " (offset "
                            + s.offset + ") lost writes");
                }
                if (majority && s.election != null && s.election.state() == NodeState.LEADING
                        && s.election.epoch() == d.epoch() && s.role == RedisRole.MASTER) {
                    // (if it no longer leads that epoch, its redis may hold a later leader's data: checked there)
                    checkAcknowledged(s, d.epoch(), "node " + s.id + ", successor of " + x.id + " in a handover to epoch "
                            + d.epoch() + ",");
                }
            }
        }

        int indexOfPeer(Endpoint e) {
            for (Node y : nodes) {
                if (y.peer.equals(e)) {
                    return y.id;
                }
            }
            throw new AssertionError("unknown peer " + e);
        }

        int indexOfRedis(Endpoint e) {
            for (Node y : nodes) {
                if (y.redisEp.equals(e)) {
                    return y.id;
                }
            }
            throw new AssertionError("follow of unknown redis " + e);
        }

        // ---- --election lease: the API server and each agent's lease thread ----

        boolean apiCut(Node x) {
            return now < x.apiCutUntil;
        }

        boolean apiDown() {
            return now < apiDownUntil;
        }

        /**
         * One way of an API request: a few ms; in hostile schedules, until the faults stop, now and then up to a
         * second (two such in a row can cost a leader its Lease: the hive must converge once they stop).
         */
        long apiLatency() {
            return hostile && now < FAULT_PHASE && rnd.nextInt(25) == 0 ? 1 + rnd.nextInt(1000) : 1 + rnd.nextInt(5);
        }

        /** Runs the API requests' steps that are due, then lets every idle lease thread start its next request. */
        void leaseThreads() {
            while (!actions.isEmpty() && actions.peek().at() <= now) {
                actions.poll().step().run();
            }
            if (lease) {
                for (Node x : nodes) {
                    pumpLease(x);
                }
            }
        }

        void at(long when, Runnable step) {
            actions.add(new Action(when, seq++, step));
        }

        /**
         * As ElectionLoop's lease thread: one request at a time; a queued write goes before the next read, which
         * comes a heartbeat after the last one ended (scheduleWithFixedDelay).
         */
        void pumpLease(Node x) {
            if (!lease || x.election == null || x.leaseBusy) {
                return;
            }
            Effect.WriteLease w = x.leaseWrites.poll();
            if (w != null) {
                startWrite(x, w);
            } else if (now >= x.nextLeaseRead) {
                startRead(x);
            }
        }

        void startRead(Node x) {
            x.leaseBusy = true;
            request(x, () -> new Answer(true, stored), a -> {
                x.leaseBusy = false;
                x.nextLeaseRead = now + HB;
                if (VERBOSE) {
                    log(x.id + " lease thread: read " + (a == null ? "failed" : String.valueOf(a.lease())));
                }
                if (a != null) { // a failed read is only logged by the shell
                    enqueue(x, now, new ElectionEvent.LeaseObserved(a.lease(), 0));
                }
                pumpLease(x);
            });
        }

        /** As ElectionLoop.writeLease: on a 409 the Lease is read back, and that read may fail too. */
        void startWrite(Node x, Effect.WriteLease w) {
            x.leaseBusy = true;
            long sentAt = now;
            request(x, () -> store(x, w), a -> {
                if (a == null) {
                    leaseWrites[2]++;
                    written(x, w, false, null, sentAt, "timed out");
                } else if (a.ok()) {
                    leaseWrites[0]++;
                    written(x, w, true, a.lease(), sentAt, "stored");
                } else {
                    leaseWrites[1]++;
                    request(x, () -> new Answer(true, stored),
                            r -> written(x, w, false, r == null ? null : r.lease(), sentAt, "changed meanwhile"));
                }
            });
        }

        void written(Node x, Effect.WriteLease w, boolean ok, LeaseRecord lease, long sentAt, String detail) {
            x.leaseBusy = false;
            if (VERBOSE) {
                log(x.id + " lease thread: " + w.kind() + " sent at " + sentAt + ": " + detail + ", " + lease);
            }
            enqueue(x, now, new ElectionEvent.LeaseWritten(w.kind(), ok, lease, sentAt, detail, 0));
            pumpLease(x);
        }

        /** The API server's compare-and-swap: create when the version is null, replace when it matches, else 409. */
        Answer store(Node from, Effect.WriteLease w) {
            LeaseRecord next = w.next();
            String current = stored == null ? null : stored.resourceVersion();
            boolean matches = next.resourceVersion() == null ? stored == null : next.resourceVersion().equals(current);
            if (!matches) {
                log("api: " + w.kind() + " of " + from.id + " at version " + next.resourceVersion() + " refused (409, at "
                        + current + ")");
                return new Answer(false, null);
            }
            stored = new LeaseRecord(next.holder(), next.epoch(), next.durationSeconds(), next.renewTimeMillis(),
                    next.transitions(), Long.toString(++versions));
            if (w.kind() != Effect.LeaseWrite.RENEW || VERBOSE) {
                log("api: " + w.kind() + " of " + from.id + " stored: holder '" + stored.holder() + "' epoch "
                        + stored.epoch() + " version " + versions);
            }
            return new Answer(true, stored);
        }

        /**
         * One HTTP request of {@code x}'s lease client: {@code atServer} runs when (and if) it reaches the API
         * server, whether or not the agent still lives; {@code answer} gets its result back on the lease thread,
         * or null when the client gave up after {@link #API_TIMEOUT} (the request may have been applied all the
         * same) or the connection was refused. Nothing reaches a thread of an agent that died meanwhile.
         */
        void request(Node x, Supplier<Answer> atServer, Consumer<Answer> answer) {
            int incarnation = x.incarnation;
            boolean[] done = new boolean[1];
            Consumer<Answer> once = a -> {
                if (!done[0] && x.incarnation == incarnation && x.election != null) {
                    done[0] = true;
                    answer.accept(a);
                }
            };
            if (!apiCut(x) && apiDown() && apiRefuses) {
                at(now + 1 + rnd.nextInt(5), () -> once.accept(null));
                return;
            }
            at(now + API_TIMEOUT, () -> once.accept(null));
            if (apiCut(x) || apiDown()) {
                return; // the packets go nowhere: the client times out
            }
            at(now + apiLatency(), () -> {
                if (apiCut(x) || apiDown()) {
                    return;
                }
                Answer a = atServer.get();
                at(now + apiLatency(), () -> {
                    if (!apiCut(x)) {
                        once.accept(a);
                    }
                });
            });
        }

        // ---- invariants ----

        void checkNode(Node x) {
            Election el = x.election;
            if (el.epoch() < x.lastEpoch) {
                violation("node " + x.id + " went back from epoch " + x.lastEpoch + " to " + el.epoch());
            }
            x.lastEpoch = el.epoch();
            if (el.state() == NodeState.LEADING && x.lastState != NodeState.LEADING) {
                x.ledSince = now;
                if (majority) {
                    // its promotion was just confirmed; its redis took no writes since (it did not lead)
                    checkAcknowledged(x, el.epoch(), "node " + x.id + ", leader of epoch " + el.epoch() + ",");
                }
                Integer other = leaderOfEpoch.putIfAbsent(el.epoch(), x.id);
                if (!hostile && other != null && other != x.id) {
                    violation("epoch " + el.epoch() + " led by node " + other + " and node " + x.id);
                }
                if (x.offset == 0 && !hostile) {
                    for (Node y : nodes) {
                        if (y != x && y.redisUp && y.offset > 0 && y.election != null
                                && now - y.agentStartedAt > TIMEOUT && !y.election.tainted() && !cut[x.id][y.id]
                                && !cut[y.id][x.id] && y.election.state() != NodeState.NOT_READY) {
                            violation("node " + x.id + " leads with an empty redis while node " + y.id
                                    + " has offset " + y.offset);
                        }
                    }
                }
            }
            x.lastState = el.state();
        }

        /** Invariant 3, at the moment a node decides it won: no proposal it could hear had more data. */
        void checkElectionWinner(Node w, long promotedWith) {
            if (hostile || w.election.tainted()) {
                return;
            }
            // a handover's successor promotes with the old master's final offset; its status may still show the
            // offset of an older proposal (seen with --election lease, where the old master may give up before
            // the successor's claim of the Lease is stored and the others propose meanwhile)
            long mine = Math.max(w.election.status(now).offset(), promotedWith);
            long myEpoch = w.election.status(now).dataEpoch();
            for (Node y : nodes) {
                if (y == w || y.election == null || y.election.tainted()) {
                    continue;
                }
                NodeStatus s = y.election.status(now);
                // the most recent data wins: the latest data epoch first (offsets of diverged histories are not
                // comparable), then the highest offset
                if (s.state() == NodeState.PROPOSING && s.offset() > 0 && (s.dataEpoch() > myEpoch
                        || (s.dataEpoch() == myEpoch && s.offset() > mine))) {
                    violation("node " + w.id + " won with offset " + mine + " (data epoch " + myEpoch + ") over node "
                            + y.id + "'s proposal of " + s.offset() + " (data epoch " + s.dataEpoch() + ")");
                }
            }
        }

        void checkInstant() {
            if (majority) {
                checkMinorityNeverLeads();
            }
            if (lease) {
                checkOneLeaseBackedWriter();
            }
            int leading = 0;
            for (Node x : nodes) {
                // a leader handing over holds its writes (and its redis is paused): it no longer counts
                if (x.election != null && x.election.state() == NodeState.LEADING
                        && x.election.status(now).handoverTo() == null) {
                    leading++;
                }
            }
            if (leading > 1) {
                if (lease) {
                    twoLeadingStatesMs += STEP;
                } else {
                    twoLeadersMs += STEP;
                }
                if (!hostile) {
                    violation(leading + " nodes lead at once");
                }
            }
        }

        /**
         * --election lease: never two nodes that each lead, with a redis that takes writes (master, not paused),
         * and a Lease they believe still theirs. Whatever the peers believe, the Lease must keep them apart.
         */
        void checkOneLeaseBackedWriter() {
            List<String> writers = new ArrayList<>();
            boolean unprobed = false;
            for (Node x : nodes) {
                if (x.election != null && x.election.state() == NodeState.LEADING && x.redisUp
                        && x.role == RedisRole.MASTER && !x.paused && x.election.leaseExpiresAt() > now) {
                    long until = x.election.leaseExpiresAt();
                    if (x.election.redis() != null && !x.election.redis().runId().equals(x.runId)) {
                        // A redis restarted (empty, unpaused) since its agent last probed it: no agent can know
                        // before its next probe, which makes it step down. It matters only for a leader that
                        // handed the Lease over and relied on its paused redis: counted apart, not excused silently.
                        unprobed = true;
                        continue;
                    }
                    writers.add(x.id + " (epoch " + x.election.epoch() + ", Lease valid until "
                            + (until == Long.MAX_VALUE ? "forever" : Long.toString(until)) + ")");
                }
            }
            if (unprobed && !writers.isEmpty()) {
                restartedUnprobedMs += STEP;
                log("a leader's redis restarted, not yet probed, writable while " + writers + " leads");
            }
            if (writers.size() > 1) {
                twoLeadersMs += STEP;
                violation("two writable leaders that each believe they hold the Lease: " + writers + "; the API server"
                        + " holds " + stored);
            }
        }

        void checkMinorityNeverLeads() {
            for (Node x : nodes) {
                int linked = 1;
                for (Node y : nodes) {
                    // a one-way cut or an agent that died less than a peer timeout ago still looks alive
                    boolean running = y.election != null || now - y.agentDiedAt < TIMEOUT;
                    if (y != x && running && (!cut[x.id][y.id] || !cut[y.id][x.id])) {
                        linked++;
                    }
                }
                if (linked >= n / 2 + 1) {
                    x.majorityAt = now;
                }
                if (x.election != null && x.election.state() == NodeState.LEADING
                        && x.election.status(now).handoverTo() == null && now - Math.max(x.majorityAt, x.ledSince) > TIMEOUT + HB) {
                    violation("node " + x.id + " leads (since " + x.ledSince + ") while cut off from a majority since "
                            + x.majorityAt);
                }
            }
        }

        void checkConverged() {
            Node leader = null;
            for (Node x : nodes) {
                if (x.election.state() == NodeState.LEADING) {
                    if (leader != null) {
                        violation("after healing, nodes " + leader.id + " and " + x.id + " both lead");
                    }
                    leader = x;
                }
            }
            if (leader == null) {
                violation("after healing, no leader");
                return;
            }
            if (leader.role != RedisRole.MASTER) {
                violation("leader " + leader.id + "'s redis is " + leader.role);
            }
            if (majority) {
                // acknowledgements of a deposed leader that came after its successor's promotion, too
                checkAcknowledged(leader, Long.MAX_VALUE, "after healing, leader " + leader.id);
            }
            if (lease && (stored == null || !stored.holder().equals(leader.election.settings().self().toString()))) {
                violation("after healing, leader " + leader.id + " does not hold the Lease: the API server holds "
                        + stored);
            }
            if (lease && leader.election.leaseExpiresAt() <= now) {
                violation("after healing, leader " + leader.id + " leads on a Lease it believes expired at "
                        + leader.election.leaseExpiresAt());
            }
            for (Node x : nodes) {
                if (x == leader) {
                    continue;
                }
                Election el = x.election;
                if (el.state() != NodeState.FOLLOWING || !leader.peer.equals(el.leader())
                        || el.epoch() != leader.election.epoch()) {
                    violation("after healing, node " + x.id + " is " + el.state() + " of " + el.leader()
                            + " epoch " + el.epoch() + ", leader is " + leader.id + " epoch " + leader.election.epoch());
                }
                if (x.role != RedisRole.REPLICA || x.master != leader.id || !x.linkUp) {
                    violation("after healing, redis " + x.id + " is not a linked replica of " + leader.id);
                }
            }
        }

        void log(String line) {
            if (VERBOSE) {
                System.out.println(seed + " " + now + " " + line);
            }
            trace.addLast(now + " " + line);
            if (trace.size() > (lease ? 150 : 60)) {
                trace.removeFirst();
            }
        }

        void violation(String what) {
            fail("seed " + seed + " (" + (hostile ? "hostile" : "reliable") + (majority ? " majority" : "")
                    + (lease ? " lease" : "") + ", " + n + " nodes) at t=" + now + " ms: "
                    + what + "\nreplay: -Dskep.sim.seed=" + seed + " -Dskep.sim.hostile=" + hostile
                    + (majority ? " -Dskep.sim.majority=true" : "") + (lease ? " -Dskep.sim.lease=true" : "")
                    + "\nlast events:\n  " + String.join("\n  ", new ArrayList<>(trace)));
        }
    }
}
