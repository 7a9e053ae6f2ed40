package dev.skep.election;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the local redis holds, as far as the election can tell: whether it must resync from a leader before it may
 * lead (tainted: it restarted, or took a full sync of a history no leader named; invariant 2), and its data epoch,
 * the epoch whose history its data ends with, which candidates are ranked on before their offsets (offsets of
 * diverged histories are not comparable; {@link Candidate}). Both are learnt from the replication ids leaders
 * announce: which leader's history each id names. Pure, and confined to the control thread, as {@link Election} is.
 */
final class LocalData {
    private final Outbox out;
    private boolean tainted;
    /**
     * The epoch whose history the local redis's data ends with (0: unknown, e.g. just restarted): the epoch this
     * node led, or that of the leader whose replication id its redis was seen to carry.
     */
    private long dataEpoch;
    /**
     * The replication id each leader heard of announced, with the highest epoch it led under that id (a master
     * keeps its id when it leads again without having been a replica). A redis carrying one of these ids holds
     * that leader's history. Bounded: the oldest entries go first.
     */
    private final Map<String, Long> histories = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > 32;
        }
    };

    /** The follower's replication id that last made this leader probe its redis at once. */
    private String probedFor = "";

    LocalData(Outbox out) {
        this.out = out;
    }

    boolean tainted() {
        return tainted;
    }

    long epoch() {
        return dataEpoch;
    }

    /** The histories known, oldest first, as this node's status shares them. */
    Map<String, Long> histories() {
        return Collections.unmodifiableMap(histories);
    }

    /** Whether {@code replId} names a leader's history. */
    boolean names(String replId) {
        return histories.containsKey(replId);
    }

    /**
     * Which history each replication id names, from every member that knows (a leader's own, and any node's whose
     * data epoch is known): an agent that restarted learns what its redis holds without having heard the leader it
     * replicated, which may be gone by now.
     */
    void learnFrom(NodeStatus s) {
        long knownEpoch = s.state() == NodeState.LEADING ? Math.max(s.epoch(), s.dataEpoch()) : s.dataEpoch();
        if (!s.replId2().isEmpty() && knownEpoch > 0 && s.state() != NodeState.LEADING
                && s.redisRole() == RedisRole.MASTER) {
            // Its data, of epoch knownEpoch, is the history of its previous id up to where it detached: other holders
            // of that history learn its epoch from it (only when nobody named it, as a history that went on past
            // the fork elsewhere may be newer). A leader's previous id is its predecessor's: not its epoch; nor is a
            // replica's, which took its master's previous id with a partial resync after that master's promotion.
            histories.putIfAbsent(s.replId2(), knownEpoch);
        }
        if (!s.replId().isEmpty() && knownEpoch > 0 && s.state() != NodeState.PROMOTING
                && !(s.state() == NodeState.LEADING && s.redisRole() != RedisRole.MASTER)) {
            // (a promoting node's redis may have its new id already, the history of the epoch it is about to lead,
            // not of the data epoch it reports; a leader's status from a probe before its promotion names its
            // predecessor's id, not its own)
            histories.merge(s.replId(), knownEpoch, Math::max);
        }
        // what it learnt the same way from others: a restarted agent learns whose history its redis holds from any
        // peer that knows, not only from one whose redis carries the same id (which may be cut off, or gone)
        s.histories().forEach((id, e) -> {
            if (!id.isEmpty() && e > 0) {
                histories.merge(id, e, Math::max);
            }
        });
    }

    /**
     * Leading, with our redis as last probed in {@code local}: whether a follower's status {@code s} calls for probing
     * it at once. The follower's redis carries an id ours did not have at our last probe: most likely ours changed
     * (redis makes a new one when its first replica syncs), and the follower ranks itself last until we name it.
     */
    boolean unnamedFollowerId(NodeStatus s, RedisSnapshot local) {
        if (local == null || s.replId().isEmpty() || s.replId().equals(local.replId())
                || s.replId().equals(probedFor)) {
            return false;
        }
        probedFor = s.replId();
        return true;
    }

    /**
     * The data epoch we know {@code s}'s redis to hold, which its agent may not know yet (it restarted): that of the
     * history its replication id names, or else at least that of the one its previous id names (see {@link #learn});
     * null when neither is known.
     */
    Long knownEpoch(NodeStatus s) {
        Long e = s.replId().isEmpty() ? null : histories.get(s.replId());
        if (e != null) {
            return e;
        }
        return s.replId2().isEmpty() ? null : histories.get(s.replId2());
    }

    /**
     * A new run_id is a new process: without persistence its dataset is whatever it was started with, typically
     * empty. It must resync from a leader before it may win (invariant 2).
     */
    void restarted(RedisSnapshot previous, RedisSnapshot snap) {
        tainted = true;
        dataEpoch = 0;
        out.record("redis-restarted", "local redis restarted (run_id " + shortId(previous.runId()) + " -> "
                + shortId(snap.runId()) + ", " + snap.keys() + " keys): must resync from the leader before it may "
                + "lead");
    }

    /**
     * Following a leader whose redis has {@code leaderReplId}: a full sync of a history no leader has named. If the
     * leader's redis restarted (empty) before its agent noticed, our redis now holds that empty dataset, and must
     * rank last (and not be a handover's successor) until a leader names the id, which the restarted redis's will
     * never be.
     */
    void fullSynced(RedisSnapshot previous, RedisSnapshot snap, String leaderReplId) {
        if (!tainted && previous != null && !snap.replId().isEmpty() && !leaderReplId.isEmpty()
                && !snap.replId().equals(leaderReplId) && !snap.replId().equals(previous.replId())
                && !histories.containsKey(snap.replId())
                && (snap.replId2().isEmpty() || !histories.containsKey(snap.replId2()))) {
            tainted = true;
            out.changed();
            out.record("resyncing", "local redis took a full sync of a history no leader has named (replication id "
                    + shortId(snap.replId()) + ", offset " + snap.replOffset() + "): ranks last until one does");
        }
    }

    /**
     * In sync with {@code leader}'s redis, a leader that does not share replication ids (an agent of a version
     * before they were appended to its status): the only evidence we have that our redis holds its data. (A leader
     * that shares them untaints us through {@link #learn}, only once our redis holds its history: being in sync
     * with its redis is not enough.)
     */
    void resyncedFrom(Endpoint leader, RedisSnapshot snap) {
        if (tainted) {
            tainted = false;
            out.changed();
            out.record("resynced", "local redis resynced from leader " + leader + " (" + snap.keys() + " keys)");
        }
    }

    /** This node leads {@code epoch} now: its redis holds that epoch's history. */
    void promoted(long epoch) {
        tainted = false;
        dataEpoch = epoch;
    }

    /**
     * What the local redis's replication id says about its data: carrying a leader's id, it holds that leader's
     * history (a sync with it succeeded, full or partial), whether or not a probe ever caught its link up. So a
     * restarted redis that resynced is no longer tainted even if its leader was lost before this node saw it in
     * sync (its acknowledgements, counted by the leader's WAIT, must not rank below a node without them). Returns
     * whether the data epoch changed (to a known history).
     *
     * @param epoch            the epoch this node leads, or follows
     * @param leader           the leader it follows (for the event log)
     * @param leaderReplId     the replication id that leader reported for its redis
     * @param inSyncWithLeader following, not detached, and in sync with the leader's redis
     */
    boolean learn(RedisSnapshot snap, NodeState state, long epoch, Endpoint leader, String leaderReplId,
            boolean inSyncWithLeader) {
        if (state == NodeState.LEADING) {
            if (!snap.replId().isEmpty() && snap.role() == RedisRole.MASTER) {
                histories.merge(snap.replId(), epoch, Math::max);
            }
            dataEpoch = Math.max(dataEpoch, epoch);
            return false;
        }
        if (snap.replOffset() == 0) {
            // no data (a redis that restarted empty, or one mid-way through its first full sync): nothing to rank, and
            // nothing that could make a restarted redis fit to lead, whatever id it carries (an empty redis that
            // restarted at its old address before anyone noticed hands its new id to the replicas that resync from it)
            if (dataEpoch != 0) {
                dataEpoch = 0;
                out.changed();
            }
            if (tainted && state == NodeState.FOLLOWING && !snap.replId().isEmpty()
                    && snap.replId().equals(leaderReplId)) {
                // in a hive that has no data yet, a copy of our leader's empty dataset: as good as any (empty ranks
                // last anyway), and fit to be a handover's successor
                tainted = false;
                out.changed();
                out.record("resynced", "local redis holds the (empty) history of leader " + leader);
            }
            return false;
        }
        Long e = snap.replId().isEmpty() ? null : histories.get(snap.replId());
        if (e == null && !snap.replId2().isEmpty() && histories.containsKey(snap.replId2()) && inSyncWithLeader) {
            // in sync with our leader's redis, whose new id we have not heard yet, and continuing (a partial resync) a
            // history we know: the leader's. A full sync with an id nobody named yet proves nothing: the leader's redis
            // may have restarted empty before its agent noticed, and a replica that synced from it holds nothing of
            // the leader's epoch; we wait for the leader's status to name the id.
            e = epoch;
        }
        if (e == null) {
            Long floor = snap.replId2().isEmpty() ? null : histories.get(snap.replId2());
            if (floor == null || floor <= dataEpoch) {
                // not known to be any leader's history (yet): the data epoch stays what it was (a master keeps its
                // data when REPLICAOF NO ONE gives it a new id)
                return false;
            }
            // Its previous id is a leader's history: our data holds it up to where it forked, and whatever came after
            // (a later leader's writes, or nothing of note: a detached redis is fenced). That epoch is a floor, known
            // when every agent that heard the later leader name its id has restarted since.
            e = floor;
        }
        boolean changed = e != dataEpoch;
        if (changed) {
            dataEpoch = e;
            out.changed();
        }
        if (tainted && state != NodeState.PROMOTING) {
            tainted = false;
            out.changed();
            out.record("resynced", "local redis holds the history of epoch " + e + " (replication id "
                    + shortId(snap.replId()) + ", " + snap.keys() + " keys)");
        }
        return changed;
    }

    static String shortId(String runId) {
        return runId.length() > 8 ? runId.substring(0, 8) : runId;
    }
}
