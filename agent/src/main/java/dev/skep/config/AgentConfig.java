package dev.skep.config;

import dev.skep.lease.LeaseSettings;
import dev.skep.topology.Endpoint;

import java.util.List;
import java.util.Optional;

/**
 * Every setting of one agent, validated: built from flags and {@code SKEP_*} variables by the CLI, or
 * directly by tests. Immutable.
 *
 * @param redis          the local redis the agent controls
 * @param redisPassword  AUTH password for the local redis, also set as {@code masterauth}; empty for none
 * @param staticPeers    peers' peer addresses ({@code --peers}); empty when DNS is used
 * @param peersDns       name whose A records are the peers ({@code --peers-dns}); empty when not used
 * @param peerPort       port this agent listens on for peers, and the port of peers found by DNS
 * @param bindHost       local address the agent's servers listen on
 * @param announceHost   address peers and clients use to reach this node and its redis
 * @param heartbeatMs    heartbeat and probe period
 * @param peerTimeoutMs  a peer silent this long is presumed gone
 * @param redisFailures  failed probes in a row that make the node NOT_READY
 * @param peerSecret     shared secret for the HMAC on peer messages; empty for none
 * @param httpPort       admin HTTP port (/livez, /readyz, /api/status)
 * @param proxyPort      write port: every request goes to the master of the current epoch
 * @param readPort       read port: sessions spread over healthy replicas (0: none)
 * @param holdMs         how long a request through the proxy waits for a master before -MASTERDOWN
 * @param maxClients     client connections the proxy accepts on both ports together
 * @param sentinelPort   port of the Sentinel-compatible endpoint
 * @param masterName     the master name the Sentinel-compatible endpoint answers for ({@code mymaster})
 * @param maxLagMs       a replica further behind the master than this gets no reads (read port, Sentinel replicas)
 * @param handoverTimeoutMs how long a graceful handover waits for the successor to catch up before giving up
 * @param quorum         {@code none} (any node may be elected: availability first) or {@code majority} (a node
 *                       leads only while it hears a majority)
 * @param ioThreads      Netty event loops for the proxy, the Sentinel endpoint and the peer transport; 0: one per
 *                       processor
 * @param lease          {@code --election lease}: where the Lease is; null for {@code --election peers}
 * @param spinUs         how long an idle event loop polls for redis's replies before it sleeps, in microseconds
 *                       ({@code --spin-us}); 0: never
 * @param busyGraceMs    how long the local redis may be alive but unanswering (a long script, a fork) before the
 *                       node counts it as down ({@code --busy-grace-ms}); 0: busy counts as down at once
 * @param unknownOutcome what a proxy client whose request was in flight when its master went away sees
 *                       ({@code --unknown-outcome}): {@code close} (its connection closes) or {@code error} (an
 *                       error reply)
 * @param tls            where the agent speaks TLS, and with which files ({@link TlsConfig#OFF}: nowhere)
 * @param redisUser      the ACL user the agent authenticates as, with {@code redisPassword}, and replicas as
 *                       ({@code masteruser}); empty: redis's default user, {@code redisPassword} being requirepass
 * @param passwordFile   where {@code redisPassword} was read from and is rotated from; null: it is fixed
 * @param server         what the agent asks of its redis where the server has it: dual-channel replication, the
 *                       node's availability zone ({@link ServerOptions#NONE}: neither)
 * @param ioTransport    the event loops' I/O transport ({@code --io-transport}): {@code auto} (epoll where it loads,
 *                       NIO otherwise), {@code epoll}, {@code io_uring} (epoll where it is not available) or {@code nio}
 */
public record AgentConfig(
        Endpoint redis,
        String redisPassword,
        List<Endpoint> staticPeers,
        String peersDns,
        int peerPort,
        String bindHost,
        String announceHost,
        int heartbeatMs,
        int peerTimeoutMs,
        int redisFailures,
        String peerSecret,
        int httpPort,
        int proxyPort,
        int readPort,
        int holdMs,
        int maxClients,
        int sentinelPort,
        String masterName,
        int maxLagMs,
        int handoverTimeoutMs,
        String quorum,
        int ioThreads,
        LeaseSettings lease,
        int spinUs,
        long busyGraceMs,
        String unknownOutcome,
        TlsConfig tls,
        String redisUser,
        PasswordFile passwordFile,
        ServerOptions server,
        String ioTransport) {

    /** Settings with TLS off. */
    public AgentConfig(Endpoint redis, String redisPassword, List<Endpoint> staticPeers, String peersDns, int peerPort,
                       String bindHost, String announceHost, int heartbeatMs, int peerTimeoutMs, int redisFailures,
                       String peerSecret, int httpPort, int proxyPort, int readPort, int holdMs, int maxClients,
                       int sentinelPort, String masterName, int maxLagMs, int handoverTimeoutMs, String quorum,
                       int ioThreads, LeaseSettings lease, int spinUs, long busyGraceMs, String unknownOutcome) {
        this(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost, heartbeatMs, peerTimeoutMs,
                redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients, sentinelPort, masterName,
                maxLagMs, handoverTimeoutMs, quorum, ioThreads, lease, spinUs, busyGraceMs, unknownOutcome,
                TlsConfig.OFF, "", null, ServerOptions.NONE, DEFAULT_IO_TRANSPORT);
    }

    /** These settings with {@code tls}. */
    public AgentConfig withTls(TlsConfig tls) {
        return new AgentConfig(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost,
                heartbeatMs, peerTimeoutMs, redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients,
                sentinelPort, masterName, maxLagMs, handoverTimeoutMs, quorum, ioThreads, lease, spinUs, busyGraceMs,
                unknownOutcome, tls, redisUser, passwordFile, server, ioTransport);
    }

    /** These settings with the hive password read from, and rotated from, {@code file} (null: none). */
    public AgentConfig withPasswordFile(PasswordFile file) {
        return new AgentConfig(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost,
                heartbeatMs, peerTimeoutMs, redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients,
                sentinelPort, masterName, maxLagMs, handoverTimeoutMs, quorum, ioThreads, lease, spinUs, busyGraceMs,
                unknownOutcome, tls, redisUser, file, server, ioTransport);
    }

    /**
     * These settings with the agent authenticating as the ACL user {@code user} ({@code --redis-user}; empty: as
     * redis's default user, with {@code --redis-password} as requirepass).
     */
    public AgentConfig withRedisUser(String user) {
        return new AgentConfig(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost,
                heartbeatMs, peerTimeoutMs, redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients,
                sentinelPort, masterName, maxLagMs, handoverTimeoutMs, quorum, ioThreads, lease, spinUs, busyGraceMs,
                unknownOutcome, tls, user, passwordFile, server, ioTransport);
    }

    /** These settings with {@code server}'s options for the local redis (dual-channel replication, the zone). */
    public AgentConfig withServerOptions(ServerOptions server) {
        return new AgentConfig(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost,
                heartbeatMs, peerTimeoutMs, redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients,
                sentinelPort, masterName, maxLagMs, handoverTimeoutMs, quorum, ioThreads, lease, spinUs, busyGraceMs,
                unknownOutcome, tls, redisUser, passwordFile, server, ioTransport);
    }

    /**
     * These settings with the event loops on {@code transport} ({@code --io-transport}: auto, epoll, io_uring or nio).
     */
    public AgentConfig withIoTransport(String transport) {
        return new AgentConfig(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost,
                heartbeatMs, peerTimeoutMs, redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients,
                sentinelPort, masterName, maxLagMs, handoverTimeoutMs, quorum, ioThreads, lease, spinUs, busyGraceMs,
                unknownOutcome, tls, redisUser, passwordFile, server, transport);
    }

    /**
     * The default of {@code --io-transport}: epoll where it loads (NIO otherwise). io_uring measured level with it
     * at {@code -P 16} on the build machine, less CPU at {@code -P 1}, more at one client (docs/benchmarks.md,
     * "Proxy at -P 16"), and some kernels and container runtimes disable io_uring.
     */
    public static final String DEFAULT_IO_TRANSPORT = "auto";

    /** The accepted values of {@code --io-transport}. */
    public static final List<String> IO_TRANSPORTS = List.of("auto", "epoll", "io_uring", "nio");

    /** The accepted values of {@code --unknown-outcome}. */
    public static final List<String> UNKNOWN_OUTCOMES = List.of("close", "error");

    /** Settings with the default {@code --unknown-outcome close}. */
    public AgentConfig(Endpoint redis, String redisPassword, List<Endpoint> staticPeers, String peersDns, int peerPort,
                       String bindHost, String announceHost, int heartbeatMs, int peerTimeoutMs, int redisFailures,
                       String peerSecret, int httpPort, int proxyPort, int readPort, int holdMs, int maxClients,
                       int sentinelPort, String masterName, int maxLagMs, int handoverTimeoutMs, String quorum,
                       int ioThreads, LeaseSettings lease, int spinUs, long busyGraceMs) {
        this(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost, heartbeatMs, peerTimeoutMs,
                redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients, sentinelPort, masterName,
                maxLagMs, handoverTimeoutMs, quorum, ioThreads, lease, spinUs, busyGraceMs, "close");
    }

    /** Settings with the default {@code --busy-grace-ms}. */
    public AgentConfig(Endpoint redis, String redisPassword, List<Endpoint> staticPeers, String peersDns, int peerPort,
                       String bindHost, String announceHost, int heartbeatMs, int peerTimeoutMs, int redisFailures,
                       String peerSecret, int httpPort, int proxyPort, int readPort, int holdMs, int maxClients,
                       int sentinelPort, String masterName, int maxLagMs, int handoverTimeoutMs, String quorum,
                       int ioThreads, LeaseSettings lease, int spinUs) {
        this(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost, heartbeatMs, peerTimeoutMs,
                redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients, sentinelPort, masterName,
                maxLagMs, handoverTimeoutMs, quorum, ioThreads, lease, spinUs,
                dev.skep.election.ElectionSettings.DEFAULT_BUSY_GRACE_MS);
    }

    /**
     * The default of {@code --spin-us}: no polling, as HAProxy's busy-polling and Netty are off by default. It
     * saves 8 µs at one client but, on a machine whose cores are busy, costs tail latency (docs/benchmarks.md,
     * Proxy throughput).
     */
    public static final int DEFAULT_SPIN_US = 0;

    /** Settings with the default {@code --spin-us}. */
    public AgentConfig(Endpoint redis, String redisPassword, List<Endpoint> staticPeers, String peersDns, int peerPort,
                       String bindHost, String announceHost, int heartbeatMs, int peerTimeoutMs, int redisFailures,
                       String peerSecret, int httpPort, int proxyPort, int readPort, int holdMs, int maxClients,
                       int sentinelPort, String masterName, int maxLagMs, int handoverTimeoutMs, String quorum,
                       int ioThreads, LeaseSettings lease) {
        this(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost, heartbeatMs, peerTimeoutMs,
                redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients, sentinelPort, masterName,
                maxLagMs, handoverTimeoutMs, quorum, ioThreads, lease, DEFAULT_SPIN_US);
    }

    /** The accepted values of {@code --quorum}. */
    public static final List<String> QUORUMS = List.of("none", "majority");

    /** Settings with the default handover timeout (5000 ms) and {@code --quorum none}. */
    public AgentConfig(Endpoint redis, String redisPassword, List<Endpoint> staticPeers, String peersDns, int peerPort,
                       String bindHost, String announceHost, int heartbeatMs, int peerTimeoutMs, int redisFailures,
                       String peerSecret, int httpPort, int proxyPort, int readPort, int holdMs, int maxClients,
                       int sentinelPort, String masterName, int maxLagMs) {
        this(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost, heartbeatMs, peerTimeoutMs,
                redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients, sentinelPort, masterName,
                maxLagMs, 5000, "none", 0);
    }

    /** Settings with as many I/O threads as processors. */
    public AgentConfig(Endpoint redis, String redisPassword, List<Endpoint> staticPeers, String peersDns, int peerPort,
                       String bindHost, String announceHost, int heartbeatMs, int peerTimeoutMs, int redisFailures,
                       String peerSecret, int httpPort, int proxyPort, int readPort, int holdMs, int maxClients,
                       int sentinelPort, String masterName, int maxLagMs, int handoverTimeoutMs, String quorum) {
        this(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost, heartbeatMs, peerTimeoutMs,
                redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients, sentinelPort, masterName,
                maxLagMs, handoverTimeoutMs, quorum, 0, null);
    }

    /** Settings of {@code --election peers}. */
    public AgentConfig(Endpoint redis, String redisPassword, List<Endpoint> staticPeers, String peersDns, int peerPort,
                       String bindHost, String announceHost, int heartbeatMs, int peerTimeoutMs, int redisFailures,
                       String peerSecret, int httpPort, int proxyPort, int readPort, int holdMs, int maxClients,
                       int sentinelPort, String masterName, int maxLagMs, int handoverTimeoutMs, String quorum,
                       int ioThreads) {
        this(redis, redisPassword, staticPeers, peersDns, peerPort, bindHost, announceHost, heartbeatMs, peerTimeoutMs,
                redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs, maxClients, sentinelPort, masterName,
                maxLagMs, handoverTimeoutMs, quorum, ioThreads, null);
    }

    /** The accepted values of {@code --election}. */
    public static final List<String> ELECTIONS = List.of("peers", "lease");

    /**
     * The Lease settings for {@code --election election}: null for {@code peers}; validated for {@code lease}.
     *
     * @throws ConfigException naming the flag that is wrong
     */
    public static LeaseSettings lease(String election, String name, String namespace, String apiServer,
                                      int durationSeconds) {
        String e = election == null ? "" : election.trim().toLowerCase(java.util.Locale.ROOT);
        if (!ELECTIONS.contains(e)) {
            throw new ConfigException("--election: '" + election + "' (expected: peers or lease)");
        }
        if (e.equals("peers")) {
            return null;
        }
        // a DNS-1123 subdomain, as Kubernetes requires of object names
        if (name == null || !name.matches("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")) {
            throw new ConfigException("--lease-name: '" + name + "' (expected: a Kubernetes object name: lower case "
                    + "letters, digits, '-' and '.')");
        }
        if (namespace != null && !namespace.isBlank() && !namespace.trim().matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
            throw new ConfigException("--lease-namespace: '" + namespace + "' (expected: a Kubernetes namespace name)");
        }
        if (apiServer != null && !apiServer.isBlank() && !apiServer.trim().matches("https?://[^\\s/]+(/.*)?")) {
            throw new ConfigException("--kube-api: '" + apiServer + "' (expected: a URL such as https://10.0.0.1:443)");
        }
        if (durationSeconds < 1 || durationSeconds > 3600) {
            throw new ConfigException("--lease-duration-s: " + durationSeconds + " (expected: 1..3600)");
        }
        return new LeaseSettings(name, namespace, apiServer, durationSeconds);
    }

    /** {@code peers} or {@code lease}. */
    public String election() {
        return lease == null ? "peers" : "lease";
    }

    /** The Netty event loops to run: {@code --io-threads}, or one per processor when 0. */
    public int eventLoops() {
        return ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
    }

    public AgentConfig {
        staticPeers = List.copyOf(staticPeers);
        redisPassword = redisPassword == null ? "" : redisPassword;
        peersDns = peersDns == null ? "" : peersDns.trim();
        peerSecret = peerSecret == null ? "" : peerSecret;
        tls = tls == null ? TlsConfig.OFF : tls;
        server = server == null ? ServerOptions.NONE : server;
        redisUser = redisUser == null ? "" : redisUser.trim();
        if (!redisUser.isEmpty() && redisPassword.isEmpty()) {
            throw new ConfigException("--redis-user " + redisUser + " needs --redis-password (its password)");
        }
        requirePort("--peer-port", peerPort);
        requirePort("--http-port", httpPort);
        requirePort("--proxy-port", proxyPort);
        if (readPort != 0) {
            requirePort("--read-port", readPort);
        }
        if (holdMs < 0 || holdMs > 600_000) {
            throw new ConfigException("--hold-ms: " + holdMs + " (expected: 0..600000)");
        }
        if (maxLagMs < 1) {
            throw new ConfigException("--max-lag-ms: " + maxLagMs + " (expected: at least 1)");
        }
        if (handoverTimeoutMs < 100 || handoverTimeoutMs > 600_000) {
            throw new ConfigException("--handover-timeout-ms: " + handoverTimeoutMs + " (expected: 100..600000)");
        }
        quorum = quorum == null ? "" : quorum.trim().toLowerCase(java.util.Locale.ROOT);
        if (!QUORUMS.contains(quorum)) {
            throw new ConfigException("--quorum: '" + quorum + "' (expected: none or majority)");
        }
        if (ioThreads < 0 || ioThreads > 256) {
            throw new ConfigException("--io-threads: " + ioThreads + " (expected: 0..256, 0 for one per processor)");
        }
        if (spinUs < 0 || spinUs > 10_000) {
            throw new ConfigException("--spin-us: " + spinUs + " (expected: 0..10000, 0 never to poll)");
        }
        if (maxClients < 1) {
            throw new ConfigException("--max-clients: " + maxClients + " (expected: at least 1)");
        }
        requirePort("--sentinel-port", sentinelPort);
        requireMasterName(masterName);
        if (!staticPeers.isEmpty() && !peersDns.isEmpty()) {
            throw new ConfigException("--peers and --peers-dns: both set (expected: one of them)");
        }
        if (heartbeatMs < 10 || heartbeatMs > 60_000) {
            throw new ConfigException("--heartbeat-ms: " + heartbeatMs + " (expected: 10..60000)");
        }
        if (peerTimeoutMs < 2 * heartbeatMs) {
            throw new ConfigException("--peer-timeout-ms: " + peerTimeoutMs
                    + " (expected: at least twice --heartbeat-ms, " + 2 * heartbeatMs + ")");
        }
        if (lease != null && lease.durationSeconds() * 1000L < 4L * heartbeatMs) {
            throw new ConfigException("--lease-duration-s: " + lease.durationSeconds() + " (expected: at least four "
                    + "heartbeats, " + (4L * heartbeatMs + 999) / 1000 + " s with --heartbeat-ms " + heartbeatMs + ")");
        }
        if (redisFailures < 1 || redisFailures > 100) {
            throw new ConfigException("--redis-failures: " + redisFailures + " (expected: 1..100)");
        }
        if (busyGraceMs < 0 || busyGraceMs > 600_000) {
            throw new ConfigException("--busy-grace-ms: " + busyGraceMs + " (expected: 0..600000)");
        }
        ioTransport = ioTransport == null ? DEFAULT_IO_TRANSPORT : ioTransport.trim().toLowerCase(java.util.Locale.ROOT);
        if (!IO_TRANSPORTS.contains(ioTransport)) {
            throw new ConfigException("--io-transport: '" + ioTransport + "' (expected: auto, epoll, io_uring or nio)");
        }
        unknownOutcome = unknownOutcome == null ? "" : unknownOutcome.trim().toLowerCase(java.util.Locale.ROOT);
        if (!UNKNOWN_OUTCOMES.contains(unknownOutcome)) {
            throw new ConfigException("--unknown-outcome: '" + unknownOutcome + "' (expected: close or error)");
        }
        if (announceHost == null || announceHost.isBlank()) {
            throw new ConfigException("--announce-host: empty (expected: the address peers and clients reach this node at)");
        }
        if (announceHost.equals("0.0.0.0") || announceHost.equals("::")) {
            throw new ConfigException("--announce-host: " + announceHost + " (expected: an address others can connect to, not a wildcard)");
        }
    }

    /** This node's identity: the announced host and the peer port. */
    public Endpoint self() {
        return new Endpoint(announceHost, peerPort);
    }

    /** The local redis as peers and clients reach it: the announced host and the redis port. */
    public Endpoint announcedRedis() {
        return new Endpoint(announceHost, redis.port());
    }

    /** For logs and {@code --check-config}: the same settings with passwords and secrets masked. */
    public String withSecretsHidden() {
        return new AgentConfig(redis, redisPassword.isEmpty() ? "" : "***", staticPeers, peersDns, peerPort, bindHost,
                announceHost, heartbeatMs, peerTimeoutMs, redisFailures, peerSecret.isEmpty() ? "" : "***", httpPort,
                proxyPort, readPort, holdMs, maxClients, sentinelPort, masterName, maxLagMs, handoverTimeoutMs, quorum,
                ioThreads, lease, spinUs, busyGraceMs, unknownOutcome, tls, redisUser, passwordFile, server, ioTransport).toString();
    }

    public Optional<String> password() {
        return redisPassword.isEmpty() ? Optional.empty() : Optional.of(redisPassword);
    }

    /**
     * Sentinel's events separate fields with spaces ({@code +switch-master <name> <ip> <port> ...}) and clients
     * split them on spaces: a name with a space or a control character would break every client.
     */
    private static void requireMasterName(String name) {
        if (name == null || name.isEmpty()) {
            throw new ConfigException("--master-name: empty (expected: a name such as mymaster)");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= ' ' || c == 0x7f) {
                throw new ConfigException("--master-name: '" + name.replaceAll("\\p{Cntrl}", "?")
                        + "' (expected: no spaces or control characters)");
            }
        }
    }

    private static void requirePort(String flag, int port) {
        if (port < 1 || port > 65535) {
            throw new ConfigException(flag + ": " + port + " (expected: 1..65535)");
        }
    }
}
