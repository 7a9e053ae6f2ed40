package dev.skep.election;

import dev.skep.redis.ProbeFailure;
import dev.skep.redis.RedisRole;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

/**
 * The redis servers of a {@link Sim}: crashes (a redis comes back empty, with a new run_id), replication (a
 * replica copies its master's data, offset and {@link History}, while its link is up; a full sync from a restarted
 * master replaces the replica's data), clients' writes to the leader, fencing and the pause of a planned handover,
 * and what the agents' effects do to them ({@code REPLICAOF}, promotion, detach).
 */
final class SimRedis {
    private final Sim sim;
    /** Histories made so far: each new one gets the next id. */
    int histories;

    SimRedis(Sim sim) {
        this.sim = sim;
    }

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

    History newHistory(History parent, long forkOffset) {
        return new History(parent, forkOffset, ++histories);
    }

    /**
     * {@code x}'s redis turns master: the writes it takes from now on are a new history on top of what it
     * holds. A redis that is master already keeps its history ({@code REPLICAOF NO ONE} is a no-op there, and
     * it has been the only writer of that history since it started it).
     */
    void becomeMaster(SimNode x) {
        if (x.role != RedisRole.MASTER) {
            x.history = newHistory(x.history, x.offset);
        }
        x.role = RedisRole.MASTER;
        x.master = -1;
    }

    /** kill -9 of {@code x}'s redis: it comes back empty after {@code downFor}. */
    void crash(SimNode x, long downFor) {
        if (!x.redisUp) {
            return;
        }
        x.redisUp = false;
        x.linkUp = false;
        x.paused = false;
        x.redisBackAt = sim.now + downFor;
        sim.log("kill -9 redis " + x.id + " for " + downFor + " ms");
        if (x.election != null) {
            // the agent's watching connection ends with the process, and the probe it asks for at once is refused
            sim.network.enqueueRedis(x, sim.now + 1 + sim.rnd.nextInt(3), refused());
        }
        if (sim.majority) {
            sim.acks.exclude(x, SimAcks.Excluded.HOLDER_CRASHED);
        }
    }

    /** A crashed redis whose time is up starts again: a new process, empty. */
    void restart(SimNode x) {
        if (!x.redisUp && sim.now >= x.redisBackAt) {
            x.redisUp = true;
            x.runId = sim.newRunId();
            x.born();
            x.master = -1;
            x.offset = 0;
            x.history = newHistory(null, 0); // whatever it held is gone
            x.linkUp = false;
            x.syncedFrom = "";
            sim.log("redis " + x.id + " back, empty");
        }
    }

    void replicate() {
        for (SimNode x : sim.nodes) {
            if (x.paused && sim.now >= x.pausedUntil) {
                x.paused = false; // the pause timed out by itself: redis takes writes again, whoever leads
            }
        }
        for (SimNode x : sim.nodes) {
            if (x.redisUp && x.role == RedisRole.MASTER && x.election != null && !x.paused && !x.fenced
                    && x.election.state() == NodeState.LEADING) {
                x.offset += 1; // clients write to the leader
            }
        }
        for (SimNode x : sim.nodes) {
            if (!x.redisUp || x.role != RedisRole.REPLICA) {
                continue;
            }
            if (x.master < 0) {
                continue; // born a replica of nowhere: no link until its agent points it somewhere
            }
            SimNode m = sim.nodes[x.master];
            // (a replica not linked to its master refuses to serve a sync: -NOMASTERLINK; one born a replica
            // of nowhere never serves one before its agent promotes it)
            if (!m.redisUp || !sim.network.linked(x, m) || (m.role == RedisRole.REPLICA && !m.linkUp)) {
                if (x.linkUp || x.syncDoneAt >= 0) {
                    // redis retries from its replication cron, once a second
                    x.nextConnect = sim.now + 1 + sim.rnd.nextInt(1000);
                }
                x.linkUp = false;
                x.syncDoneAt = -1;
                continue;
            }
            if (!x.linkUp) {
                if (x.syncDoneAt < 0) {
                    if (sim.now < x.nextConnect) {
                        continue;
                    }
                    x.syncDoneAt = sim.now + (x.syncedFrom.equals(m.runId) ? 0 : 20 + sim.rnd.nextInt(80));
                }
                if (sim.now < x.syncDoneAt) {
                    continue;
                }
                // a full (or PSYNC2 partial) sync: the replica now holds the master's data, whatever it had
                x.syncedFrom = m.runId;
                x.syncDoneAt = -1;
            }
            if (x.history != m.history && x.offset > 0 && !m.history.holds(m.offset, x.history, x.offset)) {
                boolean restarted = m.history.root().id() > x.historiesAtFollow;
                sim.log("redis " + x.id + " resyncs from redis " + m.id + " (" + m.history.lineage() + " at " + m.offset
                        + "): its writes past the split are gone (it had " + x.history.lineage() + " at " + x.offset + ")"
                        + (restarted ? ", as that redis restarted empty since it was told to replicate it" : ""));
                if (sim.majority && restarted) {
                    sim.acks.exclude(x, SimAcks.Excluded.HOLDER_RESYNCED_FROM_RESTARTED);
                }
            }
            x.offset = m.offset;
            x.history = m.history; // a full or partial sync alike: the replica now has the master's data
            x.linkUp = true;
        }
    }

    /** The leader's side of a handover: its redis waits until the successor's has caught up, or times out. */
    void handovers() {
        for (SimNode x : sim.nodes) {
            if (x.handoverSuccessor < 0) {
                continue;
            }
            SimNode s = sim.nodes[x.handoverSuccessor];
            if (!x.redisUp) {
                x.handoverSuccessor = -1;
                sim.network.enqueueRedis(x, sim.now + 1, new ElectionEvent.HandoverCaughtUp(false, 0, "redis down", 0));
            } else if (!x.handoverRunId.isEmpty() && !x.handoverRunId.equals(x.runId)) {
                x.handoverSuccessor = -1;
                x.paused = false;
                sim.network.enqueueRedis(x, sim.now + 1, new ElectionEvent.HandoverCaughtUp(false, 0,
                        "local redis restarted", 0));
            } else if (s.redisUp && s.role == RedisRole.REPLICA && s.master == x.id && s.linkUp
                    && s.offset >= x.offset) {
                x.handoverSuccessor = -1;
                sim.network.enqueueRedis(x, sim.now + 1 + sim.rnd.nextInt(5), new ElectionEvent.HandoverCaughtUp(true,
                        x.offset, "", 0));
            } else if (sim.now >= x.handoverDeadline) {
                x.handoverSuccessor = -1;
                x.paused = false;
                sim.network.enqueueRedis(x, sim.now + 1, new ElectionEvent.HandoverCaughtUp(false, 0, "timed out", 0));
            }
        }
    }

    // ---- what the agent's effects do to its redis (as RedisController does them) ----

    /** A probe: what redis answers, reported by the agent's redis thread within {@code bound} ms when it is up. */
    void probe(SimNode x, int bound) {
        if (x.redisUp) {
            sim.network.enqueueRedis(x, sim.now + 1 + sim.rnd.nextInt(bound), new ElectionEvent.ProbeSucceeded(
                    x.snapshot(), 0));
        } else {
            sim.network.enqueueRedis(x, sim.now + 1 + sim.rnd.nextInt(bound), refused());
        }
    }

    /** What a probe of a redis that is down gets: its port refuses connections. */
    private static ElectionEvent refused() {
        return new ElectionEvent.ProbeFailed("connect failed: Connection refused", ProbeFailure.Kind.GONE, 0);
    }

    void promote(SimNode x, Effect.Promote p) {
        if (x.redisUp && x.runId.equals(p.runId()) && x.offset >= p.minOffset()) {
            becomeMaster(x);
            x.fenced = false; // RedisController.promote lifts the fence before REPLICAOF NO ONE
            x.promotedRunId = x.runId;
            x.linkUp = false;
            sim.network.enqueueRedis(x, sim.now + 2 + sim.rnd.nextInt(30), new ElectionEvent.PromotionFinished(p.epoch(),
                    true, "", 0));
        } else {
            sim.network.enqueueRedis(x, sim.now + 100, new ElectionEvent.PromotionFinished(p.epoch(), false, "refused", 0));
        }
    }

    void follow(SimNode x, Effect.Follow fo) {
        if (x.redisUp) {
            int m = sim.indexOfRedis(fo.master());
            x.fenced = true; // RedisController.follow fences first
            x.historiesAtFollow = histories;
            if (x.role != RedisRole.REPLICA || x.master != m) {
                x.role = RedisRole.REPLICA;
                x.master = m;
                x.linkUp = false;
                x.syncDoneAt = -1;
                x.nextConnect = sim.now; // REPLICAOF connects at once
            }
        }
    }

    void detach(SimNode x) {
        if (x.redisUp) {
            x.fenced = true; // RedisController.detach fences first
            becomeMaster(x);
            x.linkUp = false;
            x.syncDoneAt = -1;
        }
    }

    void prepareHandover(SimNode x, Effect.PrepareHandover h) {
        if (x.redisUp) {
            x.paused = true;
            x.pausedUntil = h.deadlineMillis() + 1000;
            x.handoverSuccessor = sim.indexOfRedis(h.successorRedis());
            x.handoverRunId = h.runId();
            x.handoverDeadline = h.deadlineMillis();
        } else {
            sim.network.enqueueRedis(x, sim.now + 100, new ElectionEvent.HandoverCaughtUp(false, 0, "redis down", 0));
        }
    }

    void fence(SimNode x, Effect.FenceWrites fw) {
        if (x.redisUp) {
            x.fenced = fw.minReplicas() > 0;
        }
    }

    /** The redis the effect names are fenced if {@code x} reaches them and they are still masters. */
    void fenceOrphans(SimNode x, Effect.FenceOrphans o) {
        for (Endpoint e : o.redis()) {
            SimNode y = sim.nodes[sim.indexOfRedis(e)];
            if (y.redisUp && y.role == RedisRole.MASTER && sim.network.linked(x, y)) {
                y.fenced = true;
            }
        }
    }
}
