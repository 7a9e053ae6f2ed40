package dev.skep.election;

import java.util.Arrays;
import java.util.PriorityQueue;

/**
 * The network of a {@link Sim} and what reaches each agent: peer statuses sent over links that can be cut (both
 * ways, or one way), lossy or slow, and the reports of each agent's redis thread, delivered in virtual time. A
 * delivery to an agent that died (or restarted) since it was sent is dropped.
 */
final class SimNetwork {
    private final Sim sim;
    /** {@code cut[a][b]}: what {@code a} sends does not reach {@code b}. */
    final boolean[][] cut;
    double loss;
    long lossUntil;
    private final PriorityQueue<Delivery> queue = new PriorityQueue<>();

    SimNetwork(Sim sim, int n) {
        this.sim = sim;
        this.cut = new boolean[n][n];
    }

    record Delivery(long at, long seq, int node, int incarnation, ElectionEvent event)
            implements Comparable<Delivery> {
        @Override
        public int compareTo(Delivery o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** Whether {@code a} and {@code b} can talk both ways. */
    boolean linked(SimNode a, SimNode b) {
        return !cut[a.id][b.id] && !cut[b.id][a.id];
    }

    /** {@code x}'s status to every node it reaches; lossy links drop some, and each takes its own time. */
    void broadcast(SimNode x, NodeStatus status) {
        for (SimNode y : sim.nodes) {
            if (y == x || cut[x.id][y.id] || (loss > 0 && sim.rnd.nextDouble() < loss)) {
                continue;
            }
            enqueue(y, sim.now + delay(), new ElectionEvent.PeerStatusReceived(status, 0));
        }
    }

    /**
     * {@code x}'s agent died: the kernel closes its connections, and each peer it reaches sees its inbound connection
     * end (after what was sent on it; here, in a delay of its own, so a status sent before may come after: the
     * election then keeps waiting, as for silence).
     */
    void closed(SimNode x) {
        for (SimNode y : sim.nodes) {
            if (y == x || cut[x.id][y.id]) {
                continue;
            }
            enqueue(y, sim.now + delay(), new ElectionEvent.PeerClosed(x.peer, 0));
        }
    }

    /**
     * One message's time on the way: hostile schedules (but majority ones, LAN-like) have a tenth of them take up to
     * 600 ms while faults are injected; none once healed (a run of slow ones made a member look silent for a peer
     * timeout in the last second of a schedule, too late to converge again before its end was checked).
     */
    private long delay() {
        boolean slow = sim.hostile && !sim.majority && sim.now < Sim.FAULT_PHASE;
        return slow ? 1 + sim.rnd.nextInt(sim.rnd.nextInt(10) == 0 ? 600 : 60)
                : sim.hostile && !sim.majority ? 1 + sim.rnd.nextInt(60) : 1 + sim.rnd.nextInt(40);
    }

    void injectLoss() {
        loss = 0.1 + sim.rnd.nextDouble() * 0.5;
        lossUntil = sim.now + 500 + sim.rnd.nextInt(2500);
        sim.log("loss " + Math.round(loss * 100) + "% until " + lossUntil);
    }

    /** One direction only. */
    void injectOneWayCut() {
        int a = sim.rnd.nextInt(sim.n);
        int b = sim.rnd.nextInt(sim.n);
        if (a != b) {
            cut[a][b] = true;
            sim.log("cut " + a + "->" + b);
        }
    }

    void isolate(SimNode x, long forMs) {
        isolate(x, forMs, sim.lease && sim.rnd.nextBoolean());
    }

    void isolate(SimNode x, long forMs, boolean fromApi) {
        for (int j = 0; j < sim.n; j++) {
            if (j != x.id) {
                cut[x.id][j] = true;
                cut[j][x.id] = true;
            }
        }
        x.isolatedUntil = sim.now + forMs;
        // (lease) half the time the node's whole network is gone, the API server with its peers: the case the
        // Lease is for (a leader that can neither renew nor hear its successor)
        if (fromApi) {
            x.apiCutUntil = Math.max(x.apiCutUntil, sim.now + forMs);
        }
        sim.log("isolate " + x.id + " for " + forMs + " ms" + (fromApi ? ", from the API server too" : ""));
    }

    /** The faults stop: every link is whole again. */
    void heal() {
        for (boolean[] row : cut) {
            Arrays.fill(row, false);
        }
        loss = 0;
        for (SimNode x : sim.nodes) {
            x.isolatedUntil = -1;
        }
    }

    void expireLoss() {
        if (loss > 0 && sim.now >= lossUntil) {
            loss = 0;
        }
    }

    /** An isolated node whose time is up rejoins. */
    void rejoin(SimNode x) {
        if (x.isolatedUntil >= 0 && sim.now >= x.isolatedUntil) {
            for (int j = 0; j < sim.n; j++) {
                cut[x.id][j] = false;
                cut[j][x.id] = false;
            }
            x.isolatedUntil = -1;
            sim.log("rejoin " + x.id);
        }
    }

    /**
     * What the agent's redis thread reports (probes, promotions, handovers): one thread, so in the order it did
     * them, as ElectionLoop delivers them to the control thread.
     */
    void enqueueRedis(SimNode x, long at, ElectionEvent e) {
        x.lastRedisEventAt = Math.max(at, x.lastRedisEventAt);
        enqueue(x, x.lastRedisEventAt, e);
    }

    void enqueue(SimNode x, long at, ElectionEvent e) {
        queue.add(new Delivery(at, sim.seq++, x.id, x.incarnation, e));
    }

    /** Hands every delivery that is due to its agent, if that agent still runs. */
    void deliver() {
        while (!queue.isEmpty() && queue.peek().at() <= sim.now) {
            Delivery d = queue.poll();
            SimNode x = sim.nodes[d.node()];
            if (x.election == null || x.incarnation != d.incarnation()) {
                continue;
            }
            sim.dispatch(x, withNow(d.event(), sim.now));
        }
    }

    static ElectionEvent withNow(ElectionEvent e, long now) {
        if (e instanceof ElectionEvent.PeerStatusReceived p) {
            return new ElectionEvent.PeerStatusReceived(p.status(), now);
        } else if (e instanceof ElectionEvent.ProbeSucceeded p) {
            return new ElectionEvent.ProbeSucceeded(p.snapshot(), now);
        } else if (e instanceof ElectionEvent.PeerClosed p) {
            return new ElectionEvent.PeerClosed(p.node(), now);
        } else if (e instanceof ElectionEvent.ProbeFailed p) {
            return new ElectionEvent.ProbeFailed(p.reason(), p.kind(), now);
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
}
