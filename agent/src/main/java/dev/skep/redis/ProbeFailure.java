package dev.skep.redis;

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
 *   <li>Anything else (connection refused or reset, closed, a malformed reply, another error): down. A crashed
 *       redis closes its sockets: that is evidence, not silence.</li>
 * </ul>
 *
 * @param busy   redis is alive but not answering: not a failure until the busy grace has passed
 * @param reason for the event log, e.g. "no reply to PING in time (process 812 state R, 490 ms CPU in the last
 *               500 ms)"
 */
public record ProbeFailure(boolean busy, String reason) {

    /** Classifies {@code failure}; {@code process} is asked only when redis did not answer in time. */
    public static ProbeFailure classify(Exception failure, Supplier<RedisProcess.Observation> process) {
        String message = failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
        if (failure instanceof RedisErrorReply r && r.code().equals("BUSY")) {
            return new ProbeFailure(true, "redis answers -BUSY (a script or function is running): " + message);
        }
        if (failure instanceof SocketTimeoutException) {
            RedisProcess.Observation seen = process.get();
            return switch (seen.state()) {
                case ALIVE -> new ProbeFailure(true, message + " (" + seen.detail() + ": busy, not dead)");
                case NOT_VISIBLE -> new ProbeFailure(true, message + " (" + seen.detail()
                        + ": busy or stopped, cannot tell)");
                case STOPPED -> new ProbeFailure(false, message + " (" + seen.detail() + ": stopped)");
                case GONE -> new ProbeFailure(false, message + " (" + seen.detail() + ")");
            };
        }
        return new ProbeFailure(false, message);
    }
}
