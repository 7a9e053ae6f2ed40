package dev.skep.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Formats the per-round lines and the table per fault kind. Pure. */
final class Report {
    private Report() {}

    static String line(RoundResult r) {
        return String.format(Locale.ROOT, "round %d %s: node %d, %s; acked %d; first write after fault %s (writers on other nodes %s); longest stall %d ms; "
                        + "errors %d%s; closed with the request not applied %d; lost %d keys + %d incr; two masters %d ms (routed %d ms, proven %d ms); converged %s; "
                        + "leader changes %s; master node %d -> %d (%s)",
                r.round(), r.kind().flag(), r.node(), r.what(), r.acks(), ms(r.firstWriteMs()), ms(r.firstWriteElsewhereMs()),
                r.longestStallMs(), r.errors(),
                r.errorKinds().isEmpty() ? "" : " " + r.errorKinds(), r.closedNotApplied(), r.lostKeys(), r.lostIncrements(), r.twoMastersMs(),
                r.twoRoutedMs(), r.twoProvenMs(), ms(r.convergedMs()), leaderChanges(r.leaders()), r.node(), r.masterAfter(),
                r.masterKept() ? "kept" : "moved");
    }

    /** "0 (epoch 4)", "1 (epoch 4 -> 5)", "2 (epoch 4 -> 6: 5, 6)", "? (no agent answered at the start)". */
    static String leaderChanges(LeaderWatch.Changes c) {
        if (c.count() < 0) {
            return "? (no agent answered at the start)";
        }
        if (c.newEpochs().isEmpty()) {
            return "0 (epoch " + c.epochBefore() + ")";
        }
        String epochs = c.newEpochs().size() > 1 || c.newEpochs().get(0) != c.epochAfter()
                ? ": " + String.join(", ", c.newEpochs().stream().map(String::valueOf).toList()) : "";
        return c.count() + " (epoch " + c.epochBefore() + " -> " + c.epochAfter() + epochs + ")";
    }

    /**
     * The line after the table for busy-redis rounds, whose target is no leader change; null when there were
     * none. Informational: it does not change the exit status.
     */
    static String busySummary(List<RoundResult> results) {
        List<RoundResult> rs = results.stream().filter(r -> r.kind() == FaultKind.BUSY_REDIS).toList();
        if (rs.isEmpty()) {
            return null;
        }
        long changes = rs.stream().mapToLong(RoundResult::leaderChanges).filter(n -> n > 0).sum();
        long unknown = rs.stream().filter(r -> r.leaderChanges() < 0).count();
        long kept = rs.stream().filter(RoundResult::masterKept).count();
        return String.format(Locale.ROOT, "busy-redis: %d leader changes in %d rounds (target 0)%s; master kept in %d of %d rounds%s",
                changes, rs.size(), unknown > 0 ? ", " + unknown + " rounds unknown" : "", kept, rs.size(),
                changes == 0 && unknown == 0 && kept == rs.size() ? ": OK" : ": a busy master lost its leadership");
    }

    static String table(List<FaultKind> kinds, List<RoundResult> results) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"fault", "rounds", "acked", "lost keys", "lost incr", "first write ms (median/max)",
                "other nodes' writers", "longest stall ms (median/max)", "errors", "closed, not applied", "two masters ms (max)", "routed (max)", "proven (max)", "converged ms (median/max)",
                "leader changes (total/max)", "master kept"});
        for (FaultKind k : kinds) {
            List<RoundResult> rs = results.stream().filter(r -> r.kind() == k).toList();
            if (rs.isEmpty()) {
                continue;
            }
            rows.add(new String[] {
                k.flag(), Integer.toString(rs.size()),
                Long.toString(rs.stream().mapToLong(RoundResult::acks).sum()),
                Long.toString(rs.stream().mapToLong(RoundResult::lostKeys).sum()),
                Long.toString(rs.stream().mapToLong(RoundResult::lostIncrements).sum()),
                medianMax(rs.stream().mapToLong(RoundResult::firstWriteMs).toArray()),
                medianMax(rs.stream().mapToLong(RoundResult::firstWriteElsewhereMs).toArray()),
                medianMax(rs.stream().mapToLong(RoundResult::longestStallMs).toArray()),
                Long.toString(rs.stream().mapToLong(RoundResult::errors).sum()),
                Long.toString(rs.stream().mapToLong(RoundResult::closedNotApplied).sum()),
                Long.toString(rs.stream().mapToLong(RoundResult::twoMastersMs).max().orElse(0)),
                Long.toString(rs.stream().mapToLong(RoundResult::twoRoutedMs).max().orElse(0)),
                Long.toString(rs.stream().mapToLong(RoundResult::twoProvenMs).max().orElse(0)),
                medianMax(rs.stream().mapToLong(RoundResult::convergedMs).toArray()),
                totalMax(rs.stream().mapToLong(RoundResult::leaderChanges).toArray()),
                rs.stream().filter(RoundResult::masterKept).count() + " of " + rs.size(),
            });
        }
        int[] width = new int[rows.get(0).length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder("|");
            for (int i = 0; i < r.length; i++) {
                line.append(' ').append(r[i]).append(" ".repeat(width[i] - r[i].length())).append(" |");
            }
            out.append(line).append('\n');
            if (r == rows.get(0)) {
                StringBuilder sep = new StringBuilder("|");
                for (int w : width) {
                    sep.append(' ').append("-".repeat(w)).append(" |");
                }
                out.append(sep).append('\n');
            }
        }
        return out.toString();
    }

    /** "median / max" of values where -1 means "never" (shown as "-" and counted as the worst). */
    static String medianMax(long[] values) {
        long[] sorted = values.clone();
        boolean never = false;
        for (int i = 0; i < sorted.length; i++) {
            if (sorted[i] < 0) {
                never = true;
                sorted[i] = Long.MAX_VALUE;
            }
        }
        java.util.Arrays.sort(sorted);
        long median = sorted[(sorted.length - 1) / 2];
        long max = sorted[sorted.length - 1];
        return show(median) + " / " + show(max) + (never ? " (some never)" : "");
    }

    /** "total / max" of counts where -1 means "unknown" (left out, and said so). */
    static String totalMax(long[] values) {
        long total = 0;
        long max = 0;
        boolean unknown = false;
        for (long v : values) {
            if (v < 0) {
                unknown = true;
            } else {
                total += v;
                max = Math.max(max, v);
            }
        }
        return total + " / " + max + (unknown ? " (some unknown)" : "");
    }

    private static String show(long v) {
        return v == Long.MAX_VALUE ? "-" : Long.toString(v);
    }

    private static String ms(long v) {
        return v < 0 ? "never" : v + " ms";
    }
}
