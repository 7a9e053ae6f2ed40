package dev.skep.redis;

/**
 * Turns the text of {@code INFO} into a {@link RedisSnapshot}. A pure function: no I/O, no state, safe from
 * any thread.
 *
 * <p>Reads the fields of the {@code server} ({@code run_id}, {@code process_id}, {@code redis_version},
 * {@code uptime_in_seconds}),
 * {@code replication} ({@code role}, {@code master_host}, {@code master_port}, {@code master_link_status},
 * {@code master_sync_in_progress}, {@code master_repl_offset}, {@code connected_slaves}, whether
 * {@code min_slaves_good_slaves} is there at all) and {@code keyspace}
 * ({@code dbN:keys=..,expires=..}, summed over all databases) sections, wherever they appear in the text; all
 * other lines are ignored. A field that is missing or not a number gets a neutral value: null for text,
 * 0 for numbers, false for flags, {@link RedisRole#UNKNOWN} for the role. Neutral values are the safe side for
 * the election: an offset of 0 never wins, 0 keys never looks like a dataset worth keeping.
 */
public final class InfoParser {
    private InfoParser() {
    }

    /** Parses the full text of INFO (or of some of its sections); lines end with CRLF (LF alone is accepted). */
    public static RedisSnapshot parse(String infoText) {
        String runId = null;
        long processId = 0;
        String version = null;
        String valkeyVersion = null;
        String role = null;
        String masterHost = null;
        int masterPort = 0;
        boolean linkUp = false;
        boolean syncInProgress = false;
        long replOffset = 0;
        long keys = 0;
        int connectedReplicas = 0;
        boolean fenced = false;
        long uptime = 0;
        String replId = "";
        String replId2 = "";

        if (infoText != null) {
            for (String raw : infoText.split("\n")) {
                String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
                if (line.isEmpty() || line.charAt(0) == '#') {
                    continue; // section headers ("# Replication") and the blank lines between sections
                }
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    continue;
                }
                String key = line.substring(0, colon);
                String value = line.substring(colon + 1);
                switch (key) {
                    case "run_id" -> runId = value;
                    case "process_id" -> processId = toLong(value);
                    case "redis_version" -> version = value;
                    case "valkey_version" -> valkeyVersion = value;
                    case "role" -> role = value;
                    // Valkey names the master "primary" in its newer texts: read either name
                    case "master_host", "primary_host" -> masterHost = value;
                    case "master_port", "primary_port" -> masterPort = (int) toLong(value);
                    case "master_link_status", "primary_link_status" -> linkUp = value.equals("up");
                    case "master_sync_in_progress", "primary_sync_in_progress" -> syncInProgress = value.equals("1");
                    case "master_repl_offset" -> replOffset = toLong(value);
                    case "connected_slaves" -> connectedReplicas = (int) toLong(value);
                    // present only while min-replicas-to-write (and min-replicas-max-lag) are set
                    case "min_slaves_good_slaves" -> fenced = true;
                    case "uptime_in_seconds" -> uptime = toLong(value);
                    case "master_replid" -> replId = value;
                    case "master_replid2" -> replId2 = value;
                    default -> {
                        if (isDbKey(key)) {
                            keys += keysOf(value);
                        }
                    }
                }
            }
        }
        return new RedisSnapshot(runId, processId, ServerVersion.describe(version, valkeyVersion), RedisRole.fromInfo(role), masterHost, masterPort,
                linkUp, syncInProgress, replOffset, keys, connectedReplicas, fenced, uptime, replId, replId2);
    }

    /** {@code db0}, {@code db15}: the keyspace lines (not {@code dbXYZ} or other fields starting with "db"). */
    private static boolean isDbKey(String key) {
        if (key.length() < 3 || !key.startsWith("db")) {
            return false;
        }
        for (int i = 2; i < key.length(); i++) {
            if (!Character.isDigit(key.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** The {@code keys=} value of {@code keys=5,expires=1,avg_ttl=0}, or 0. */
    private static long keysOf(String value) {
        for (String part : value.split(",")) {
            if (part.startsWith("keys=")) {
                return toLong(part.substring("keys=".length()));
            }
        }
        return 0;
    }

    private static long toLong(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
