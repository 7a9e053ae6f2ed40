package dev.skep.cli;

import dev.skep.app.SkepNode;
import dev.skep.config.AgentConfig;
import dev.skep.config.ConfigException;
import dev.skep.config.PasswordFile;
import dev.skep.config.ServerOptions;
import dev.skep.logging.LogFormat;
import dev.skep.topology.Endpoint;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code skep agent}: the sidecar beside one redis-server. Every flag has a {@code SKEP_*} variable
 * behind it, so a Kubernetes manifest and a command line say the same thing.
 */
@Command(name = "agent", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run the Skep sidecar beside one redis-server: discover peers, elect a leader, "
                + "keep the local redis replicating it.")
public final class AgentCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--redis", paramLabel = "HOST:PORT", defaultValue = "${env:SKEP_REDIS:-127.0.0.1:6379}",
            converter = EndpointConverter.class, description = "The local redis. Env SKEP_REDIS. Default: ${DEFAULT-VALUE}.")
    Endpoint redis;

    @Option(names = "--redis-password", paramLabel = "PASSWORD", defaultValue = "${env:SKEP_REDIS_PASSWORD}",
            description = "AUTH password of the local redis, also set as masterauth. Env SKEP_REDIS_PASSWORD.")
    String redisPassword;

    @Option(names = "--redis-password-file", paramLabel = "FILE", defaultValue = "${env:SKEP_REDIS_PASSWORD_FILE}",
            description = "Read the password from this file instead (a mounted Secret), and rotate a new one written "
                    + "there into the hive without a restart. Env SKEP_REDIS_PASSWORD_FILE.")
    java.nio.file.Path redisPasswordFile;

    @Option(names = "--password-rotation-window-ms", paramLabel = "MS",
            defaultValue = "${env:SKEP_PASSWORD_ROTATION_WINDOW_MS:-60000}",
            description = "How long the old and the new password both work once every redis has the new one. "
                    + "Env SKEP_PASSWORD_ROTATION_WINDOW_MS. Default: ${DEFAULT-VALUE}.")
    long rotationWindowMs;

    @Option(names = "--redis-user", paramLabel = "USER", defaultValue = "${env:SKEP_REDIS_USER}",
            description = "ACL user the agent authenticates as (with --redis-password), also set as masteruser; "
                    + "clients then authenticate to redis themselves through the proxy. Env SKEP_REDIS_USER.")
    String redisUser;

    @Option(names = "--peers", paramLabel = "HOST:PORT,...", split = ",", defaultValue = "${env:SKEP_PEERS}",
            converter = EndpointConverter.class,
            description = "Peers' peer addresses (this node may be listed too). Env SKEP_PEERS.")
    List<Endpoint> peers;

    @Option(names = "--peers-dns", paramLabel = "NAME", defaultValue = "${env:SKEP_PEERS_DNS}",
            description = "A name whose A records are the peers (a Kubernetes headless Service), re-resolved "
                    + "every heartbeat. Env SKEP_PEERS_DNS.")
    String peersDns;

    @Option(names = "--peer-port", paramLabel = "PORT", defaultValue = "${env:SKEP_PEER_PORT:-7380}",
            description = "Port for peer messages; peers found by DNS use it too. Env SKEP_PEER_PORT. Default: ${DEFAULT-VALUE}.")
    int peerPort;

    @Option(names = "--bind", paramLabel = "HOST", defaultValue = "${env:SKEP_BIND:-0.0.0.0}",
            description = "Local address the agent's ports listen on. Env SKEP_BIND. Default: ${DEFAULT-VALUE}.")
    String bind;

    @Option(names = "--announce-host", paramLabel = "HOST", defaultValue = "${env:SKEP_ANNOUNCE_HOST}",
            description = "Address peers and clients reach this node and its redis at (a pod IP). "
                    + "Env SKEP_ANNOUNCE_HOST. Default: the host of --redis.")
    String announceHost;

    @Option(names = "--heartbeat-ms", paramLabel = "MS", defaultValue = "${env:SKEP_HEARTBEAT_MS:-250}",
            description = "Heartbeat and redis probe period. Env SKEP_HEARTBEAT_MS. Default: ${DEFAULT-VALUE}.")
    int heartbeatMs;

    @Option(names = "--peer-timeout-ms", paramLabel = "MS", defaultValue = "${env:SKEP_PEER_TIMEOUT_MS}",
            description = "A peer silent this long is presumed gone. Env SKEP_PEER_TIMEOUT_MS. Default: 3 heartbeats.")
    Integer peerTimeoutMs;

    @Option(names = "--redis-failures", paramLabel = "N", defaultValue = "${env:SKEP_REDIS_FAILURES:-3}",
            description = "Failed redis probes in a row that make this node not ready (a leader steps down). "
                    + "Env SKEP_REDIS_FAILURES. Default: ${DEFAULT-VALUE}.")
    int redisFailures;

    @Option(names = "--peer-secret", paramLabel = "SECRET", defaultValue = "${env:SKEP_PEER_SECRET}",
            description = "Shared secret: every peer message carries an HMAC-SHA256; others are dropped and counted. "
                    + "Env SKEP_PEER_SECRET.")
    String peerSecret;

    @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "${env:SKEP_HTTP_PORT:-8080}",
            description = "Admin HTTP port: /livez /readyz /api/status. Env SKEP_HTTP_PORT. Default: ${DEFAULT-VALUE}.")
    int httpPort;

    @Option(names = "--proxy-port", paramLabel = "PORT", defaultValue = "${env:SKEP_PROXY_PORT:-6380}",
            description = "Write port: every command goes to the current master. Env SKEP_PROXY_PORT. "
                    + "Default: ${DEFAULT-VALUE}.")
    int proxyPort;

    @Option(names = "--read-port", paramLabel = "PORT", defaultValue = "${env:SKEP_READ_PORT:-6381}",
            description = "Read port: sessions spread over healthy replicas (0: none). Env SKEP_READ_PORT. "
                    + "Default: ${DEFAULT-VALUE}.")
    int readPort;

    @Option(names = "--hold-ms", paramLabel = "MS", defaultValue = "${env:SKEP_HOLD_MS:-5000}",
            description = "How long a request waits for a master before -MASTERDOWN. Env SKEP_HOLD_MS. "
                    + "Default: ${DEFAULT-VALUE}.")
    int holdMs;

    @Option(names = "--max-lag-ms", paramLabel = "MS", defaultValue = "${env:SKEP_MAX_LAG_MS:-2000}",
            description = "A replica further behind the master than this gets no reads (read port, Sentinel replicas). "
                    + "Env SKEP_MAX_LAG_MS. Default: ${DEFAULT-VALUE}.")
    int maxLagMs;

    @Option(names = "--handover-timeout-ms", paramLabel = "MS", defaultValue = "${env:SKEP_HANDOVER_TIMEOUT_MS:-5000}",
            description = "On SIGTERM or skep failover, how long the leader waits (writes paused) for its successor "
                    + "to catch up before it gives up and resumes writes. Env SKEP_HANDOVER_TIMEOUT_MS. "
                    + "Default: ${DEFAULT-VALUE}.")
    int handoverTimeoutMs;

    @Option(names = "--quorum", paramLabel = "none|majority", defaultValue = "${env:SKEP_QUORUM:-none}",
            description = "none: any node that hears no leader may be elected (availability first); majority: a node "
                    + "leads only while it hears a majority of the hive, and the minority side of a partition has "
                    + "no master. Env SKEP_QUORUM. Default: ${DEFAULT-VALUE}.")
    String quorum;

    @Option(names = "--election", paramLabel = "peers|lease", defaultValue = "${env:SKEP_ELECTION:-peers}",
            description = "peers: the agents elect the leader among themselves (no API calls, no RBAC); lease: the "
                    + "leader also holds a Kubernetes coordination.k8s.io/v1 Lease, so the API server arbitrates and "
                    + "a node cut off from it stops leading. Env SKEP_ELECTION. Default: ${DEFAULT-VALUE}.")
    String election;

    @Option(names = "--lease-name", paramLabel = "NAME", defaultValue = "${env:SKEP_LEASE_NAME:-skep-leader}",
            description = "--election lease: the Lease's name. Env SKEP_LEASE_NAME. Default: ${DEFAULT-VALUE}.")
    String leaseName;

    @Option(names = "--lease-namespace", paramLabel = "NS", defaultValue = "${env:SKEP_LEASE_NAMESPACE:-}",
            description = "--election lease: the Lease's namespace. Env SKEP_LEASE_NAMESPACE. Default: the pod's own "
                    + "(or the kubeconfig's).")
    String leaseNamespace;

    @Option(names = "--kube-api", paramLabel = "URL", defaultValue = "${env:SKEP_KUBE_API:-}",
            description = "--election lease: the Kubernetes API server's URL. Env SKEP_KUBE_API. Default: the in-cluster "
                    + "address with the pod's service account (or the kubeconfig's).")
    String kubeApi;

    @Option(names = "--lease-duration-s", paramLabel = "S", defaultValue = "${env:SKEP_LEASE_DURATION_S:-5}",
            description = "--election lease: a leader that stops renewing the Lease without releasing it (its agent "
                    + "died, or lost the API server) is replaced this long after its last renewal. "
                    + "Env SKEP_LEASE_DURATION_S. Default: ${DEFAULT-VALUE}.")
    int leaseDurationS;

    @Option(names = "--io-threads", paramLabel = "N", defaultValue = "${env:SKEP_IO_THREADS:-0}",
            description = "Netty event loops serving the proxy, the Sentinel endpoint and peers; 0: one per processor. "
                    + "Env SKEP_IO_THREADS. Default: ${DEFAULT-VALUE}.")
    int ioThreads;

    @Option(names = "--io-transport", paramLabel = "auto|epoll|io_uring|nio",
            defaultValue = "${env:SKEP_IO_TRANSPORT:-auto}",
            description = "The event loops' I/O transport: auto (epoll where it loads, NIO otherwise), epoll, io_uring "
                    + "(Linux 5.14+; epoll where the kernel or a seccomp profile does not allow it) or nio. "
                    + "Env SKEP_IO_TRANSPORT. Default: ${DEFAULT-VALUE}.")
    String ioTransport;

    @Option(names = "--spin-us", paramLabel = "US", defaultValue = "${env:SKEP_SPIN_US:-0}",
            description = "While one request is out to redis, an idle event loop polls for the reply this long before "
                    + "it sleeps (e.g. 50): one thread wake-up less per request at low concurrency, for CPU (and tail "
                    + "latency on a machine whose cores are busy); 0: never poll. Env SKEP_SPIN_US. "
                    + "Default: ${DEFAULT-VALUE}.")
    int spinUs;

    @Option(names = "--busy-grace-ms", paramLabel = "MS", defaultValue = "${env:SKEP_BUSY_GRACE_MS:-10000}",
            description = "How long the local redis may be alive but not answering (a long script, DEBUG SLEEP, a "
                    + "fork, a flood of replies) before the node counts it as down and a leader gives up; a crashed "
                    + "or stopped redis is declared down without waiting for it. 0: busy counts as down. "
                    + "Env SKEP_BUSY_GRACE_MS. Default: ${DEFAULT-VALUE}.")
    long busyGraceMs;

    @Option(names = "--unknown-outcome", paramLabel = "close|error", defaultValue = "${env:SKEP_UNKNOWN_OUTCOME:-close}",
            description = "What a client of the write or read port sees when its request was in flight as its master "
                    + "went away (crashed, or could not be asked): close (its connection closes after the replies "
                    + "owed before it, as clients of a demoted master see under Sentinel; libraries reconnect and "
                    + "retry) or error (an error reply saying the command may or may not have run; the connection "
                    + "stays). Requests the proxy knows did not run are re-sent either way. Env SKEP_UNKNOWN_OUTCOME. "
                    + "Default: ${DEFAULT-VALUE}.")
    String unknownOutcome;

    @Option(names = "--dual-channel-replication", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
            defaultValue = "${env:SKEP_DUAL_CHANNEL_REPLICATION:-false}",
            description = "Turn on the server's dual-channel replication (CONFIG SET dual-channel-replication-enabled "
                    + "yes; Valkey 8.0 and later): a full sync sends the RDB over a connection of its own while the "
                    + "writes made meanwhile stream over the replication link, instead of piling up in the master's "
                    + "output buffer. A server without it leaves the node not ready, saying so. "
                    + "Env SKEP_DUAL_CHANNEL_REPLICATION. Default: ${DEFAULT-VALUE}.")
    boolean dualChannelReplication;

    @Option(names = "--availability-zone", paramLabel = "ZONE", defaultValue = "${env:SKEP_AVAILABILITY_ZONE:-}",
            description = "The zone this node runs in (the chart passes its Kubernetes node's "
                    + "topology.kubernetes.io/zone label): told to peers, the read port prefers replicas in this zone "
                    + "(falling back to the others), and set as the server's availability-zone where it has one "
                    + "(Valkey 8.1). Empty: none. Env SKEP_AVAILABILITY_ZONE.")
    String availabilityZone;

    @Option(names = "--max-clients", paramLabel = "N", defaultValue = "${env:SKEP_MAX_CLIENTS:-10000}",
            description = "Client connections accepted on the write and read ports together. Env SKEP_MAX_CLIENTS. "
                    + "Default: ${DEFAULT-VALUE}.")
    int maxClients;

    @Option(names = "--sentinel-port", paramLabel = "PORT", defaultValue = "${env:SKEP_SENTINEL_PORT:-26379}",
            description = "Port of the Sentinel-compatible endpoint (Sentinel-aware clients find the master there). "
                    + "Env SKEP_SENTINEL_PORT. Default: ${DEFAULT-VALUE}.")
    int sentinelPort;

    @Option(names = "--master-name", paramLabel = "NAME", defaultValue = "${env:SKEP_MASTER_NAME:-mymaster}",
            description = "The master name the Sentinel-compatible endpoint answers for. Env SKEP_MASTER_NAME. "
                    + "Default: ${DEFAULT-VALUE}.")
    String masterName;

    @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "${env:SKEP_LOG_FORMAT:-text}",
            description = "Logs as text (for people) or json (one object per line, for collectors). "
                    + "Env SKEP_LOG_FORMAT. Default: ${DEFAULT-VALUE}.")
    String logFormat;

    @CommandLine.Mixin TlsOptions tls = new TlsOptions();

    @Option(names = "--check-config", description = "Validate the settings, print them and exit.")
    boolean checkConfig;

    @Override
    public Integer call() throws Exception {
        LogFormat format = logFormat();
        AgentConfig config = config();
        if (checkConfig) {
            spec.commandLine().getOut().println("configuration ok: " + config.withSecretsHidden() + ", log format "
                    + format.name().toLowerCase(java.util.Locale.ROOT));
            return 0;
        }
        format.apply();
        quietLeakDetection();
        return SkepNode.runUntilStopped(config);
    }

    /**
     * Netty's default leak detection records a stack trace for one buffer in 128, which is every few hundred
     * proxied requests: about 2% of the proxy's CPU under load (a profile of {@code redis-benchmark} through
     * the write port). The agent turns it off unless the JVM was given a level
     * ({@code -Dio.netty.leakDetection.level=simple} brings it back). Tests, which run the proxy in their
     * own JVM, keep Netty's default and so still catch leaks.
     */
    static void quietLeakDetection() {
        if (System.getProperty("io.netty.leakDetection.level") == null
                && System.getProperty("io.netty.leakDetectionLevel") == null) {
            io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        }
    }

    /** The log format; a bad value becomes a usage error naming the flag. */
    LogFormat logFormat() {
        try {
            return LogFormat.parse(logFormat);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** Builds the validated configuration; a bad setting becomes a usage error naming the flag. */
    AgentConfig config() {
        try {
            String announce = announceHost == null || announceHost.isBlank() ? redis.host() : announceHost;
            int timeout = peerTimeoutMs == null ? 3 * heartbeatMs : peerTimeoutMs;
            PasswordFile passwordFile = null;
            if (redisPasswordFile != null) {
                if (redisPassword != null && !redisPassword.isEmpty()) {
                    throw new ConfigException("give --redis-password or --redis-password-file, not both");
                }
                try {
                    redisPassword = dev.skep.config.PasswordFiles.read(redisPasswordFile);
                } catch (java.io.IOException e) {
                    throw new ConfigException("cannot read --redis-password-file " + redisPasswordFile + ": " + e);
                }
                passwordFile = new PasswordFile(redisPasswordFile, rotationWindowMs, Math.max(100, heartbeatMs * 4L));
            }
            return new AgentConfig(redis, redisPassword, peers == null ? List.of() : peers, peersDns, peerPort,
                    bind, announce, heartbeatMs, timeout, redisFailures, peerSecret, httpPort, proxyPort, readPort, holdMs,
                    maxClients, sentinelPort, masterName, maxLagMs, handoverTimeoutMs, quorum,
                    ioThreads, AgentConfig.lease(election, leaseName, leaseNamespace, kubeApi, leaseDurationS), spinUs,
                    busyGraceMs, unknownOutcome).withTls(tls.config()).withRedisUser(redisUser)
                    .withPasswordFile(passwordFile)
                    .withServerOptions(new ServerOptions(dualChannelReplication, availabilityZone))
                    .withIoTransport(ioTransport);
        } catch (ConfigException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** picocli converter: {@code host:port}, with an error that says what was expected. */
    public static final class EndpointConverter implements CommandLine.ITypeConverter<Endpoint> {
        @Override
        public Endpoint convert(String value) {
            try {
                return Endpoint.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
