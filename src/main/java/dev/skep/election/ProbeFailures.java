package dev.skep.election;

/**
 * Whether the local redis counts as down: {@code --redis-failures} failed probes in a row. A failure that says redis
 * is down (refused, reset, stopped) counts at once; one that says it is alive but busy (a long script, a fork, a
 * flood of replies) counts only once it has been busy for {@code --busy-grace-ms}: failing over a busy master
 * discards what it is doing and gains nothing, while a crashed one closes its sockets and is declared down as
 * before. Pure, and confined to the control thread, as {@link Election} is.
 */
final class ProbeFailures {
    private final ElectionSettings settings;
    private final Outbox out;
    private int failures;
    /** Since when the local redis has been alive but unanswering (busy); -1 while it answers. */
    private long busySince = -1;
    private String last = "";

    ProbeFailures(ElectionSettings settings, Outbox out) {
        this.settings = settings;
        this.out = out;
    }

    /** The last failure's reason, for {@code /readyz}. */
    String last() {
        return last;
    }

    /** The local redis answered. */
    void answered(long now) {
        failures = 0;
        if (busySince >= 0) {
            out.record("redis-busy", "local redis answers again after " + (now - busySince) + " ms busy");
            busySince = -1;
        }
    }

    /**
     * A probe failed ({@code busy}: the evidence says redis is alive). Returns why the local redis now counts as
     * down, when it does and this node was {@code ready}; null otherwise.
     */
    String failed(String reason, boolean busy, boolean ready, long now) {
        last = reason;
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
