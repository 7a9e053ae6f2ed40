package dev.skep.election;

import java.util.ArrayDeque;

/**
 * Recent replication offsets of the current leader's redis, each with the local time it was learnt, so
 * that a replica's lag can be told in milliseconds: a replica that reports offset {@code o} at time
 * {@code t} is as far behind as the time since the leader first reached {@code o}. Pure; owned by the
 * {@link ReplicaHealth} (the control thread).
 *
 * <p>Offsets are learnt once per heartbeat, so a lag is known to about a heartbeat. A replica behind every
 * remembered offset is at least as far behind as the oldest one.
 */
final class LeaderOffsets {
    /** Samples are kept this long: beyond it a replica is simply "far behind". */
    private static final long KEEP_MS = 30_000;

    private final ArrayDeque<long[]> samples = new ArrayDeque<>(); // {atMillis, offset}, oldest first

    /** Forgets everything: the leader (and so its offsets) changed. */
    void clear() {
        samples.clear();
    }

    /** The leader's redis had {@code offset} at {@code now}. */
    void add(long now, long offset) {
        long[] last = samples.peekLast();
        if (last != null && offset <= last[1]) {
            return; // nothing new: the first time an offset was reached is what lag is measured from
        }
        samples.addLast(new long[] {now, offset});
        while (!samples.isEmpty() && now - samples.peekFirst()[0] > KEEP_MS) {
            samples.removeFirst();
        }
    }

    /**
     * How many milliseconds a replica that had {@code offset} at {@code at} was behind; 0 when it had every
     * offset we know of, {@link Long#MAX_VALUE} when we know none.
     */
    long lagMs(long offset, long at) {
        if (samples.isEmpty()) {
            return Long.MAX_VALUE;
        }
        if (offset >= samples.peekLast()[1]) {
            return 0;
        }
        for (long[] s : samples) {
            if (s[1] > offset) {
                // the leader went past the replica's offset at s[0]: the replica is behind since then
                return Math.max(0, at - s[0]);
            }
        }
        return 0;
    }
}
