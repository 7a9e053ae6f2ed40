package dev.skep.chaos;

import dev.skep.redis.RespClient;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts acknowledged writes that a redis no longer holds. A {@code SET} acknowledged with {@code OK} is lost when
 * its key is absent or holds an older sequence number (each key is rewritten, see {@link Writer#KEY_SLOTS}); a counter whose value is lower than the number of acknowledged {@code INCR}s loses
 * the difference (a higher value is fine: an increment whose reply was lost may still have been applied).
 *
 * <p>Remembers what it already found lost, so that each check reports only what is newly lost since the
 * previous one: the harness checks after every round (on the master, once the hive converged) and charges
 * the new losses to that round's fault. Used by the harness's main thread only.
 */
final class LostWrites {
    private static final int BATCH = 500;

    /** What one check found: newly lost keys and increments, and how many acknowledged writes it looked at. */
    record Found(long keys, long increments, long checkedKeys, long checkedIncrements, List<String> examples) {}

    /** Per writer and key slot, the acknowledged sequence number already reported lost; -1: none. */
    private final Map<Integer, int[]> knownLostKeys = new HashMap<>();
    private final Map<String, Long> knownDeficit = new HashMap<>();

    /** Checks every write acknowledged so far against {@code redis}; the losses not seen before. */
    Found check(RespClient redis, List<Writer> writers) throws IOException {
        return check(redis, writers, true);
    }

    /** Like {@link #check(RespClient, List)}; with {@code remember} false it reports all losses and remembers nothing. */
    Found check(RespClient redis, List<Writer> writers, boolean remember) throws IOException {
        long lostKeys = 0;
        long lostIncr = 0;
        long checkedKeys = 0;
        long checkedIncr = 0;
        List<String> examples = new ArrayList<>();
        for (Writer w : writers) {
            int[] acked = w.ackedSlots();
            List<Long> incr = w.incrAcked();
            int[] known = knownLostKeys.computeIfAbsent(w.id(), k -> Writer.newSlots());
            List<Integer> batch = new ArrayList<>(BATCH);
            for (int slot = 0; slot < acked.length; slot++) {
                int seq = acked[slot];
                if (seq < 0) {
                    continue;
                }
                checkedKeys++;
                if (remember && known[slot] == seq) {
                    continue;
                }
                batch.add(seq);
                if (batch.size() == BATCH) {
                    lostKeys += missing(redis, w.id(), batch, remember ? known : null, examples);
                    batch.clear();
                }
            }
            if (!batch.isEmpty()) {
                lostKeys += missing(redis, w.id(), batch, remember ? known : null, examples);
            }
            List<String> names = new ArrayList<>();
            for (int r = 0; r < incr.size(); r++) {
                names.add(Writer.counter(w.id(), r));
            }
            List<?> values = (List<?>) redis.call(prepend("MGET", names)); // never empty: round 0 counts too
            for (int r = 0; r < incr.size(); r++) {
                long ackedCount = incr.get(r);
                checkedIncr += ackedCount;
                Object v = values.get(r);
                long value = v == null ? 0 : Long.parseLong(v.toString());
                long deficit = Math.max(0, ackedCount - value);
                String name = names.get(r);
                long before = remember ? knownDeficit.getOrDefault(name, 0L) : 0;
                if (deficit > before) {
                    lostIncr += deficit - before;
                    if (examples.size() < 5) {
                        examples.add(name + "=" + value + " after " + ackedCount + " acknowledged INCR");
                    }
                    if (remember) {
                        knownDeficit.put(name, deficit);
                    }
                }
            }
        }
        return new Found(lostKeys, lostIncr, checkedKeys, checkedIncr, examples);
    }

    private static long missing(RespClient redis, int writer, List<Integer> seqs, int[] known, List<String> examples)
            throws IOException {
        List<String> keys = new ArrayList<>(seqs.size());
        for (int seq : seqs) {
            keys.add(Writer.key(writer, seq));
        }
        List<?> values = (List<?>) redis.call(prepend("MGET", keys));
        long lost = 0;
        for (int i = 0; i < seqs.size(); i++) {
            Object v = values.get(i);
            int seq = seqs.get(i);
            if (v == null || Long.parseLong(v.toString()) < seq) {
                lost++;
                if (examples.size() < 5) {
                    examples.add(keys.get(i) + (v == null ? " absent" : "=" + v) + " after SET " + seq + " acknowledged");
                }
                if (known != null) {
                    known[seq % Writer.KEY_SLOTS] = seq;
                }
            }
        }
        return lost;
    }

    private static String[] prepend(String command, List<String> args) {
        String[] all = new String[args.size() + 1];
        all[0] = command;
        for (int i = 0; i < args.size(); i++) {
            all[i + 1] = args.get(i);
        }
        return all;
    }
}
