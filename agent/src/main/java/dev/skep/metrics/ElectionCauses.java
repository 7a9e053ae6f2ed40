package dev.skep.metrics;

import dev.skep.status.HiveEvent;

import java.util.List;

/**
 * Why this node started an election, from its events in order: the cause of the last loss of a leader
 * before it proposed. Pure, and fed by one thread at a time (the control thread, through the event log).
 *
 * <p>Causes (a closed set, so the metric's label stays small):
 * <ul>
 *   <li>{@code leader_redis_down}: the leader said its redis failed (it went NOT_READY);</li>
 *   <li>{@code leader_silent}: the leader's agent fell silent for a peer timeout;</li>
 *   <li>{@code leader_stepped_down}: the leader gave up leadership for another reason;</li>
 *   <li>{@code stepped_down}: this node was the leader and gave up leadership;</li>
 *   <li>{@code no_leader}: no leader was known (start, or back from NOT_READY with nobody leading).</li>
 * </ul>
 */
public final class ElectionCauses {
    public static final List<String> ALL =
            List.of("leader_redis_down", "leader_silent", "leader_stepped_down", "stepped_down", "no_leader");

    private String pending = "no_leader";

    /**
     * Takes the next event; returns the cause when it is the start of an election by this node (it
     * proposes), null otherwise.
     */
    public String onEvent(HiveEvent e) {
        String message = e.message() == null ? "" : e.message();
        switch (e.kind() == null ? "" : e.kind()) {
            case "leader-lost" -> pending = message.contains("silent for") ? "leader_silent"
                    : message.contains("NOT_READY") ? "leader_redis_down" : "leader_stepped_down";
            case "stepped-down" -> pending = "stepped_down";
            case "following", "promoted" -> pending = "no_leader";
            case "election" -> {
                if (message.startsWith("no live leader")) {
                    String cause = pending;
                    pending = "no_leader";
                    return cause;
                }
            }
            default -> {
                // other events do not change why the next election would start
            }
        }
        return null;
    }
}
