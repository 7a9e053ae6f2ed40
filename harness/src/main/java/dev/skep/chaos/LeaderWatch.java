package dev.skep.chaos;

import dev.skep.cli.StatusClient;
import dev.skep.http.StatusJson;
import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Counts the leaderships a hive goes through in a window: the new epochs. One thread per node polls its
 * agent's {@code GET /api/status} every {@link #PERIOD} while a window is open, and keeps every epoch above
 * the one the hive had when the window opened, from three places: the node's own {@code epoch}, the epoch
 * of each member it lists, and its {@code promoted} events ("leading epoch N"), which name even a
 * leadership too short for a poll to see. Each leadership takes a new epoch (above every epoch seen, and at
 * least the clock in milliseconds, so epochs are not consecutive: they are counted, not subtracted), so the
 * number of new epochs is the number of leader changes, whether the new leader is another node or the same
 * one elected again.
 *
 * <p>Threads: its own pollers; {@link #begin} and {@link #end} from the harness's main thread.
 */
final class LeaderWatch implements AutoCloseable {
    static final Duration PERIOD = Duration.ofMillis(100);
    private static final Duration TIMEOUT = Duration.ofMillis(500);
    private static final Pattern PROMOTED = Pattern.compile("leading epoch (\\d+)");

    /** What one node's agent said: its epoch, and every epoch it mentions. */
    record Poll(long epoch, List<Long> epochs) {}

    /**
     * A window's leader changes.
     *
     * @param epochBefore the hive's epoch when it opened (-1: no agent answered)
     * @param epochAfter  the highest epoch seen by its end (-1: unknown)
     * @param newEpochs   every epoch above {@code epochBefore} seen during it, in order
     */
    record Changes(long epochBefore, long epochAfter, List<Long> newEpochs) {
        /** New epochs, -1 when the epoch at the start is unknown. */
        long count() {
            return epochBefore < 0 ? -1 : newEpochs.size();
        }
    }

    private final ChaosHive hive;
    private final StatusClient client = new StatusClient(TIMEOUT);
    private final List<Thread> threads = new ArrayList<>();
    private final TreeSet<Long> seen = new TreeSet<>(); // guarded by itself
    private volatile boolean recording;
    private volatile boolean closed;

    LeaderWatch(ChaosHive hive) {
        this.hive = hive;
        for (int i = 0; i < hive.size(); i++) {
            int node = i;
            Thread t = new Thread(() -> loop(node), "chaos-leaders-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    /** Opens a window: asks every agent now (at most {@link #TIMEOUT} each) for the epoch to start from. */
    Snapshot begin() {
        Snapshot s = snapshot();
        synchronized (seen) {
            seen.clear();
        }
        recording = true;
        return s;
    }

    /** Closes the window {@link #begin} opened with {@code start}: asks every agent once more, and counts. */
    Changes end(Snapshot start) {
        recording = false;
        Snapshot last = snapshot();
        TreeSet<Long> all;
        synchronized (seen) {
            all = new TreeSet<>(seen);
            seen.clear();
        }
        all.addAll(last.epochs());
        return changes(start, last, all);
    }

    /** The hive's view at one moment: the highest epoch an agent has accepted (-1: none answered), every epoch mentioned. */
    record Snapshot(long epoch, List<Long> epochs) {}

    static Changes changes(Snapshot start, Snapshot last, java.util.Collection<Long> epochs) {
        List<Long> fresh = start.epoch() < 0 ? List.of()
                : epochs.stream().filter(e -> e > start.epoch()).distinct().sorted().toList();
        long after = Math.max(last.epoch(), fresh.isEmpty() ? start.epoch() : fresh.get(fresh.size() - 1));
        return new Changes(start.epoch(), after, fresh);
    }

    private Snapshot snapshot() {
        long epoch = -1;
        List<Long> epochs = new ArrayList<>();
        for (int i = 0; i < hive.size(); i++) {
            Poll p = poll(i);
            if (p == null) {
                continue;
            }
            epochs.addAll(p.epochs());
            epoch = Math.max(epoch, p.epoch());
        }
        return new Snapshot(epoch, epochs);
    }

    /** One node's agent's status, or null when it does not answer. */
    private Poll poll(int node) {
        try {
            String json = client.fetch(URI.create("http://" + hive.http(node) + "/api/status"));
            return parse(StatusJson.read(json));
        } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
            return null;
        }
    }

    static Poll parse(HiveStatus s) {
        List<Long> epochs = new ArrayList<>();
        epochs.add(s.epoch());
        for (HiveStatus.Member m : s.members()) {
            epochs.add(m.epoch());
        }
        for (HiveEvent e : s.events()) {
            if ("promoted".equals(e.kind())) {
                Matcher m = PROMOTED.matcher(e.message());
                if (m.find()) {
                    epochs.add(Long.parseLong(m.group(1)));
                }
            }
        }
        return new Poll(s.epoch(), epochs);
    }

    private void loop(int node) {
        try {
            while (!closed) {
                long start = System.nanoTime();
                if (recording) {
                    Poll p = poll(node);
                    if (p != null && recording) {
                        synchronized (seen) {
                            seen.addAll(p.epochs());
                        }
                    }
                }
                long left = PERIOD.toNanos() - (System.nanoTime() - start);
                if (left > 0) {
                    Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            t.interrupt();
        }
    }
}
