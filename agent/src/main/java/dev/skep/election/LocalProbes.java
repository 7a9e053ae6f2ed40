package dev.skep.election;

import dev.skep.redis.ProbeFailure;
import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

/**
 * The probes of the local redis (PING and INFO, every heartbeat and when the election asks): whether it counts as
 * down, and whether a probe came since the election asked for a fresh one. A redis that answered before and now
 * refuses connections is gone (the process died and the kernel closed its port): down at once, the crash's own
 * evidence. Other failures that say redis is down (reset, stopped, an error) count towards
 * {@code --redis-failures} in a row; one that says it is alive but busy (a long script, a fork, a flood of replies)
 * counts only once it has been busy for {@code --busy-grace-ms}: failing over a busy master discards what it is
 * doing and gains nothing. Pure, and confined to the control thread, as {@link Election} is.
 */
final class LocalProbes {
    private final ElectionSettings settings;
    private final Outbox out;
    /** Probes answered so far, and their number when a fresh one was asked for. */
    private long answered;
    private long answeredWhenAsked = -1;
    /** When the last answer came: the age of the offset it reported. */
    private long answeredAt;
    private int failures;
    /** Since when the local redis has been alive but unanswering (busy); -1 while it answers. */
    private long busySince = -1;
    private String last = "";

    LocalProbes(ElectionSettings settings, Outbox out) {
        this.settings = settings;
        this.out = out;
    }

    /**
     * What {@code /readyz} says of a node in {@code state}, its redis as last probed being {@code redis} (null: not
     * yet answered), following or leading {@code leader}: empty when the local redis is healthy, in the role the hive
     * wants and a leader is known; otherwise why not.
     */
    String notReadyReason(RedisSnapshot redis, NodeState state, Endpoint leader, Endpoint leaderRedis) {
        if (redis == null) {
            // never answered as asked: say why it failed rather than that it is awaited (e.g. a setting refused)
            return state == NodeState.NOT_READY && !last.isEmpty() ? "local redis unhealthy: " + last
                    : "waiting for the first answer of the local redis";
        }
        return switch (state) {
            case NOT_READY -> "local redis unhealthy: " + last;
            case LEADING -> redis.role() == RedisRole.MASTER ? ""
                    : "leading but local redis reports role " + redis.role();
            case FOLLOWING -> redis.inSyncWith(leaderRedis.host(), leaderRedis.port()) ? ""
                    : "local redis is not yet in sync with leader " + leader;
            default -> "no leader yet (" + state + ")";
        };
    }

    /** When the last answer came. */
    long answeredAt() {
        return answeredAt;
    }

    /**
     * Asks for a probe now; until it answers, {@link #fresh} is false. A node that lost its leader proposes only
     * after a fresh probe: the last one is older than what our redis took since (writes, some of them acknowledged,
     * or a sync), and a proposal below that could let a node with less win.
     */
    void askFresh(String reason) {
        answeredWhenAsked = answered;
        out.add(new Effect.Probe(reason));
    }

    /** Whether a probe answered since a fresh one was last asked for. */
    boolean fresh() {
        return answered != answeredWhenAsked;
    }

    /** The local redis answered. */
    void answered(long now) {
        answered++;
        answeredAt = now;
        failures = 0;
        if (busySince >= 0) {
            out.record("redis-busy", "local redis answers again after " + (now - busySince) + " ms busy");
            busySince = -1;
        }
    }

    /**
     * A probe failed ({@code kind}: what the evidence says of redis). Returns why the local redis now counts as down,
     * when it does and this node was {@code ready}; null otherwise.
     */
    String failed(String reason, ProbeFailure.Kind kind, boolean ready, long now) {
        last = reason;
        boolean busy = kind == ProbeFailure.Kind.BUSY;
        if (kind == ProbeFailure.Kind.GONE && answered > 0) {
            // refused where it answered before: not a slow start, a dead process (a busy one is still accepted)
            failures = Math.max(failures + 1, settings.redisFailures());
            return ready ? "local redis is gone (its port refuses connections): " + reason : null;
        }
        if (busy) {
            if (busySince < 0) {
                busySince = now;
                if (ready) {
                    out.record("redis-busy", "local redis is alive but not answering: " + reason + "; counted as down "
                            + "if it lasts " + settings.busyGraceMs() + " ms (--busy-grace-ms)");
                }
            }
            if (now - busySince < settings.busyGraceMs()) {
                return null;
            }
            reason = "busy for " + (now - busySince) + " ms, past --busy-grace-ms " + settings.busyGraceMs() + ": "
                    + reason;
            failures = Math.max(failures + 1, settings.redisFailures());
        } else {
            failures++;
        }
        if (failures < settings.redisFailures() || !ready) {
            return null;
        }
        return busy ? "local redis " + reason : "local redis probe failed " + failures + " times in a row: " + reason;
    }
}
