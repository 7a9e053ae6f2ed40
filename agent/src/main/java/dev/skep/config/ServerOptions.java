package dev.skep.config;

import java.util.Locale;

/**
 * What the agent asks of its redis beyond the settings it always applies, for servers that have it (Valkey 8): both
 * off by default. Immutable; validated on construction.
 *
 * @param dualChannelReplication {@code --dual-channel-replication}: {@code CONFIG SET dual-channel-replication-enabled
 *                               yes} on the local redis (Valkey 8.0 and later: a full sync streams the RDB on a
 *                               connection of its own while the master's backlog of writes meanwhile comes over the
 *                               replication link, instead of being buffered on the master); a server without it makes
 *                               the node not ready, saying so, since the user asked for it explicitly
 * @param zone                   {@code --availability-zone}: the zone this node runs in (e.g. the Kubernetes node's
 *                               {@code topology.kubernetes.io/zone}), empty for none. Told to peers; the read port
 *                               prefers replicas in this zone; set as redis's {@code availability-zone} where the
 *                               server has it (Valkey 8.1, which gives it to clients in {@code HELLO})
 */
public record ServerOptions(boolean dualChannelReplication, String zone) {
    /** Neither: the agent leaves both to the server's defaults. */
    public static final ServerOptions NONE = new ServerOptions(false, "");

    public ServerOptions {
        zone = zone == null ? "" : zone.trim();
        // sent to peers as a string and shown in status tables; a zone label is [A-Za-z0-9._-], 63 at most
        if (zone.length() > 63 || !zone.matches("[A-Za-z0-9._-]*")) {
            throw new ConfigException("--availability-zone: '" + zone + "' (expected: a zone name such as "
                    + "eu-west-1a: letters, digits, '.', '_' and '-', 63 at most)");
        }
    }

    /** The zone, lower case, for comparing (zone names are case-insensitive in every cloud). */
    public String zoneKey() {
        return zone.toLowerCase(Locale.ROOT);
    }
}
