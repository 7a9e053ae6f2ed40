package dev.skep.redis;

import dev.skep.config.ServerOptions;
import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The {@code CONFIG SET} pairs the agent keeps on its local redis, and how a refusal of each is taken. Apart from
 * {@link RedisController} because they are a list of reasons of their own, read by whoever asks why a redis behaves
 * as it does. Used by the controller's thread only (the redis I/O thread); the password is read when applied.
 */
final class ServerSettings {
    private static final Logger log = LoggerFactory.getLogger(ServerSettings.class);

    /** The server setting {@code --dual-channel-replication} turns on. */
    static final String DUAL_CHANNEL = "dual-channel-replication-enabled";

    private final String user;
    private final Supplier<String> password;
    private final boolean tls;
    private final ServerOptions options;

    ServerSettings(String user, Supplier<String> password, boolean tls, ServerOptions options) {
        this.user = user;
        this.password = password;
        this.tls = tls;
        this.options = options;
    }

    /**
     * The pairs, and why:
     * <ul>
     *   <li>{@code repl-diskless-sync-delay 0}: Redis 7 otherwise waits 5 s before each full sync, hoping more
     *       replicas join it; with one restarted replica that is 5 s of rejoin for nothing. It is read on the
     *       master's side, which is why every node sets it on its own redis, replica or not: any may become
     *       master.</li>
     *   <li>{@code replica-serve-stale-data yes}: a replica keeps answering reads while its link is down or a
     *       sync runs, instead of {@code -MASTERDOWN}; the proxy decides whether its lag is acceptable.</li>
     *   <li>{@code replica-read-only yes}: a client that reaches a replica directly cannot fork its data.</li>
     *   <li>{@code masterauth <password>} (when a password is set): every node shares one password, and a replica
     *       must authenticate to its master or it never syncs.</li>
     *   <li>{@code masteruser <user>} (with {@code --redis-user}): replicas authenticate to their master as the
     *       agent's ACL user, with {@code masterauth} its password.</li>
     *   <li>{@code tls-replication yes} (when the agent reaches redis over TLS): a replica connects to its master's
     *       TLS port over TLS, so the data never crosses the network in clear; redis listening only on its TLS
     *       port, the address the hive knows is that port.</li>
     *   <li>{@code dual-channel-replication-enabled yes} (with {@code --dual-channel-replication}; Valkey 8.0 and
     *       later): on every node, since it takes both sides, and any node may become master. A server without it
     *       refuses it and the node is not ready ({@link #DUAL_CHANNEL}).</li>
     *   <li>{@code availability-zone <zone>} (with {@code --availability-zone}; Valkey 8.1): the server gives it to
     *       its clients in {@code HELLO}; a server without it refuses it, which costs nothing: the agent's read port
     *       prefers its zone's replicas from what peers tell each other, not from this.</li>
     * </ul>
     */
    List<String[]> pairs() {
        List<String[]> s = new ArrayList<>();
        s.add(new String[] {"repl-diskless-sync-delay", "0"});
        s.add(new String[] {"replica-serve-stale-data", "yes"});
        s.add(new String[] {"replica-read-only", "yes"});
        String pass = password.get();
        if (!pass.isEmpty()) {
            s.add(new String[] {"masterauth", pass});
        }
        if (!user.isEmpty()) {
            s.add(new String[] {"masteruser", user});
        }
        if (tls) {
            s.add(new String[] {"tls-replication", "yes"});
        }
        if (options.dualChannelReplication()) {
            s.add(new String[] {DUAL_CHANNEL, "yes"});
        }
        if (!options.zone().isEmpty()) {
            s.add(new String[] {"availability-zone", options.zone()});
        }
        return s;
    }

    /**
     * Sets every pair on {@code redis} through {@code client}. A setting redis refuses is logged and skipped: an
     * older or restricted redis still gets the others.
     *
     * @return why the redis cannot do what the user explicitly asked ({@code --dual-channel-replication}); empty
     *         when it can
     * @throws IOException when redis cannot be reached
     */
    String apply(RespClient client, Endpoint redis) throws IOException {
        List<String> applied = new ArrayList<>();
        String refused = "";
        for (String[] setting : pairs()) {
            try {
                client.call("CONFIG", "SET", setting[0], setting[1]);
                applied.add(setting[0]);
            } catch (RedisErrorReply e) {
                if (setting[0].equals(DUAL_CHANNEL)) {
                    refused = "--dual-channel-replication: the local redis refused CONFIG SET " + DUAL_CHANNEL
                            + " yes (" + e.error() + "): only Valkey 8.0 and later have dual-channel replication; "
                            + "run such a server or leave the option off";
                    log.error("redis {}: {}", redis, refused);
                    continue;
                }
                if (setting[0].equals("availability-zone")) {
                    log.info("redis {} has no availability-zone setting (Valkey 8.1 and later): its clients are not "
                            + "told the zone; the read port still prefers replicas in zone {}", redis, options.zone());
                    continue;
                }
                // e.g. a managed redis that renames CONFIG or forbids a parameter: the rest still helps
                log.warn("redis {} refused CONFIG SET {}: {} (continuing without it)", redis, setting[0], e.error());
            }
        }
        log.info("redis {} prepared: {}", redis, applied.isEmpty() ? "no setting accepted" : String.join(", ", applied));
        return refused;
    }
}
