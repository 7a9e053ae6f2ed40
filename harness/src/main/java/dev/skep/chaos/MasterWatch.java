package dev.skep.chaos;

import dev.skep.redis.RedisErrorReply;
import dev.skep.redis.RespClient;
import dev.skep.topology.Endpoint;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

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
 * Two figures come out of a window: the longest time at least two redis servers accepted writes (any
 * client talking to them directly could have written to both), and the longest time at least two of them
 * did so while an agent routed clients to each (what write-port and Sentinel clients could hit). A freshly
 * restarted redis is a master until its agent makes it a replica: it counts in the first figure only.
 * The state between two polls is taken to be the earlier poll's, so figures are exact to about a period.
 *
 * <p>Threads: its own pollers; {@link #begin} and {@link #end} from the harness's main thread.
 */
final class MasterWatch implements AutoCloseable {
    /** One poll of one node. */
    record Sample(long nanos, int node, boolean accepting, int routedTo) {}

    /** The longest overlaps of a window, in milliseconds. */
    record Overlap(long anyMs, long routedMs) {}

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
                            samples.add(new Sample(start, node, accepting, routed));
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
                anyLongest = Math.max(anyLongest, s.nanos() - anyStart);
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
            if (anyStart >= 0) {
                anyLongest = Math.max(anyLongest, last - anyStart);
            }
            if (routedStart >= 0) {
                routedLongest = Math.max(routedLongest, last - routedStart);
            }
        }
        return new Overlap(anyLongest / 1_000_000, routedLongest / 1_000_000);
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            t.interrupt();
        }
    }
}
