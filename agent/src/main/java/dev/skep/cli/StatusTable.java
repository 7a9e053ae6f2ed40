package dev.skep.cli;

import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.topology.Endpoint;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * Renders a {@link HiveStatus} as the text {@code skep status} prints: a header line, one row per member,
 * then the last events. Pure (no I/O, no clock): the time zone is a parameter so tests are stable.
 *
 * <p>With colour (a terminal), the leader's row is bold, states and health are coloured (leading green,
 * not ready and gone red, electing yellow, lagging replicas yellow); columns are aligned on the visible
 * text, so the table lines up the same with and without colour.
 */
public final class StatusTable {
    /** How many of the most recent events are shown. */
    public static final int EVENTS_SHOWN = 5;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private StatusTable() {}

    /** A replica further behind than this is shown as lagging. */
    private static final long LAGGING_BYTES = 1024 * 1024;

    /** ANSI styles, or nothing when colour is off. */
    private record Style(String code) {
        static final Style NONE = new Style("");
        static final Style BOLD = new Style("\u001b[1m");
        static final Style DIM = new Style("\u001b[2m");
        static final Style RED = new Style("\u001b[31m");
        static final Style GREEN = new Style("\u001b[32m");
        static final Style YELLOW = new Style("\u001b[33m");
        static final Style CYAN = new Style("\u001b[36m");
        static final Style GREEN_BOLD = new Style("\u001b[1;32m");

        String paint(String text, boolean colour) {
            return !colour || code.isEmpty() ? text : code + text + "\u001b[0m";
        }
    }

    /** One cell: its visible text and how it is painted. */
    private record Cell(String text, Style style) {
        static Cell of(String text) {
            return new Cell(text, Style.NONE);
        }
    }

    /** Renders {@code s} as seen from the node asked, with event times in {@code zone}, without colour. */
    public static String render(HiveStatus s, ZoneId zone) {
        return render(s, zone, false);
    }

    /** As {@link #render(HiveStatus, ZoneId)}, with ANSI colours when {@code colour}. */
    public static String render(HiveStatus s, ZoneId zone, boolean colour) {
        StringBuilder out = new StringBuilder();
        out.append("node ").append(str(s.node()))
                .append("  state ").append(orDash(s.state() == null ? null : s.state().name()))
                .append("  epoch ").append(s.epoch())
                .append("  leader ").append(str(s.leader()))
                .append("  master ").append(str(s.master()))
                .append("  ");
        if (s.ready()) {
            out.append(Style.GREEN.paint("ready", colour));
        } else {
            String reason = s.readyReason() == null || s.readyReason().isBlank() ? "no reason given" : s.readyReason();
            out.append(Style.RED.paint("NOT READY (" + reason + ")", colour));
        }
        out.append('\n');
        String versions = versions(s.members());
        if (versions.contains(",")) {
            // a rolling upgrade under way (or stuck): which member runs which version
            out.append("versions: ").append(versions).append('\n');
        }
        if (s.peerMessagesRejected() > 0) {
            out.append("peer messages rejected: ").append(s.peerMessagesRejected()).append('\n');
        }
        out.append('\n');

        List<Cell[]> rows = new ArrayList<>();
        List<Cell> header = new ArrayList<>();
        for (String h : new String[] {"NODE", "STATE", "ROLE", "REDIS", "OFFSET", "LAG", "EPOCH", "CLIENTS", "OPS/S",
                "PID", "HEARD"}) {
            header.add(new Cell(h, Style.DIM));
        }
        rows.add(header.toArray(Cell[]::new));
        for (HiveStatus.Member m : s.members()) {
            // '*' marks the leader so the eye finds it without reading the header.
            boolean leader = m.node() != null && m.node().equals(s.leader());
            rows.add(new Cell[] {
                new Cell(str(m.node()) + (leader ? " *" : ""), leader ? Style.BOLD : Style.NONE),
                new Cell(orDash(m.state() == null ? null : m.state().name()), stateStyle(m)),
                Cell.of(orDash(m.redisRole() == null ? null : m.redisRole().toLowerCase(java.util.Locale.ROOT))),
                Cell.of(str(m.redis())),
                Cell.of(Long.toString(m.replOffset())),
                m.lagBytes() < 0 ? new Cell("?", Style.DIM)
                        : new Cell(Long.toString(m.lagBytes()), m.lagBytes() > LAGGING_BYTES ? Style.YELLOW : Style.NONE),
                Cell.of(Long.toString(m.epoch())),
                m.clients() == null ? new Cell("?", Style.DIM) : Cell.of(Integer.toString(m.clients())),
                m.opsPerSec() == null ? new Cell("?", Style.DIM) : Cell.of(opsPerSec(m.opsPerSec())),
                Cell.of(m.redisProcessId() <= 0 ? "-" : Long.toString(m.redisProcessId())),
                new Cell(heard(m), m.alive() ? Style.NONE : Style.RED)
            });
        }
        appendTable(out, rows, colour);

        List<HiveEvent> events = s.events();
        if (!events.isEmpty()) {
            out.append('\n').append("last events:\n");
            for (HiveEvent e : events.subList(Math.max(0, events.size() - EVENTS_SHOWN), events.size())) {
                out.append("  ").append(TIME.format(Instant.ofEpochMilli(e.atMillis()).atZone(zone)))
                        .append("  ").append(orDash(e.node()))
                        .append("  ").append(kindStyle(e.kind()).paint(orDash(e.kind()), colour))
                        .append("  ").append(orDash(e.message()))
                        .append('\n');
            }
        }
        return out.toString();
    }

    /** The versions the live members run, each with how many run it, e.g. {@code 0.2.0 x2, 0.1.0 x1}. */
    static String versions(List<HiveStatus.Member> members) {
        java.util.Map<String, Integer> count = new java.util.LinkedHashMap<>();
        for (HiveStatus.Member m : members) {
            if (m.alive()) {
                count.merge(m.version().isEmpty() ? "older than 0.2" : m.version(), 1, Integer::sum);
            }
        }
        List<String> parts = new ArrayList<>();
        count.forEach((v, n) -> parts.add(v + " x" + n));
        return String.join(", ", parts);
    }

    private static String heard(HiveStatus.Member m) {
        if (m.self()) {
            return "self";
        }
        String ago = m.lastHeardMs() + " ms ago";
        return m.alive() ? ago : "gone (" + ago + ")";
    }

    private static Style stateStyle(HiveStatus.Member m) {
        if (!m.alive()) {
            return Style.RED;
        }
        if (m.state() == null) {
            return Style.NONE;
        }
        return switch (m.state()) {
            case LEADING -> Style.GREEN_BOLD;
            case FOLLOWING -> Style.CYAN;
            case NOT_READY -> Style.RED;
            case PROPOSING, PROMOTING -> Style.YELLOW;
            default -> Style.NONE;
        };
    }

    private static Style kindStyle(String kind) {
        return switch (orDash(kind)) {
            case "promoted", "resynced", "ready", "handed-over" -> Style.GREEN;
            case "not-ready", "stepped-down", "leader-lost", "promotion-failed", "redis-restarted",
                    "handover-abandoned", "handover-refused", "discarded" -> Style.RED;
            case "election", "handover" -> Style.YELLOW;
            default -> Style.NONE;
        };
    }

    private static String opsPerSec(double ops) {
        return ops >= 100 ? Long.toString(Math.round(ops)) : String.format(java.util.Locale.ROOT, "%.1f", ops);
    }

    /** Aligned on the visible text: escape codes take no room on a terminal. */
    private static void appendTable(StringBuilder out, List<Cell[]> rows, boolean colour) {
        int[] width = new int[rows.get(0).length];
        for (Cell[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].text().length());
            }
        }
        for (Cell[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(r[i].style().paint(r[i].text(), colour));
                if (i < r.length - 1) {
                    line.append(" ".repeat(width[i] - r[i].text().length() + 2));
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
    }

    private static String str(Endpoint e) {
        return e == null ? "-" : e.toString();
    }

    private static String orDash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }
}
