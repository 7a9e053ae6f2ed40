package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.status.NodeState;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a {@link Sim} checks, after every event and every step, and once the faults have stopped. Epochs never go
 * backwards at a node; at most one node ever leads a given epoch and at most one leads at a time (reliable
 * schedules: no partitions or loss can excuse it); a node never becomes leader with an empty redis while a
 * reachable ready peer, up for longer than a peer timeout and not itself restarted (tainted), has data (invariant
 * 2); the winner of an election has the most recent data among the proposals (invariant 3, reliable schedules).
 * {@code --quorum majority}: a leader cut off from a majority stops leading within a peer timeout and a heartbeat
 * (and {@link SimAcks}). {@code --election lease}: never two nodes that lead with a writable redis and a Lease they
 * believe valid. After healing: exactly one leader, followed by every node (and, with a Lease, holding it).
 */
final class SimInvariants {
    private final Sim sim;
    private final Map<Long, Integer> leaderOfEpoch = new HashMap<>();
    long twoLeadersMs;
    /** Time with two nodes in state LEADING at once, lease-backed and writable or not. */
    long twoLeadingStatesMs;
    /**
     * Time during which a node leads on a redis that restarted since its agent last probed it (empty and
     * unpaused: a handover's pause is lost) while another node is a lease-backed writable leader.
     */
    long restartedUnprobedMs;

    SimInvariants(Sim sim) {
        this.sim = sim;
    }

    /** After each event {@code x}'s agent handled. */
    void checkNode(SimNode x) {
        Election el = x.election;
        if (el.epoch() < x.lastEpoch) {
            sim.violation("node " + x.id + " went back from epoch " + x.lastEpoch + " to " + el.epoch());
        }
        x.lastEpoch = el.epoch();
        if (el.state() == NodeState.LEADING && x.lastState != NodeState.LEADING) {
            x.ledSince = sim.now;
            if (sim.majority) {
                // its promotion was just confirmed; its redis took no writes since (it did not lead)
                sim.acks.checkAcknowledged(x, el.epoch(), "node " + x.id + ", leader of epoch " + el.epoch() + ",");
            }
            Integer other = leaderOfEpoch.putIfAbsent(el.epoch(), x.id);
            if (!sim.hostile && other != null && other != x.id) {
                sim.violation("epoch " + el.epoch() + " led by node " + other + " and node " + x.id);
            }
            if (x.offset == 0 && !sim.hostile) {
                for (SimNode y : sim.nodes) {
                    if (y != x && y.redisUp && y.offset > 0 && y.election != null
                            && sim.now - y.agentStartedAt > Sim.TIMEOUT && !y.election.tainted()
                            && sim.network.linked(x, y) && y.election.state() != NodeState.NOT_READY) {
                        sim.violation("node " + x.id + " leads with an empty redis while node " + y.id
                                + " has offset " + y.offset);
                    }
                }
            }
        }
        x.lastState = el.state();
    }

    /** Invariant 3, at the moment a node decides it won: no proposal it could hear had more data. */
    void checkElectionWinner(SimNode w, long promotedWith) {
        if (sim.hostile || w.election.tainted()) {
            return;
        }
        // a handover's successor promotes with the old master's final offset; its status may still show the
        // offset of an older proposal (seen with --election lease, where the old master may give up before
        // the successor's claim of the Lease is stored and the others propose meanwhile)
        long mine = Math.max(w.election.status(sim.now).offset(), promotedWith);
        long myEpoch = w.election.status(sim.now).dataEpoch();
        for (SimNode y : sim.nodes) {
            if (y == w || y.election == null || y.election.tainted()) {
                continue;
            }
            NodeStatus s = y.election.status(sim.now);
            // the most recent data wins: the latest data epoch first (offsets of diverged histories are not
            // comparable), then the highest offset
            if (s.state() == NodeState.PROPOSING && s.offset() > 0 && (s.dataEpoch() > myEpoch
                    || (s.dataEpoch() == myEpoch && s.offset() > mine))) {
                sim.violation("node " + w.id + " won with offset " + mine + " (data epoch " + myEpoch + ") over node "
                        + y.id + "'s proposal of " + s.offset() + " (data epoch " + s.dataEpoch() + ")");
            }
        }
    }

    /** After every step of virtual time. */
    void checkInstant() {
        if (sim.majority) {
            checkMinorityNeverLeads();
        }
        if (sim.lease) {
            checkOneLeaseBackedWriter();
        }
        int leading = 0;
        for (SimNode x : sim.nodes) {
            // a leader handing over holds its writes (and its redis is paused): it no longer counts
            if (x.election != null && x.election.state() == NodeState.LEADING
                    && x.election.status(sim.now).handoverTo() == null) {
                leading++;
            }
        }
        if (leading > 1) {
            if (sim.lease) {
                twoLeadingStatesMs += Sim.STEP;
            } else {
                twoLeadersMs += Sim.STEP;
            }
            if (!sim.hostile) {
                sim.violation(leading + " nodes lead at once");
            }
        }
    }

    /**
     * --election lease: never two nodes that each lead, with a redis that takes writes (master, not paused),
     * and a Lease they believe still theirs. Whatever the peers believe, the Lease must keep them apart.
     */
    private void checkOneLeaseBackedWriter() {
        List<String> writers = new ArrayList<>();
        boolean unprobed = false;
        for (SimNode x : sim.nodes) {
            if (x.election != null && x.election.state() == NodeState.LEADING && x.redisUp
                    && x.role == RedisRole.MASTER && !x.paused && x.election.guard().leaseExpiresAt() > sim.now) {
                long until = x.election.guard().leaseExpiresAt();
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
            restartedUnprobedMs += Sim.STEP;
            sim.log("a leader's redis restarted, not yet probed, writable while " + writers + " leads");
        }
        if (writers.size() > 1) {
            twoLeadersMs += Sim.STEP;
            sim.violation("two writable leaders that each believe they hold the Lease: " + writers + "; the API server"
                    + " holds " + sim.api.stored);
        }
    }

    private void checkMinorityNeverLeads() {
        for (SimNode x : sim.nodes) {
            int linked = 1;
            for (SimNode y : sim.nodes) {
                // a one-way cut or an agent that died less than a peer timeout ago still looks alive
                boolean running = y.election != null || sim.now - y.agentDiedAt < Sim.TIMEOUT;
                if (y != x && running && (!sim.network.cut[x.id][y.id] || !sim.network.cut[y.id][x.id])) {
                    linked++;
                }
            }
            if (linked >= sim.n / 2 + 1) {
                x.majorityAt = sim.now;
            }
            if (x.election != null && x.election.state() == NodeState.LEADING
                    && x.election.status(sim.now).handoverTo() == null
                    && sim.now - Math.max(x.majorityAt, x.ledSince) > Sim.TIMEOUT + Sim.HB) {
                sim.violation("node " + x.id + " leads (since " + x.ledSince + ") while cut off from a majority since "
                        + x.majorityAt);
            }
        }
    }

    /** Once the faults have stopped and the hive had time to heal. */
    void checkConverged() {
        SimNode leader = null;
        for (SimNode x : sim.nodes) {
            if (x.election.state() == NodeState.LEADING) {
                if (leader != null) {
                    sim.violation("after healing, nodes " + leader.id + " and " + x.id + " both lead");
                }
                leader = x;
            }
        }
        if (leader == null) {
            sim.violation("after healing, no leader");
            return;
        }
        if (leader.role != RedisRole.MASTER) {
            sim.violation("leader " + leader.id + "'s redis is " + leader.role);
        }
        if (sim.majority) {
            // acknowledgements of a deposed leader that came after its successor's promotion, too
            sim.acks.checkAcknowledged(leader, Long.MAX_VALUE, "after healing, leader " + leader.id);
        }
        if (sim.lease && (sim.api.stored == null
                || !sim.api.stored.holder().equals(leader.election.settings().self().toString()))) {
            sim.violation("after healing, leader " + leader.id + " does not hold the Lease: the API server holds "
                    + sim.api.stored);
        }
        if (sim.lease && leader.election.guard().leaseExpiresAt() <= sim.now) {
            sim.violation("after healing, leader " + leader.id + " leads on a Lease it believes expired at "
                    + leader.election.guard().leaseExpiresAt());
        }
        for (SimNode x : sim.nodes) {
            if (x == leader) {
                continue;
            }
            Election el = x.election;
            if (el.state() != NodeState.FOLLOWING || !leader.peer.equals(el.leader())
                    || el.epoch() != leader.election.epoch()) {
                sim.violation("after healing, node " + x.id + " is " + el.state() + " of " + el.leader()
                        + " epoch " + el.epoch() + ", leader is " + leader.id + " epoch " + leader.election.epoch());
            }
            if (x.role != RedisRole.REPLICA || x.master != leader.id || !x.linkUp) {
                sim.violation("after healing, redis " + x.id + " is not a linked replica of " + leader.id);
            }
        }
    }
}
