package dev.skep.redis;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.util.function.Supplier;

/**
 * Why a probe of the local redis failed, and whether the evidence says it is alive but busy rather than down.
 * A pure decision: {@link #classify} looks at the failure and, only when redis did not answer in time, at what
 * {@link RedisProcess} sees.
 *
 * <ul>
 *   <li>{@code -BUSY} (a script or function running past {@code busy-reply-threshold}): busy.</li>
 *   <li>No reply in time: busy when the process is there and not stopped (running a long script, sleeping in
 *       {@code DEBUG SLEEP}, forking, writing a flood of replies), or when the agent cannot see it at all (no
 *       evidence either way: the busy grace bounds how long that lasts); down when it is stopped ({@code SIGSTOP})
 *       or gone.</li>
 *   <li>A connection refused: gone. Nothing listens on redis's port any more: the process died (a crash, kill -9,
 *       the OOM killer) and the kernel closed its sockets. A busy or stopped redis still accepts connections (the
 *       kernel queues them), so this is the crash's own evidence, not a shorter timeout.</li>
 *   <li>Anything else (connection reset, closed, a malformed reply, another error): down. A crashed redis closes its
 *       sockets: that is evidence, not silence.</li>
 * </ul>
 *
 * @param kind   what the failure says of redis
 * @param reason for the event log, e.g. "no reply to PING in time (process 812 state R, 490 ms CPU in the last
 *               500 ms)"
 */
public record ProbeFailure(Kind kind, String reason) {

    /** What a failed probe says of the local redis. */
    public enum Kind {
        /** Alive but not answering: not a failure until the busy grace has passed. */
        BUSY,
        /** Down, as far as this probe can tell: counts towards {@code --redis-failures}. */
        FAILED,
        /** Gone: its port refuses connections, so no process serves it (a crash): down at once. */
        GONE
    }

    /** Whether the evidence says redis is alive but busy. */
    public boolean busy() {
        return kind == Kind.BUSY;
    }

    /** Classifies {@code failure}; {@code process} is asked only when redis did not answer in time. */
    public static ProbeFailure classify(Exception failure, Supplier<RedisProcess.Observation> process) {
        String message = failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
        if (failure instanceof RedisErrorReply r && r.code().equals("BUSY")) {
            return new ProbeFailure(Kind.BUSY, "redis answers -BUSY (a script or function is running): " + message);
        }
        if (failure instanceof SocketTimeoutException) {
            RedisProcess.Observation seen = process.get();
            return switch (seen.state()) {
                case ALIVE -> new ProbeFailure(Kind.BUSY, message + " (" + seen.detail() + ": busy, not dead)");
                case NOT_VISIBLE -> new ProbeFailure(Kind.BUSY, message + " (" + seen.detail()
                        + ": busy or stopped, cannot tell)");
                case STOPPED -> new ProbeFailure(Kind.FAILED, message + " (" + seen.detail() + ": stopped)");
                case GONE -> new ProbeFailure(Kind.FAILED, message + " (" + seen.detail() + ")");
            };
        }
        return new ProbeFailure(refused(failure) ? Kind.GONE : Kind.FAILED, message);
    }

    /** Whether {@code failure} (or what caused it) is a refused connection. */
    private static boolean refused(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof ConnectException c && c.getMessage() != null && c.getMessage().contains("refused")) {
                return true;
            }
        }
        return false;
    }
}
