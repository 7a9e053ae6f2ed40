package dev.skep.chaos;

import dev.skep.redis.RedisErrorReply;
import dev.skep.redis.RespClient;
import dev.skep.topology.Endpoint;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Measures how long two nodes accept writes at once. One thread per node polls, every {@code period}:
 * <ul>
 *   <li>its redis with {@code DEL skep-chaos:probe}, a key nobody writes: redis refuses it on a replica
 *       ({@code -READONLY}), holds it on a master paused for a handover, refuses it without enough replicas
 *       ({@code min-replicas-to-write}), and otherwise answers 0 without changing the dataset or the
 *       replication stream (deleting a missing key is not propagated). So the probe tells "would accept a
 *       write now" and cannot add data that an election or the lost-write count would see;</li>
 *   <li>its agent's Sentinel-compatible endpoint ({@code get-master-addr-by-name}), the master that node's
 *       write port and Sentinel clients are sent to.</li>
 * </ul>
 * Three figures come out of a window: the longest time at least two redis servers accepted writes (any
 * client talking to them directly could have written to both), the longest time at least two of them did so
 * while an agent routed clients to each (what write-port and Sentinel clients could hit), and the longest
 * time two of them were <em>proven</em> to accept writes at once. The first two take the state between two
 * polls to be the earlier poll's, so they are upper bounds exact to about a period: a master paused for a
 * handover a few milliseconds after its last poll counts as accepting until its next poll, and overlaps a
 * successor promoted in between (an artefact, not two masters). The third counts only the span of a node's
 * run of accepting answers (from the run's first answer's arrival to its last poll's sending), so it is a
 * lower bound: it is non-zero only when two nodes answered "accepting" around the same moment.
 *
 * <p>Threads: its own pollers; {@link #begin} and {@link #end} from the harness's main thread.
 */
final class MasterWatch implements AutoCloseable {
    /** One poll of one node: sent at {@code nanos}, its redis's answer back at {@code answered}. */
    record Sample(long nanos, long answered, int node, boolean accepting, int routedTo) {}

    /**
     * The longest overlaps of a window, in milliseconds: upper bounds ({@code anyMs}, {@code routedMs}), the
     * proven lower bound ({@code provenMs}), and the polls around the longest {@code anyMs} span ({@code around},
     * empty when there was none), to tell an artefact of the polling from two masters.
     */
    record Overlap(long anyMs, long routedMs, long provenMs, String around) {}

    private static final int MAX_SAMPLES = 400_000;
    private final ChaosHive hive;
    private final Duration period;
    private final List<Thread> threads = new ArrayList<>();
    private final List<Sample> samples = new ArrayList<>(); // guarded by itself
    private volatile boolean recording;
    private volatile boolean closed;

    MasterWatch(ChaosHive hive, Duration period) {
        this.hive = hive;
        this.period = period;
        for (int i = 0; i < hive.size(); i++) {
            int node = i;
            Thread t = new Thread(() -> poll(node), "chaos-watch-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    void begin() {
        synchronized (samples) {
            samples.clear();
        }
        recording = true;
    }

    Overlap end() {
        recording = false;
        List<Sample> copy;
        synchronized (samples) {
            copy = new ArrayList<>(samples);
            samples.clear();
        }
        return overlap(copy, hive.size());
    }

    private void poll(int node) {
        Duration timeout = Duration.ofMillis(Math.max(50, period.toMillis() * 5));
        RespClient redis = new RespClient(hive.redis(node), null, timeout, timeout);
        RespClient sentinel = new RespClient(hive.sentinel(node), null, timeout, timeout);
        try {
            while (!closed) {
                long start = System.nanoTime();
                if (recording) {
                    boolean accepting;
                    try {
                        accepting = redis.call("DEL", "skep-chaos:probe") instanceof Long;
                    } catch (RedisErrorReply | IOException e) {
                        accepting = false;
                    }
                    long answered = System.nanoTime();
                    int routed = -1;
                    try {
                        if (sentinel.call("SENTINEL", "get-master-addr-by-name", "mymaster") instanceof List<?> l && l.size() == 2) {
                            routed = hive.indexOf(new Endpoint(String.valueOf(l.get(0)), Integer.parseInt(String.valueOf(l.get(1)))));
                        }
                    } catch (RedisErrorReply | IOException | NumberFormatException e) {
                        routed = -1;
                    }
                    synchronized (samples) {
                        if (samples.size() < MAX_SAMPLES) {
                            samples.add(new Sample(start, answered, node, accepting, routed));
                        }
                    }
                }
                long left = period.toNanos() - (System.nanoTime() - start);
                if (left > 0) {
                    Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            redis.close();
            sentinel.close();
        }
    }

    /** Replays the samples in time order and returns the longest spans with two or more nodes accepting. */
    static Overlap overlap(List<Sample> samples, int nodes) {
        List<Sample> sorted = new ArrayList<>(samples);
        sorted.sort((a, b) -> Long.compare(a.nanos(), b.nanos()));
        boolean[] accepting = new boolean[nodes];
        int[] routedTo = new int[nodes];
        java.util.Arrays.fill(routedTo, -1);
        long anyStart = -1;
        long routedStart = -1;
        long anyLongest = 0;
        long anyLongestStart = -1;
        long routedLongest = 0;
        for (Sample s : sorted) {
            accepting[s.node()] = s.accepting();
            routedTo[s.node()] = s.routedTo();
            int any = 0;
            int routed = 0;
            for (int i = 0; i < nodes; i++) {
                if (accepting[i]) {
                    any++;
                    for (int j = 0; j < nodes; j++) {
                        if (routedTo[j] == i) {
                            routed++;
                            break;
                        }
                    }
                }
            }
            if (any >= 2 && anyStart < 0) {
                anyStart = s.nanos();
            } else if (any < 2 && anyStart >= 0) {
                if (s.nanos() - anyStart > anyLongest) {
                    anyLongest = s.nanos() - anyStart;
                    anyLongestStart = anyStart;
                }
                anyStart = -1;
            }
            if (routed >= 2 && routedStart < 0) {
                routedStart = s.nanos();
            } else if (routed < 2 && routedStart >= 0) {
                routedLongest = Math.max(routedLongest, s.nanos() - routedStart);
                routedStart = -1;
            }
        }
        if (!sorted.isEmpty()) {
            long last = sorted.get(sorted.size() - 1).nanos();
            if (anyStart >= 0 && last - anyStart > anyLongest) {
                anyLongest = last - anyStart;
                anyLongestStart = anyStart;
            }
            if (routedStart >= 0) {
                routedLongest = Math.max(routedLongest, last - routedStart);
            }
        }
        String around = anyLongestStart < 0 ? "" : around(sorted, anyLongestStart, anyLongestStart + anyLongest);
        return new Overlap(anyLongest / 1_000_000, routedLongest / 1_000_000, proven(sorted, nodes) / 1_000_000, around);
    }

    /**
     * The longest span, in nanoseconds, in which two nodes were each inside a run of polls that all found them
     * accepting (from the run's first answer's arrival to its last poll's sending): what the polls prove.
     */
    private static long proven(List<Sample> sorted, int nodes) {
        List<Edge> edges = new ArrayList<>();
        Sample[] first = new Sample[nodes];
        Sample[] last = new Sample[nodes];
        for (Sample s : sorted) {
            int n = s.node();
            if (s.accepting()) {
                first[n] = first[n] == null ? s : first[n];
                last[n] = s;
            } else {
                run(first[n], last[n], edges);
                first[n] = null;
                last[n] = null;
            }
        }
        for (int n = 0; n < nodes; n++) {
            run(first[n], last[n], edges);
        }
        // at equal times an end comes before a start: spans that only touch do not overlap
        edges.sort((a, b) -> a.at() != b.at() ? Long.compare(a.at(), b.at()) : Integer.compare(a.delta(), b.delta()));
        int open = 0;
        long start = -1;
        long longest = 0;
        for (Edge e : edges) {
            open += e.delta();
            if (open >= 2 && start < 0) {
                start = e.at();
            } else if (open < 2 && start >= 0) {
                longest = Math.max(longest, e.at() - start);
                start = -1;
            }
        }
        return longest;
    }

    /** A proven span's start (+1) or end (-1). */
    private record Edge(long at, int delta) {}

    /** Adds the span a run of accepting polls proves, if it has one (a single poll proves only an instant). */
    private static void run(Sample first, Sample last, List<Edge> edges) {
        if (first != null && first.answered() < last.nanos()) {
            edges.add(new Edge(first.answered(), 1));
            edges.add(new Edge(last.nanos(), -1));
        }
    }

    /**
     * The polls sent from 60 ms before {@code from} to 60 ms after {@code to} (three polls of 20 ms each side),
     * times in ms from {@code from}.
     */
    private static String around(List<Sample> sorted, long from, long to) {
        long margin = 60_000_000L;
        StringBuilder b = new StringBuilder();
        for (Sample s : sorted) {
            if (s.nanos() >= from - margin && s.nanos() <= to + margin) {
                b.append(String.format(Locale.ROOT, "%n  node %d sent %+.1f answered %+.1f ms: %s, routed to %d",
                        s.node(), (s.nanos() - from) / 1e6, (s.answered() - from) / 1e6,
                        s.accepting() ? "accepting" : "not accepting", s.routedTo()));
            }
        }
        return b.toString();
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            t.interrupt();
        }
    }
}
