package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.fail;

/**
 * One schedule of {@link ElectionSimulationTest}: 3 to 5 nodes, each running the real {@link Election}, driven
 * through {@link #FAULT_PHASE} of random faults and then {@link #HEAL_PHASE} without any, in steps of virtual time.
 * The models: {@link SimNetwork} (peer messages, cuts, loss), {@link SimRedis} (replication, crashes),
 * {@link SimApiServer} ({@code --election lease}); the checks: {@link SimInvariants} and, for
 * {@code --quorum majority}, {@link SimAcks}. Everything random comes from one {@link Random} seeded by
 * {@link #seed}, in a fixed order: a seed names one schedule.
 */
final class Sim {
    static final long HB = 250;
    static final long TIMEOUT = 750;
    static final long STEP = 5;
    static final long FAULT_PHASE = 30_000;
    static final long HEAL_PHASE = 12_000;
    /** --lease-duration-s: short, so that schedules exercise expiry (hold: 1.5 s after a renewal was sent). */
    static final int LEASE_S = 2;
    /** The lease client's bound on each request, as SkepNode gives it: two heartbeats. */
    static final long API_TIMEOUT = 2 * HB;
    /** Replaying one seed: every event (and every renewal) printed as it happens. */
    static final boolean VERBOSE = Boolean.getBoolean("skep.sim.verbose");

    final long seed;
    final boolean hostile;
    /** --quorum majority, with LAN-like delays: two writable leaders are never excused. */
    final boolean majority;
    /** --election lease: the API server in {@link #api}, each agent's lease thread in its {@link SimNode}. */
    final boolean lease;
    final Random rnd;
    final int n;
    final SimNetwork network;
    final SimRedis redis;
    final SimApiServer api;
    final SimAcks acks;
    final SimInvariants invariants;
    final SimNode[] nodes;
    private final Deque<String> trace = new ArrayDeque<>();
    long now;
    /** Orders deliveries and API steps due at the same time. */
    long seq;
    private int runIds;
    int handoversDone;
    int handoversAbandoned;
    /** A node to isolate (peers and API server) at {@code isolateAt}; -1: none. */
    private int isolateNode = -1;
    private long isolateAt;
    /**
     * Whether redis starts fenced and a replica of nowhere ({@code LocalHive.FENCED_AT_BIRTH}, as {@code skep up}
     * and the chart start it) or as a writable master (a redis a user started on their own): half the schedules
     * each.
     */
    final boolean fencedAtBirth;

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
        this.network = new SimNetwork(this, n);
        this.redis = new SimRedis(this);
        this.api = new SimApiServer(this);
        this.acks = new SimAcks(this);
        this.invariants = new SimInvariants(this);
        this.nodes = new SimNode[n];
        for (int i = 0; i < n; i++) {
            nodes[i] = new SimNode(this, i);
        }
    }

    String newRunId() {
        return "run" + (++runIds);
    }

    void run() {
        long nextFault = 500 + rnd.nextInt(1500);
        for (now = 0; now < FAULT_PHASE + HEAL_PHASE; now += STEP) {
            if (isolateNode >= 0 && now >= isolateAt) {
                if (now < FAULT_PHASE) {
                    network.isolate(nodes[isolateNode], 300 + rnd.nextInt(3700), true);
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
            redis.replicate();
            if (majority) {
                acks.acknowledge();
            }
            redis.handovers();
            ticks();
            api.leaseThreads();
            network.deliver();
            invariants.checkInstant();
        }
        invariants.checkConverged();
    }

    // ---- faults ----

    private void injectFault() {
        if (rnd.nextInt(6) == 0) {
            SimNode l = leaderOrAny();
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
            api.injectFault();
            return;
        }
        SimNode x = nodes[rnd.nextInt(n)];
        int kinds = hostile ? 7 : 4;
        switch (rnd.nextInt(kinds)) {
            case 0 -> redis.crash(x, 200 + rnd.nextInt(2300));
            case 1 -> crashAgent(x, 200 + rnd.nextInt(2800));
            case 2 -> { // a pod restart: both go, redis comes back empty
                long back = 300 + rnd.nextInt(2500);
                redis.crash(x, back);
                crashAgent(x, back);
            }
            case 3 -> redis.crash(leaderOrAny(), 200 + rnd.nextInt(1500));
            case 4 -> network.isolate(x, 300 + rnd.nextInt(3700));
            case 5 -> network.injectLoss();
            default -> network.injectOneWayCut();
        }
    }

    SimNode leaderOrAny() {
        for (SimNode x : nodes) {
            if (x.election != null && x.election.state() == NodeState.LEADING) {
                return x;
            }
        }
        return nodes[rnd.nextInt(n)];
    }

    private void crashAgent(SimNode x, long downFor) {
        if (x.election == null) {
            return;
        }
        x.election = null;
        network.closed(x);
        x.agentDiedAt = now;
        x.agentBackAt = now + downFor;
        log("kill -9 agent " + x.id + " for " + downFor + " ms");
    }

    private void heal() {
        network.heal();
        api.heal();
        for (SimNode x : nodes) {
            if (x.redisBackAt > now) {
                x.redisBackAt = now;
            }
            if (x.agentBackAt > now) {
                x.agentBackAt = now;
            }
        }
        log("heal");
    }

    private void restarts() {
        network.expireLoss();
        api.expireOutage();
        for (SimNode x : nodes) {
            api.reconnect(x);
            network.rejoin(x);
            redis.restart(x);
            if (x.election == null && now >= x.agentBackAt) {
                x.startAgent();
                x.nextTick = now;
                log("agent " + x.id + " back");
            }
        }
    }

    // ---- driving the elections ----

    private void ticks() {
        for (SimNode x : nodes) {
            if (x.election == null || now < x.nextTick) {
                continue;
            }
            x.nextTick = now + HB;
            dispatch(x, new ElectionEvent.Tick(now));
            redis.probe(x, 10);
        }
    }

    void dispatch(SimNode x, ElectionEvent e) {
        List<Effect> effects = x.election.handle(e);
        for (Effect f : effects) {
            execute(x, f);
        }
        long leaseAt = x.election.guard().leaseExpiresAt();
        if (leaseAt != Long.MAX_VALUE && leaseAt != x.leaseCheckAt) {
            x.leaseCheckAt = leaseAt; // as ElectionLoop does: a check when the lease runs out
            network.enqueue(x, Math.max(now + 1, leaseAt + 1), new ElectionEvent.Tick(0));
        }
        invariants.checkNode(x);
    }

    /** Carries out one effect of {@code x}'s election, as ElectionLoop does. */
    private void execute(SimNode x, Effect f) {
        if (f instanceof Effect.Broadcast b) {
            network.broadcast(x, b.status());
        } else if (f instanceof Effect.Promote p) {
            invariants.checkElectionWinner(x, p.minOffset());
            redis.promote(x, p);
        } else if (f instanceof Effect.Follow fo) {
            redis.follow(x, fo);
        } else if (f instanceof Effect.Probe) {
            redis.probe(x, 5);
        } else if (f instanceof Effect.Detach) {
            redis.detach(x);
        } else if (f instanceof Effect.Record r) {
            log(x.id + " " + r.kind() + ": " + r.message());
        } else if (f instanceof Effect.PrepareHandover h) {
            redis.prepareHandover(x, h);
        } else if (f instanceof Effect.ResumeWrites) {
            x.paused = false;
        } else if (f instanceof Effect.WriteLease w) {
            api.write(x, w);
        } else if (f instanceof Effect.FenceWrites fw) {
            redis.fence(x, fw);
            if (fw.minReplicas() > 0 && lease) {
                api.leaseWrites[3]++;
            }
        } else if (f instanceof Effect.FenceOrphans o) {
            redis.fenceOrphans(x, o);
        } else if (f instanceof Effect.HandoverDone d && !d.ok()) {
            handoversAbandoned++;
        } else if (f instanceof Effect.HandoverDone d && d.ok()) {
            handoversDone++;
            // invariant 5: the successor was promoted with everything the old master had when paused
            SimNode s = nodes[indexOfPeer(d.successor())];
            if (s.offset < x.offset && !hostile) {
                violation("handover from " + x.id + " (offset " + x.offset + ") to " + s.id + " (offset "
                        + s.offset + ") lost writes");
            }
            if (majority && s.election != null && s.election.state() == NodeState.LEADING
                    && s.election.epoch() == d.epoch() && s.role == RedisRole.MASTER) {
                // (if it no longer leads that epoch, its redis may hold a later leader's data: checked there)
                acks.checkAcknowledged(s, d.epoch(), "node " + s.id + ", successor of " + x.id + " in a handover to epoch "
                        + d.epoch() + ",");
            }
        }
    }

    private int indexOfPeer(Endpoint e) {
        for (SimNode y : nodes) {
            if (y.peer.equals(e)) {
                return y.id;
            }
        }
        throw new AssertionError("unknown peer " + e);
    }

    int indexOfRedis(Endpoint e) {
        for (SimNode y : nodes) {
            if (y.redisEp.equals(e)) {
                return y.id;
            }
        }
        throw new AssertionError("follow of unknown redis " + e);
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
