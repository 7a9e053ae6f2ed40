package dev.skep.redis;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which server a redis is, Redis or Valkey, and its version, as {@code INFO server} says ({@code valkey_version}
 * when present: Valkey also reports {@code redis_version:7.2.4} for clients); and whether one can replicate
 * another, decided by the RDB format a full sync sends: a replica loads only the formats up to its own.
 *
 * <p>Formats: Redis 7.0 writes 10, 7.2 writes 11, 7.4 and 8.x write 12; Valkey 7.2 to 8.x write 11 (Valkey 9
 * writes 80). Measured here with a full sync of each pair: Redis 7.0 to Valkey 8.1 and Valkey 8.1 to Redis 8.0
 * work; Redis 8.0 to Valkey 8.1, Valkey 8.1 to Redis 7.0 and Redis 8.0 to Redis 7.0 fail at every attempt
 * ("Failed trying to load the MASTER synchronization DB"), which is what {@link #cannotReplicateFrom} names.
 * Immutable; pure.
 *
 * @param family "redis" or "valkey"
 */
public record ServerVersion(String family, int major, int minor, int patch) {
    private static final Pattern TEXT = Pattern.compile("(redis|valkey) (\\d+)\\.(\\d+)(?:\\.(\\d+))?.*");

    /** {@code "redis 7.0.15"}, {@code "valkey 8.1.1"}: what {@link #toString} gives; empty when not of that form. */
    public static Optional<ServerVersion> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        Matcher m = TEXT.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new ServerVersion(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                m.group(4) == null ? 0 : Integer.parseInt(m.group(4))));
    }

    /** From the {@code redis_version} and {@code valkey_version} fields of INFO (either may be null). */
    public static String describe(String redisVersion, String valkeyVersion) {
        if (valkeyVersion != null && !valkeyVersion.isEmpty()) {
            return "valkey " + valkeyVersion;
        }
        return redisVersion == null || redisVersion.isEmpty() ? null : "redis " + redisVersion;
    }

    /** The RDB format this server writes in a full sync, and the newest it loads. */
    public int rdbFormat() {
        if (family.equals("valkey")) {
            return major >= 9 ? 80 : 11;
        }
        if (major > 7 || (major == 7 && minor >= 4)) {
            return 12;
        }
        if (major == 7 && minor >= 2) {
            return 11;
        }
        return major == 7 ? 10 : 9;
    }

    /**
     * Why this server, as a replica, cannot take a full sync from {@code master}; empty when it can. Either
     * version unknown (null or unparsable: an agent before the field, a server that did not say) passes: only a
     * known mismatch is refused.
     */
    public static Optional<String> cannotReplicateFrom(String replica, String master) {
        Optional<ServerVersion> r = parse(replica);
        Optional<ServerVersion> m = parse(master);
        if (r.isEmpty() || m.isEmpty() || m.get().rdbFormat() <= r.get().rdbFormat()) {
            return Optional.empty();
        }
        return Optional.of("local " + r.get() + " cannot replicate the master's " + m.get() + ": a full sync sends RDB format "
                + m.get().rdbFormat() + " and " + r.get() + " loads up to " + r.get().rdbFormat()
                + " (run the same server on every node, or upgrade the replicas first)");
    }

    @Override
    public String toString() {
        return family + " " + major + "." + minor + "." + patch;
    }
}
