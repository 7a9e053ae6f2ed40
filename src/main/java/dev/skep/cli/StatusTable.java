package dev.skep.cli;

import dev.skep.topology.Endpoint;
import dev.skep.topology.HiveEvent;
import dev.skep.topology.HiveStatus;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * Renders a {@link HiveStatus} as the text {@code skep status} prints: a header line, one row per member,
 * then the last events. Pure (no I/O, no clock): the time zone is a parameter so tests are stable.
 */
public final class StatusTable {
    /** How many of the most recent events are shown. */
    public static final int EVENTS_SHOWN = 5;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private StatusTable() {}

    /** Renders {@code s} as seen from the node asked, with event times in {@code zone}. */
    public static String render(HiveStatus s, ZoneId zone) {
        StringBuilder out = new StringBuilder();
        out.append("node ").append(str(s.node()))
                .append("  state ").append(orDash(s.state()))
                .append("  epoch ").append(s.epoch())
                .append("  leader ").append(str(s.leader()))
                .append("  master ").append(str(s.master()))
                .append("  ");
        if (s.ready()) {
            out.append("ready");
        } else {
            String reason = s.readyReason() == null || s.readyReason().isBlank() ? "no reason given" : s.readyReason();
            out.append("NOT READY (").append(reason).append(')');
        }
        out.append('\n');
        if (s.peerMessagesRejected() > 0) {
            out.append("peer messages rejected: ").append(s.peerMessagesRejected()).append('\n');
        }
        out.append('\n');

        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NODE", "STATE", "ROLE", "REDIS", "OFFSET", "LAG", "PID", "HEARD"});
        for (HiveStatus.Member m : s.members()) {
            // '*' marks the leader so the eye finds it without reading the header.
            String node = str(m.node()) + (m.node() != null && m.node().equals(s.leader()) ? " *" : "");
            rows.add(new String[] {
                node,
                orDash(m.state()),
                orDash(m.redisRole() == null ? null : m.redisRole().toLowerCase(java.util.Locale.ROOT)),
                str(m.redis()),
                Long.toString(m.replOffset()),
                m.lagBytes() < 0 ? "?" : Long.toString(m.lagBytes()),
                m.redisProcessId() <= 0 ? "-" : Long.toString(m.redisProcessId()),
                heard(m)
            });
        }
        appendTable(out, rows);

        List<HiveEvent> events = s.events();
        if (!events.isEmpty()) {
            out.append('\n').append("last events:\n");
            for (HiveEvent e : events.subList(Math.max(0, events.size() - EVENTS_SHOWN), events.size())) {
                out.append("  ").append(TIME.format(Instant.ofEpochMilli(e.atMillis()).atZone(zone)))
                        .append("  ").append(orDash(e.node()))
                        .append("  ").append(orDash(e.kind()))
                        .append("  ").append(orDash(e.message()))
                        .append('\n');
            }
        }
        return out.toString();
    }

    private static String heard(HiveStatus.Member m) {
        if (m.self()) {
            return "self";
        }
        String ago = m.lastHeardMs() + " ms ago";
        return m.alive() ? ago : "gone (" + ago + ")";
    }

    private static void appendTable(StringBuilder out, List<String[]> rows) {
        int[] width = new int[rows.get(0).length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(r[i]);
                if (i < r.length - 1) {
                    line.append(" ".repeat(width[i] - r[i].length() + 2));
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
