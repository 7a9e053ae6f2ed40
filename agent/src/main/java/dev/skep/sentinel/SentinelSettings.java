package dev.skep.sentinel;

import dev.skep.topology.Endpoint;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The fixed settings of one Sentinel-compatible endpoint.
 *
 * @param masterName   the only master name it answers for ({@code --master-name})
 * @param myId         its 40-hex-digit Sentinel id ({@code SENTINEL MYID})
 * @param port         the port it listens on, shown by {@code INFO}
 * @param downAfterMs  shown as {@code down-after-milliseconds}: how long the hive takes to presume a node gone
 * @param processId    this process's id, shown by {@code INFO}
 * @param startedAt    wall-clock time it started (milliseconds), for {@code INFO}'s uptime
 */
public record SentinelSettings(String masterName, String myId, int port, long downAfterMs, long processId,
                               long startedAt) {
    /** The Redis version the replies are modelled on, and that {@code HELLO} and {@code INFO} report. */
    static final String REDIS_VERSION = "7.0.15";

    public SentinelSettings {
        Objects.requireNonNull(masterName, "masterName");
        if (myId == null || myId.length() != 40) {
            throw new IllegalArgumentException("myId: '" + myId + "' (expected: 40 hex digits)");
        }
    }

    /**
     * A Sentinel id that stays the same across restarts of the agent at the same address, and differs between
     * nodes: the SHA-1 of {@code skep-sentinel <announce host>:<sentinel port>}, in hex. (Sentinel keeps its
     * id in its configuration file; an agent keeps no state on disk.)
     */
    public static String idFor(Endpoint announced) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1")
                    .digest(("skep-sentinel " + announced).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every JVM", e);
        }
    }
}
