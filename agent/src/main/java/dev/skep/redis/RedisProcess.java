package dev.skep.redis;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The local redis-server as the operating system shows it, when the agent can see it: same host ({@code skep up},
 * a VM), or the pod's shared process namespace ({@code shareProcessNamespace: true}, which the chart turns on).
 * Tells a redis that is busy (a long script, {@code DEBUG SLEEP}, a fork, a flood of replies: the process is
 * running or sleeping) from one that is stopped ({@code SIGSTOP}, a frozen container: state {@code T}) or gone,
 * which a probe that times out cannot tell by itself.
 *
 * <p>The process is identified by the {@code process_id} and {@code uptime_in_seconds} of the last probe that
 * succeeded: its start time in {@code /proc/<pid>/stat} must match, so that a process with the same PID in
 * another PID namespace (the agent's own container) is never taken for redis.
 *
 * <p><b>Threading:</b> called on the redis I/O thread only. Not thread-safe.
 */
public final class RedisProcess {
    /** Linux's USER_HZ: the unit of times in {@code /proc/<pid>/stat}, 100 on every mainstream architecture. */
    private static final long TICKS_PER_SECOND = 100;
    /** How far the start time from /proc may differ from the one INFO implies (uptime is in whole seconds). */
    private static final long START_TOLERANCE_MS = 2_500;

    /** What {@link #observe} found. */
    public enum State {
        /** Running, sleeping or in an uninterruptible wait: alive, maybe busy. */
        ALIVE,
        /** Stopped or traced ({@code T}, {@code t}): it serves nothing until continued. */
        STOPPED,
        /** Exited, a zombie, or no longer there. */
        GONE,
        /** The agent cannot see the process (another PID namespace, no /proc): no evidence either way. */
        NOT_VISIBLE
    }

    /**
     * One look at the process.
     *
     * @param state      what it is doing, as far as can be told
     * @param cpuMsDelta CPU time (user + system) it used since the previous observation, -1 when unknown
     * @param detail     for logs and events, e.g. "state R, 480 ms CPU in 500 ms"
     */
    public record Observation(State state, long cpuMsDelta, String detail) {
        /** Whether the process is there and not stopped: a probe that timed out means busy, not dead. */
        public boolean alive() {
            return state == State.ALIVE;
        }
    }

    /** Fields of {@code /proc/<pid>/stat} the agent uses. */
    record Stat(char state, long cpuTicks, long startTicks) {}

    private final Path proc;
    /** The identified process: its PID and start time (ticks after boot); pid 0 until one is identified. */
    private long pid;
    private long startTicks;
    private long lastCpuTicks = -1;
    private long lastObservedNanos;

    /** Watches processes under {@code /proc}. */
    public RedisProcess() {
        this(Path.of("/proc"));
    }

    /** Watches processes under {@code proc} (a copy of /proc's layout, for tests). */
    RedisProcess(Path proc) {
        this.proc = Objects.requireNonNull(proc, "proc");
    }

    /**
     * Called after each successful probe: identifies the redis process by PID and start time. Cheap when the
     * process is the one already identified (one read of its stat).
     *
     * @param snap          what the probe saw ({@code process_id}, {@code uptime_in_seconds})
     * @param probedAtMillis wall-clock time of the probe
     */
    public void identify(RedisSnapshot snap, long probedAtMillis) {
        long candidate = snap.processId();
        if (candidate <= 0) {
            pid = 0;
            return;
        }
        if (candidate == pid) {
            return; // same PID: a restart shows as a new run_id, and the start time is checked again then
        }
        pid = 0;
        lastCpuTicks = -1;
        try {
            Stat stat = parseStat(Files.readString(proc.resolve(candidate + "/stat"), StandardCharsets.US_ASCII));
            long bootMillis = bootTimeMillis();
            long startedMillis = bootMillis + stat.startTicks() * 1000 / TICKS_PER_SECOND;
            long expected = probedAtMillis - snap.uptimeSeconds() * 1000;
            if (Math.abs(startedMillis - expected) <= START_TOLERANCE_MS + 1000) {
                pid = candidate;
                startTicks = stat.startTicks();
                lastCpuTicks = stat.cpuTicks();
                lastObservedNanos = System.nanoTime();
            }
        } catch (IOException | RuntimeException e) {
            // not visible from here (another PID namespace, no /proc): the probe's own evidence is all there is
        }
    }

    /** Whether the redis process was identified and can be watched. */
    public boolean visible() {
        return pid > 0;
    }

    /** Looks at the identified process now (after a probe that timed out). */
    public Observation observe() {
        if (pid <= 0) {
            return new Observation(State.NOT_VISIBLE, -1, "process not visible to the agent");
        }
        Stat stat;
        try {
            stat = parseStat(Files.readString(proc.resolve(pid + "/stat"), StandardCharsets.US_ASCII));
        } catch (NoSuchFileException e) {
            return new Observation(State.GONE, -1, "process " + pid + " is gone");
        } catch (IOException | RuntimeException e) {
            return new Observation(State.NOT_VISIBLE, -1, "process " + pid + " unreadable: " + e.getMessage());
        }
        if (stat.startTicks() != startTicks) {
            return new Observation(State.GONE, -1, "process " + pid + " is gone (its PID was reused)");
        }
        long now = System.nanoTime();
        long cpuMs = lastCpuTicks < 0 ? -1 : (stat.cpuTicks() - lastCpuTicks) * 1000 / TICKS_PER_SECOND;
        long elapsedMs = (now - lastObservedNanos) / 1_000_000;
        lastCpuTicks = stat.cpuTicks();
        lastObservedNanos = now;
        String detail = "process " + pid + " state " + stat.state()
                + (cpuMs < 0 ? "" : ", " + cpuMs + " ms CPU in the last " + elapsedMs + " ms");
        return new Observation(stateOf(stat.state()), cpuMs, detail);
    }

    /** The meaning of a {@code /proc/<pid>/stat} state letter. */
    static State stateOf(char state) {
        return switch (state) {
            case 'T', 't' -> State.STOPPED;
            case 'Z', 'X', 'x' -> State.GONE;
            default -> State.ALIVE; // R running, S sleeping (DEBUG SLEEP, waiting for clients), D disk wait, I idle
        };
    }

    /**
     * Parses {@code /proc/<pid>/stat}: {@code pid (comm) state ppid ...}, where comm may hold spaces and
     * parentheses, so the fields are counted from the last ')'. Fields 14 and 15 (1-based) are user and system
     * time, 22 the start time, all in clock ticks.
     */
    static Stat parseStat(String text) {
        int close = text.lastIndexOf(')');
        if (close < 0) {
            throw new IllegalArgumentException("not a /proc/<pid>/stat line: " + text);
        }
        String[] f = text.substring(close + 1).trim().split(" +");
        // f[0] is field 3 (state): field k is f[k - 3]
        if (f.length < 20 || f[0].length() != 1) {
            throw new IllegalArgumentException("not a /proc/<pid>/stat line: " + text);
        }
        long utime = Long.parseLong(f[14 - 3]);
        long stime = Long.parseLong(f[15 - 3]);
        long start = Long.parseLong(f[22 - 3]);
        return new Stat(f[0].charAt(0), utime + stime, start);
    }

    private long bootTimeMillis() throws IOException {
        for (String line : Files.readAllLines(proc.resolve("stat"), StandardCharsets.US_ASCII)) {
            if (line.startsWith("btime ")) {
                return Long.parseLong(line.substring(6).trim()) * 1000;
            }
        }
        throw new IOException("no btime in " + proc.resolve("stat"));
    }
}
