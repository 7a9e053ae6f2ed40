package dev.skep.sentinel;

import dev.skep.resp.RespWriter;
import dev.skep.sentinel.SentinelView.Instance;

import java.util.List;
import java.util.Locale;

/**
 * The replies that describe the monitored master, its replicas and this endpoint, field for field as Redis
 * Sentinel 7.0 writes them ({@code addReplySentinelRedisInstance}, {@code sentinelInfoCommand},
 * {@code sentinelConfigGetCommand}). Pure.
 *
 * <p>Values with no meaning in Skep are Sentinel's defaults: no pending commands, one link, a quorum of 1
 * (every Skep node decides on its own, with no quorum), {@code failover-timeout} 180000, {@code parallel-syncs}
 * 1, {@code slave-priority} 100. No other Sentinels are listed: peers do not tell each other their Sentinel
 * ports, and clients use the list they were given.
 */
final class SentinelReplies {
    private static final int QUORUM = 1;
    private static final long FAILOVER_TIMEOUT_MS = 180_000;
    private static final int PARALLEL_SYNCS = 1;
    private static final int SLAVE_PRIORITY = 100;
    /** Sentinel's global settings that {@code SENTINEL CONFIG GET} reports, with Sentinel's defaults. */
    private static final List<String[]> CONFIG = List.of(
            new String[] {"resolve-hostnames", "no"},
            new String[] {"announce-hostnames", "no"},
            new String[] {"announce-ip", ""},
            new String[] {"announce-port", "0"},
            new String[] {"sentinel-user", ""},
            new String[] {"sentinel-pass", ""});

    private SentinelReplies() {}

    /** {@code SENTINEL MASTER}: the master as a map (a flat array in RESP2). */
    static void master(RespWriter r, SentinelSettings settings, SentinelView view, long now) {
        Instance m = view.master();
        r.array(2 * (m.down() ? 21 : 20));
        r.field("name", settings.masterName());
        common(r, m, "master", settings, now);
        r.field("config-epoch", view.epoch());
        r.field("num-slaves", view.replicas().size());
        r.field("num-other-sentinels", 0);
        r.field("quorum", QUORUM);
        r.field("failover-timeout", FAILOVER_TIMEOUT_MS);
        r.field("parallel-syncs", PARALLEL_SYNCS);
    }

    /** {@code SENTINEL REPLICAS}: an array of replica maps. */
    static void replicas(RespWriter r, SentinelSettings settings, SentinelView view, long now) {
        Instance master = view.master();
        r.array(view.replicas().size());
        for (Instance s : view.replicas()) {
            r.array(2 * (s.down() ? 22 : 21));
            r.field("name", s.address().toString());
            common(r, s, "slave", settings, now);
            r.field("master-link-down-time", 0); // Sentinel reads it from the replica's INFO; not reported by agents
            r.field("master-link-status", s.down() ? "err" : "ok");
            r.field("master-host", s.down() ? "?" : master.address().host());
            r.field("master-port", s.down() ? 0 : master.address().port());
            r.field("slave-priority", SLAVE_PRIORITY);
            r.field("slave-repl-offset", s.offset());
            r.field("replica-announced", 1);
        }
    }

    /** The fields every instance has, from {@code ip} to {@code role-reported-time}. */
    private static void common(RespWriter r, Instance i, String role, SentinelSettings settings, long now) {
        long sinceOk = Math.max(0, now - i.lastOkAt());
        r.field("ip", i.address().host());
        r.field("port", i.address().port());
        r.field("runid", i.runId());
        r.field("flags", i.flags(role));
        r.field("link-pending-commands", 0);
        r.field("link-refcount", 1);
        // a down instance has a ping pending since its last good answer
        r.field("last-ping-sent", i.down() ? sinceOk : 0);
        r.field("last-ok-ping-reply", sinceOk);
        r.field("last-ping-reply", sinceOk);
        if (i.down()) {
            r.field("s-down-time", Math.max(0, now - i.downSince()));
        }
        r.field("down-after-milliseconds", settings.downAfterMs());
        r.field("info-refresh", sinceOk);
        r.field("role-reported", i.roleReported());
        r.field("role-reported-time", Math.max(0, now - i.roleSince()));
    }

    /** {@code SENTINEL CKQUORUM}: this node alone is enough, since Skep decides without a quorum. */
    static void ckquorum(RespWriter r) {
        r.simple("OK 1 usable Sentinels. Quorum and failover authorization can be reached");
    }

    /** {@code SENTINEL CONFIG GET <pattern>}: the matching settings (case-insensitive glob), as a map. */
    static void configGet(RespWriter r, String pattern) {
        String p = pattern.toLowerCase(Locale.ROOT);
        List<String[]> matching = CONFIG.stream().filter(c -> Glob.matches(p, c[0])).toList();
        r.array(2 * matching.size());
        for (String[] c : matching) {
            r.field(c[0], c[1]);
        }
    }

    /**
     * {@code INFO [section ...]}: the sections of Sentinel's INFO that mean something here (server, clients,
     * sentinel); with no section, or {@code all}, {@code default}, {@code everything}, all three. Unknown
     * sections are left out, so {@code INFO nope} is an empty string, as on Sentinel.
     */
    static void info(RespWriter r, List<String> sections, SentinelSettings settings, SentinelView view, long now,
                     int connectedClients) {
        boolean all = sections.isEmpty();
        boolean server = false;
        boolean clients = false;
        boolean sentinel = false;
        for (String s : sections) {
            switch (s.toLowerCase(Locale.ROOT)) {
                case "all", "default", "everything" -> all = true;
                case "server" -> server = true;
                case "clients" -> clients = true;
                case "sentinel" -> sentinel = true;
                default -> { } // a section Sentinel has but Skep does not (cpu, stats), or none at all
            }
        }
        StringBuilder info = new StringBuilder();
        if (all || server) {
            long uptime = Math.max(0, now - settings.startedAt()) / 1000;
            section(info, "Server")
                    .append("redis_version:").append(SentinelSettings.REDIS_VERSION).append("\r\n")
                    .append("redis_mode:sentinel\r\n")
                    .append("process_id:").append(settings.processId()).append("\r\n")
                    .append("run_id:").append(settings.myId()).append("\r\n")
                    .append("tcp_port:").append(settings.port()).append("\r\n")
                    .append("uptime_in_seconds:").append(uptime).append("\r\n")
                    .append("uptime_in_days:").append(uptime / 86_400).append("\r\n");
        }
        if (all || clients) {
            section(info, "Clients").append("connected_clients:").append(connectedClients).append("\r\n");
        }
        if (all || sentinel) {
            section(info, "Sentinel")
                    .append("sentinel_masters:").append(view.knowsMaster() ? 1 : 0).append("\r\n")
                    .append("sentinel_tilt:0\r\n")
                    .append("sentinel_tilt_since_seconds:-1\r\n")
                    .append("sentinel_running_scripts:0\r\n")
                    .append("sentinel_scripts_queue_length:0\r\n")
                    .append("sentinel_simulate_failure_flags:0\r\n");
            Instance m = view.master();
            if (m != null) {
                info.append("master0:name=").append(settings.masterName())
                        .append(",status=").append(m.down() ? "sdown" : "ok")
                        .append(",address=").append(m.address())
                        .append(",slaves=").append(view.replicas().size())
                        .append(",sentinels=1\r\n");
            }
        }
        r.bulk(info.toString());
    }

    /** Starts a section; sections after the first are separated by an empty line, as in Redis. */
    private static StringBuilder section(StringBuilder info, String name) {
        if (info.length() > 0) {
            info.append("\r\n");
        }
        return info.append("# ").append(name).append("\r\n");
    }
}
