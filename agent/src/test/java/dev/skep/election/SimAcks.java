package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.status.NodeState;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --quorum majority} in a {@link Sim}: what the write ports acknowledged, and the check that none of it is
 * lost. A leader's write port acknowledges the writes that the replicas its topology asks for
 * ({@code syncReplicas}, linked to its redis) hold, and every acknowledged write must be held by the redis of each
 * leader of a later epoch when its promotion is confirmed, by a handover's successor, and by the leader after
 * healing. Excluded (counted and printed), as a crash may have destroyed them by no fault of the election: writes
 * once the redis of any node that held them when acknowledged crashed, or resynced from a master that had
 * restarted empty since it was told to replicate it; and writes acknowledged by a leader whose redis had restarted
 * empty before its agent could tell (both docs/guarantees.md, Known limits).
 */
final class SimAcks {
    private final Sim sim;
    /**
     * What the write ports acknowledged, in the order acknowledged; an entry grows while the same leader
     * acknowledges more of the same history with the same nodes holding it.
     */
    private final List<Ack> acks = new ArrayList<>();
    /** The entry that grows for each (history, epoch, holders); an entry leaves it once excluded. */
    private final Map<AckKey, Ack> growing = new HashMap<>();
    /** How many times a new leader's (or a handover successor's) redis was checked against {@link #acks}. */
    long ackChecks;
    /** How many times a redis that held acknowledged writes lost its data, by {@link Excluded} reason. */
    final long[] holdersLost = new long[Excluded.values().length];

    SimAcks(Sim sim) {
        this.sim = sim;
    }

    /** Acknowledged writes grow one entry while these stay the same. */
    record AckKey(SimRedis.History history, long epoch, int holders) {}

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
        final SimRedis.History history;
        final long epoch;
        final int leader;
        final int holders;
        final long since;
        long offset;
        long at;
        Excluded excluded;
        /** Another node that led a later epoch (or was being promoted) while these were acknowledged; null: none. */
        String rival;

        Ack(SimRedis.History history, long epoch, int leader, int holders, long offset, long now, Excluded excluded) {
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

    /**
     * What the write ports acknowledge. Clients write to the leader ({@link SimRedis#replicate()}); the proxy
     * answers a write once {@code WAIT} says the number of replicas its topology asks for
     * ({@link dev.skep.topology.Topology#syncReplicas()}) have it. A replica counts while it is linked to the
     * leader's redis and holds the leader's history, as redis's {@code WAIT} counts the replicas connected to
     * that master. A paused redis (handover) takes no writes and none are acknowledged meanwhile.
     */
    void acknowledge() {
        for (SimNode l : sim.nodes) {
            if (l.election == null || l.election.state() != NodeState.LEADING || !l.redisUp
                    || l.role != RedisRole.MASTER || l.paused) {
                continue;
            }
            int needed = l.election.topology().syncReplicas();
            List<Long> offsets = new ArrayList<>();
            for (SimNode r : sim.nodes) {
                if (linkedReplica(r, l)) {
                    offsets.add(r.offset);
                }
            }
            if (offsets.size() < needed) {
                continue;
            }
            offsets.sort(Comparator.reverseOrder());
            long acked = needed == 0 ? l.offset : Math.min(l.offset, offsets.get(needed - 1));
            if (acked <= l.history.forkOffset()) {
                continue; // nothing this leader wrote: writes below the fork were its predecessor's to acknowledge
            }
            int holders = 1 << l.id;
            for (SimNode r : sim.nodes) {
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
                a = new Ack(l.history, epoch, l.id, holders, acked, sim.now,
                        restarted ? Excluded.LEADER_RESTARTED : Excluded.NO);
                growing.put(key, a);
                acks.add(a);
                if (Sim.VERBOSE) {
                    sim.log(l.id + " acknowledges up to " + SimRedis.History.write(l.history, acked) + " in epoch "
                            + epoch + ", held by " + nodesOf(holders) + (restarted ? " (its redis restarted unnoticed:"
                            + " not checked)" : ""));
                }
            } else if (acked > a.offset) {
                a.offset = acked;
                a.at = sim.now;
            }
            for (SimNode y : sim.nodes) {
                if (a.rival == null && y != l && y.election != null && (y.election.state() == NodeState.PROMOTING
                        || y.election.state() == NodeState.LEADING && y.election.epoch() > epoch)) {
                    a.rival = "node " + y.id + (y.election.state() == NodeState.PROMOTING ? " being promoted"
                            : " leading epoch " + y.election.epoch()) + " at t=" + sim.now;
                }
            }
        }
    }

    private static boolean linkedReplica(SimNode r, SimNode of) {
        return r != of && r.redisUp && r.role == RedisRole.REPLICA && r.master == of.id && r.linkUp
                && r.history == of.history;
    }

    /** {@code x}'s redis lost its data by a crash: the writes it held when acknowledged are no longer checked. */
    void exclude(SimNode x, Excluded why) {
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
     * {@code x}'s redis, as it became master for {@code epoch}, holds every write acknowledged in an earlier epoch
     * (every one, for {@code epoch} {@link Long#MAX_VALUE}) except those excluded. Not checked when that redis has
     * restarted since its promotion: it has lost everything by a crash, and the next leader is checked instead.
     */
    void checkAcknowledged(SimNode x, long epoch, String who) {
        if (!x.redisUp || !x.runId.equals(x.promotedRunId)) {
            sim.log(who + ": its redis restarted since its promotion, acknowledged writes not checked on it");
            return;
        }
        ackChecks++;
        for (Ack a : acks) {
            if (a.excluded != Excluded.NO || a.epoch >= epoch || x.history.holds(x.offset, a.history, a.offset)) {
                continue;
            }
            int holdNow = 0;
            for (SimNode y : sim.nodes) {
                if (y.redisUp && y.history.holds(y.offset, a.history, a.offset)) {
                    holdNow |= 1 << y.id;
                }
            }
            sim.violation(who + " lacks acknowledged write " + SimRedis.History.write(a.history, a.offset) + ": node "
                    + a.leader + " acknowledged it in epoch " + a.epoch + " at t=" + a.at + " (writes of " + a.history
                    + " up to " + a.offset + " since t=" + a.since + ") while nodes " + nodesOf(a.holders)
                    + " held it, none of which lost its data to a crash since" + (a.rival == null ? "" : ", and " + a.rival)
                    + "; node " + x.id + "'s redis has "
                    + x.history.lineage() + " at offset " + x.offset + "; it is held now by nodes " + nodesOf(holdNow));
        }
    }

    private String nodesOf(int bits) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < sim.n; i++) {
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
        Map<SimRedis.History, long[]> upTo = new LinkedHashMap<>();
        for (Ack a : acks) {
            long cap = a.offset;
            for (SimRedis.History h = a.history; h != null; cap = Math.min(cap, h.forkOffset()), h = h.parent()) {
                long[] u = upTo.computeIfAbsent(h, k -> new long[reasons]);
                for (int k = a.excluded.ordinal(); k < reasons; k++) {
                    u[k] = Math.max(u[k], cap);
                }
            }
        }
        long[] w = new long[reasons];
        for (Map.Entry<SimRedis.History, long[]> e : upTo.entrySet()) {
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
}
