package dev.skep.chaos;

import java.util.Arrays;
import java.util.Locale;

/** The faults the harness injects, each aimed at the current master's node. */
public enum FaultKind {
    /** kill -9 of the master's redis-server; it is restarted empty after 1 s, as in a pod without a volume. */
    KILL_REDIS("kill-redis", "kill -9 of the master's redis (restarted empty after 1 s)"),
    /** kill -9 of the leader's agent; it is restarted after 1 s. Its redis keeps running. */
    KILL_AGENT("kill-agent", "kill -9 of the leader's agent (restarted after 1 s)"),
    /** SIGTERM to the leader's agent, as Kubernetes sends before a pod goes: a planned handover. */
    TERM_AGENT("term-agent", "SIGTERM to the leader's agent (planned handover; restarted after it exits)"),
    /** SIGSTOP of the master's redis, SIGCONT after the stop time: a long GC pause or a frozen VM. */
    STOP_REDIS("stop-redis", "SIGSTOP of the master's redis, SIGCONT after --stop-ms"),
    /** The master's node restarted: agent and redis killed together, both restarted, redis empty. */
    RESTART_EMPTY("restart-empty", "kill -9 of the master's agent and redis together (both restarted, redis empty)"),
    /**
     * The master's redis alive but busy: a read-only Lua script that loops for the busy time (a long script,
     * {@code DEBUG SLEEP}, a big {@code DEL}), sent to the redis directly. Not a failure: the target is no
     * leader change.
     */
    BUSY_REDIS("busy-redis", "a Lua script busy for --busy-ms on the master's redis, sent to it directly (alive but "
            + "busy: target 0 leader changes)"),
    /** The master's node cut off the network (network namespaces only), healed after the partition time. */
    PARTITION("partition", "the master's node cut off the bridge, healed after --partition-ms (network namespaces)");

    private final String flag;
    private final String description;

    FaultKind(String flag, String description) {
        this.flag = flag;
        this.description = description;
    }

    /** The name used on the command line and in the table. */
    public String flag() {
        return flag;
    }

    public String description() {
        return description;
    }

    /** Parses a command-line name ({@code kill-redis}...); throws with the list of names otherwise. */
    public static FaultKind parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(k -> k.flag.equals(n)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown fault kind '" + name + "' (expected one of: "
                        + String.join(", ", Arrays.stream(values()).map(FaultKind::flag).toList()) + ")"));
    }
}
