package dev.skep.chaos;

import dev.skep.redis.RedisErrorReply;
import dev.skep.redis.RespClient;
import dev.skep.topology.Endpoint;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * One writer client: a connection to a write port, sending {@code SET chaos:k:<writer>:<n mod KEY_SLOTS> <n>} and
 * {@code INCR chaos:c:<writer>:<round>} alternately, one at a time, and recording every acknowledged one (a
 * {@code +OK}, an integer reply). When its connection fails it moves to the next node's write port, as a
 * client behind a Kubernetes Service would land on another pod.
 *
 * <p>Runs on a thread of its own ({@link #run}); the harness's main thread sets the round and the fault time
 * and reads the records, all under this object's lock (cheap next to a network round trip).
 */
final class Writer implements Runnable {
    private static final Duration CONNECT = Duration.ofSeconds(1);
    private static final long MAX_OPS = 50_000_000L;
    /**
     * The keys a writer cycles through: its dataset stays bounded (a long run's millions of distinct keys made
     * every full resync slower, until the hive no longer settled in the harness's time), and a slot's value, the
     * sequence number last written to it, tells whether its last acknowledged write is there.
     */
    static final int KEY_SLOTS = 40_000;

    /** What this writer saw in one round. */
    static final class RoundStats {
        long acks;
        int errors;
        /** Nanoseconds from the fault to the first acknowledged write sent after it; -1 while none. */
        long firstAckAfterFault = -1;
        /** The node whose write port this writer used when the fault hit (-1 before it). */
        int nodeAtFault = -1;
        long longestGap;
        /**
         * Connections that failed with a request whose write is not in the hive: closed between two requests
         * (a stopping agent drains its clients that way), or, in a crash, a write lost with the master.
         */
        int closedNotApplied;
        final Map<String, Integer> errorKinds = new LinkedHashMap<>();
    }

    private final int id;
    private final IntFunction<Endpoint> writePorts;
    private final int nodes;
    private final Duration readTimeout;
    private final long hardDeadline;
    /** The {@code default} user's password (redis's requirepass behind the write port); null: none. */
    private final String password;
    private int node;
    private volatile boolean stop;

    // guarded by this
    /** Per key slot, the sequence number of the last acknowledged SET to it; -1: none. */
    private final int[] ackedSlots = newSlots();
    private final List<Long> incrAcked = new ArrayList<>();
    /** Increments whose reply was lost but which the hive shows applied, per round. */
    private final List<Long> incrApplied = new ArrayList<>();
    private final List<RoundStats> rounds = new ArrayList<>();
    private int round;
    private long faultAt;
    private long lastAck;
    private boolean paused;
    private boolean idle;

    /**
     * @param readTimeout how long a request may wait for its reply: longer than the proxy's hold time (5 s)
     *                    and than a busy master's pause, so a request held or delayed ends with its reply
     */
    Writer(int id, IntFunction<Endpoint> writePorts, int nodes, Duration readTimeout, Duration maxRun) {
        this(id, writePorts, nodes, readTimeout, maxRun, null);
    }

    /** Like the other, sending {@code AUTH password} on each connection (a write port in front of a password). */
    Writer(int id, IntFunction<Endpoint> writePorts, int nodes, Duration readTimeout, Duration maxRun, String password) {
        this.password = password;
        this.id = id;
        this.writePorts = writePorts;
        this.nodes = nodes;
        this.readTimeout = readTimeout;
        this.node = id % nodes;
        this.hardDeadline = System.nanoTime() + maxRun.toNanos();
        rounds.add(new RoundStats());
        incrAcked.add(0L);
        incrApplied.add(0L);
    }

    static String key(int writer, int seq) {
        return "chaos:k:" + writer + ":" + (seq % KEY_SLOTS);
    }

    static int[] newSlots() {
        int[] slots = new int[KEY_SLOTS];
        java.util.Arrays.fill(slots, -1);
        return slots;
    }

    static String counter(int writer, int round) {
        return "chaos:c:" + writer + ":" + round;
    }

    int id() {
        return id;
    }

    /** Starts round {@code r}: its counter and its statistics. */
    synchronized void beginRound(int r) {
        while (rounds.size() <= r) {
            rounds.add(new RoundStats());
            incrAcked.add(0L);
            incrApplied.add(0L);
        }
        round = r;
        faultAt = 0;
    }

    synchronized void faultAt(long nanos) {
        faultAt = nanos;
        rounds.get(round).nodeAtFault = node;
    }

    synchronized RoundStats stats(int r) {
        return rounds.get(r);
    }

    /** Per key slot, the sequence number of the last acknowledged SET to it, -1 for none (a copy). */
    synchronized int[] ackedSlots() {
        return ackedSlots.clone();
    }

    /** Acknowledged INCRs of each round's counter so far (a copy; index = round). */
    synchronized List<Long> incrAcked() {
        return new ArrayList<>(incrAcked);
    }

    synchronized void stop() {
        stop = true;
        notifyAll();
    }

    /**
     * Holds this writer before its next request and waits (until {@code deadlineNanos}) until it has no
     * request in flight: with every writer held, what they recorded is exactly what they were told, so a check
     * that reads the hive now is exact (no increment can land between reading the record and the counter).
     *
     * @return true when the writer is idle; false when the deadline passed first (a request still in flight)
     */
    synchronized boolean hold(long deadlineNanos) throws InterruptedException {
        paused = true;
        while (!idle && !stop) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    /** Lets a held writer go on; the hold does not count as a stall. */
    synchronized void release() {
        paused = false;
        lastAck = 0;
        notifyAll();
    }

    @Override
    public void run() {
        RespClient client = client();
        int seq = 0;
        try {
            for (long op = 0; op < MAX_OPS && !stop && System.nanoTime() < hardDeadline; op++) {
                boolean set = op % 2 == 0;
                int r;
                synchronized (this) {
                    while (paused && !stop) {
                        idle = true;
                        notifyAll();
                        try {
                            wait(100);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                    idle = false;
                    r = round;
                }
                long sent = System.nanoTime();
                int n = set ? seq++ : -1;
                try {
                    if (set) {
                        Object reply = client.call("SET", key(id, n), Integer.toString(n));
                        if ("OK".equals(reply)) {
                            acked(r, sent, n, false);
                        } else {
                            error(r, "SET reply " + reply);
                        }
                    } else {
                        Object reply = client.call("INCR", counter(id, r));
                        if (reply instanceof Long) {
                            acked(r, sent, -1, true);
                        } else {
                            error(r, "INCR reply " + reply);
                        }
                    }
                } catch (RedisErrorReply e) {
                    error(r, firstWords(e.getMessage()));
                } catch (IOException e) {
                    client.close();
                    node = (node + 1) % nodes;
                    client = client();
                    pause(20); // a refused connect returns at once: do not spin through the nodes
                    Boolean applied = applied(client, set, n, r);
                    if (Boolean.FALSE.equals(applied)) {
                        closedNotApplied(r);
                    } else {
                        error(r, "connection: " + firstWords(e.getMessage()),
                                applied == null ? "outcome unknown: " + checkFailure : "applied, reply lost");
                    }
                }
            }
        } finally {
            client.close();
        }
    }

    /**
     * Whether the request whose connection failed is in the hive, asked through the new connection: true,
     * false, or null when that cannot be told now (the check failed too).
     */
    private Boolean applied(RespClient c, boolean set, int n, int r) {
        try {
            if (set) {
                Object v = c.call("GET", key(id, n));
                return v != null && Long.parseLong(v.toString()) >= n;
            }
            Object v = c.call("GET", counter(id, r));
            long value = v == null ? 0 : Long.parseLong(v.toString());
            synchronized (this) {
                if (value > incrAcked.get(r) + incrApplied.get(r)) {
                    incrApplied.set(r, incrApplied.get(r) + 1);
                    return true;
                }
                return false;
            }
        } catch (IOException | RuntimeException e) {
            checkFailure = e.toString();
            return null;
        }
    }

    private synchronized void closedNotApplied(int r) {
        rounds.get(round).closedNotApplied++;
    }

    private RespClient client() {
        return new RespClient(writePorts.apply(node), password, CONNECT, readTimeout);
    }

    private synchronized void acked(int r, long sent, int seq, boolean incr) {
        long now = System.nanoTime();
        if (seq >= 0) {
            ackedSlots[seq % KEY_SLOTS] = Math.max(ackedSlots[seq % KEY_SLOTS], seq);
        }
        if (incr) {
            incrAcked.set(r, incrAcked.get(r) + 1);
        }
        RoundStats s = rounds.get(round);
        s.acks++;
        if (lastAck != 0) {
            s.longestGap = Math.max(s.longestGap, now - lastAck);
        }
        lastAck = now;
        if (faultAt != 0 && sent >= faultAt && s.firstAckAfterFault < 0) {
            s.firstAckAfterFault = now - faultAt;
        }
    }

    /** The first errors' wall-clock times and kinds, for a timeline next to what the cluster did (at most 50). */
    private final List<String> errorLog = new ArrayList<>();

    synchronized List<String> errorLog() {
        return new ArrayList<>(errorLog);
    }

    /** Why the last check of a failed request's outcome failed (the writer's thread only). */
    private String checkFailure;

    private synchronized void error(int r, String kind) {
        error(r, kind, "");
    }

    private synchronized void error(int r, String kind, String detail) {
        if (errorLog.size() < 50) {
            errorLog.add(java.time.LocalTime.now() + " writer " + id + ": " + kind + (detail.isEmpty() ? "" : " (" + detail + ")"));
        }
        RoundStats s = rounds.get(round);
        s.errors++;
        if (s.errorKinds.size() < 8 || s.errorKinds.containsKey(kind)) {
            s.errorKinds.merge(kind, 1, Integer::sum);
        }
    }

    /** The stable part of an error: its first words (e.g. "MASTERDOWN no master", not the addresses after). */
    private static String firstWords(String message) {
        if (message == null) {
            return "?";
        }
        String[] words = message.split("\\s+");
        return String.join(" ", java.util.Arrays.copyOf(words, Math.min(words.length, 4)));
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
