package dev.skep.app;

import dev.skep.config.AgentConfig;
import dev.skep.config.TlsConfig;
import dev.skep.lease.LeaseSettings;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.support.FreePorts;
import dev.skep.support.RedisServerFixture;
import dev.skep.support.TestCertificates;
import dev.skep.tls.TlsSettings;
import dev.skep.topology.Endpoint;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.awaitility.Awaitility.await;

/**
 * A hive for integration tests: real {@code redis-server} processes on free loopback ports, each with a
 * Skep agent ({@link SkepNode}) running in this JVM. Agents can be stopped abruptly (they say nothing to
 * their peers, as after kill -9) and started again; redis servers killed and restarted empty.
 */
final class HiveFixture implements AutoCloseable {
    static final int HEARTBEAT_MS = 100;
    static final int PEER_TIMEOUT_MS = 300;
    /** Shorter than the default 5 s, so that a test of an abandoned handover does not wait that long. */
    static final int HANDOVER_TIMEOUT_MS = 1500;

    /** One node: its redis and its agent (null while stopped). */
    static final class Node {
        final int index;
        final RedisServerFixture redis;
        final AgentConfig config;
        /** The node's TLS certificate (its redis's and its agent's); null without TLS. */
        final TestCertificates.Pair certificate;
        SkepNode agent;

        Node(int index, RedisServerFixture redis, AgentConfig config, TestCertificates.Pair certificate) {
            this.index = index;
            this.redis = redis;
            this.config = config;
            this.certificate = certificate;
        }

        HiveStatus status() {
            return agent.status();
        }

        Endpoint peer() {
            return config.self();
        }

        /** The port of this node's Sentinel-compatible endpoint. */
        int sentinelPort() {
            return config.sentinelPort();
        }

        /** What the redis says of itself: "master", "slave" (INFO replication {@code role:}). */
        String redisRole() {
            return infoField(redis.jedis().info("replication"), "role");
        }

        void stopAgent() {
            if (agent != null) {
                agent.close();
                agent = null;
            }
        }

        void startAgent() {
            agent = SkepNode.start(config);
        }

        @Override
        public String toString() {
            return "node " + index + " (peer " + config.self() + ", redis " + redis.endpoint() + ")";
        }
    }

    /** The value of {@code name:value} in INFO text, or "" when absent. */
    static String infoField(String info, String name) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).trim();
            }
        }
        return "";
    }

    final List<Node> nodes = new ArrayList<>();
    private final int firstPeerPort;
    private final String quorum;
    /** {@code --election lease}: where the Lease is; null for {@code --election peers}. */
    private final LeaseSettings lease;
    /** {@code --unknown-outcome} of the agents started from now on. */
    String unknownOutcome = "close";
    /** TLS everywhere (redis on a TLS port only, every agent port and link), with these certificates; null: none. */
    TestCertificates certs;
    /** Arguments of every redis-server started from now on (ACL users...). */
    String[] redisArgs = {};
    /** {@code --redis-password} and {@code --redis-user} of the agents started from now on. */
    String password = "";
    String redisUser = "";
    /** {@code --redis-password-file}: each node's own file (as each pod mounts the Secret), in this directory. */
    java.nio.file.Path passwordDir;
    long rotationWindowMs;
    /** How often the agents check their TLS files. */
    static final long TLS_RELOAD_MS = 100;
    /** {@code --tls-auth-clients} and {@code --tls-protocols} (empty: both versions) of the agents started from now on. */
    TlsSettings.ClientAuth tlsClientAuth = TlsSettings.ClientAuth.YES;
    List<String> tlsProtocols = List.of();
    TlsSettings.Provider tlsProvider = TlsSettings.Provider.AUTO;
    /**
     * Node {@code i}'s bind and announce address: where its agent listens, its identity among peers, and the host by
     * which the hive names its redis (its agent still reaches it at the fixture's 127.0.0.1, as a pod's sidecar does).
     */
    java.util.function.IntFunction<String> hostOf = i -> "127.0.0.1";
    /** Called with each node's redis and index once the redis runs, before its agent starts. */
    java.util.function.ObjIntConsumer<RedisServerFixture> beforeAgent = (redis, i) -> {};

    /**
     * The server each node runs, by index ({@link RedisServerFixture#startServer}); a node past its end, or null
     * there, runs the default one ({@code SKEP_SERVER_BIN}, else the PATH's redis-server).
     */
    List<java.nio.file.Path> servers = List.of();
    /** Each node's {@code --dual-channel-replication} and {@code --availability-zone}, by index. */
    java.util.function.IntFunction<dev.skep.config.ServerOptions> serverOptions = i -> dev.skep.config.ServerOptions.NONE;

    /** Ports per node: peer, admin HTTP, Sentinel endpoint. */
    private static final int PORTS_PER_NODE = 3;

    private HiveFixture(int capacity, String quorum, LeaseSettings lease) {
        this.firstPeerPort = FreePorts.freeBlock(PORTS_PER_NODE * capacity);
        this.quorum = quorum;
        this.lease = lease;
    }

    /** Starts {@code n} redis servers and agents that know each other, with no peer secret. */
    static HiveFixture start(int n) {
        return start(n, "");
    }

    static HiveFixture start(int n, String secret) {
        return start(n, secret, "none");
    }

    /** Starts {@code n} nodes with {@code --quorum quorum}. */
    static HiveFixture start(int n, String secret, String quorum) {
        return start(n, secret, quorum, null);
    }

    /** Starts {@code n} nodes with {@code --election lease} and the Lease {@code lease}. */
    static HiveFixture startWithLease(int n, LeaseSettings lease) {
        return start(n, "", "none", lease);
    }

    /**
     * Starts {@code n} nodes with TLS on everything: each redis listens only on a TLS port and replicates over TLS,
     * each agent has TLS write, read and Sentinel ports, HTTPS, and TLS to its peers, all with certificates
     * {@code certs}' CA signs.
     */
    static HiveFixture startWithTls(int n, TestCertificates certs) {
        return startWithTls(n, certs, hive -> {});
    }

    /** As {@link #startWithTls(int, TestCertificates)}, {@code setup} first setting what the nodes start with. */
    static HiveFixture startWithTls(int n, TestCertificates certs, java.util.function.Consumer<HiveFixture> setup) {
        HiveFixture hive = new HiveFixture(n + 2, "none", null);
        hive.certs = certs;
        setup.accept(hive);
        return hive.startNodes(n, "");
    }

    /**
     * Starts {@code n} nodes whose redis servers get {@code redisArgs} (ACL users, requirepass), the agents
     * authenticating with {@code password}, as {@code redisUser} (empty: redis's default user).
     */
    static HiveFixture startWithRedis(int n, String password, String redisUser, String... redisArgs) {
        HiveFixture hive = new HiveFixture(n + 2, "none", null);
        hive.redisArgs = redisArgs;
        hive.password = password;
        hive.redisUser = redisUser;
        return hive.startNodes(n, "");
    }

    /**
     * Starts {@code n} nodes whose agents read the hive password from a file of their own ({@link #passwordFile}),
     * at first {@code password}, and rotate a new one written there, the old one retired {@code windowMs} after.
     */
    static HiveFixture startWithPasswordFiles(int n, String password, java.nio.file.Path dir, long windowMs) {
        return startWithPasswordFiles(n, password, dir, windowMs, "", "--requirepass", password);
    }

    /** As above, the agents authenticating as {@code redisUser} (its password in the files), redis given {@code args}. */
    static HiveFixture startWithPasswordFiles(int n, String password, java.nio.file.Path dir, long windowMs,
            String redisUser, String... args) {
        HiveFixture hive = new HiveFixture(n + 2, "none", null);
        hive.redisArgs = args;
        hive.password = password;
        hive.redisUser = redisUser;
        hive.passwordDir = dir;
        hive.rotationWindowMs = windowMs;
        return hive.startNodes(n, "");
    }

    /** Node {@code i}'s password file (with {@link #startWithPasswordFiles}). */
    java.nio.file.Path passwordFile(int i) {
        return passwordDir.resolve("password-" + i);
    }

    /** Starts {@code n} nodes with {@code --unknown-outcome unknownOutcome}. */
    static HiveFixture startWithUnknownOutcome(int n, String unknownOutcome) {
        return start(n, "", "none", null, unknownOutcome);
    }

    /**
     * Starts one node per server of {@code servers} (a mixed fleet), one after the other: node 0 first, alone until
     * it leads, so that the first server named is the master's; then the others, which follow it.
     */
    static HiveFixture startServers(List<java.nio.file.Path> servers) {
        return startServers(servers, i -> dev.skep.config.ServerOptions.NONE);
    }

    /** As {@link #startServers(List)}, node {@code i}'s agent given {@code options.apply(i)}. */
    static HiveFixture startServers(List<java.nio.file.Path> servers,
            java.util.function.IntFunction<dev.skep.config.ServerOptions> options) {
        HiveFixture hive = new HiveFixture(servers.size() + 2, "none", null);
        hive.servers = new ArrayList<>(servers); // nulls allowed: the default server
        hive.serverOptions = options;
        try {
            List<Endpoint> peers = new ArrayList<>();
            for (int i = 0; i < servers.size(); i++) {
                peers.add(hive.peerOf(i));
            }
            Node first = hive.addNode(peers, "");
            try {
                // alone, it waits for its unheard peers before it leads (MemberView#unheardPeer: 10 s at most)
                hive.awaitLeader(Duration.ofSeconds(30));
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new IllegalStateException("node 0 (" + first.redis.version() + ") did not lead alone: "
                        + first.status(), e);
            }
            for (int i = 1; i < servers.size(); i++) {
                hive.addNode(peers, "");
            }
            return hive;
        } catch (RuntimeException e) {
            hive.close();
            throw e;
        }
    }

    private static HiveFixture start(int n, String secret, String quorum, LeaseSettings lease) {
        return start(n, secret, quorum, lease, "close");
    }

    private static HiveFixture start(int n, String secret, String quorum, LeaseSettings lease, String unknownOutcome) {
        HiveFixture hive = new HiveFixture(n + 2, quorum, lease);
        hive.unknownOutcome = unknownOutcome;
        return hive.startNodes(n, secret);
    }

    /** Starts {@code n} nodes that know each other, with {@code secret}; closes what started if one fails. */
    private HiveFixture startNodes(int n, String secret) {
        try {
            List<Endpoint> peers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                peers.add(peerOf(i));
            }
            for (int i = 0; i < n; i++) {
                addNode(peers, secret);
            }
            return this;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    Endpoint peerOf(int index) {
        return new Endpoint(hostOf.apply(index), firstPeerPort + PORTS_PER_NODE * index);
    }

    /** Adds and starts node {@code nodes.size()} with its own redis, knowing {@code peers}. */
    Node addNode(List<Endpoint> peers, String secret) {
        int index = nodes.size();
        TestCertificates.Pair pair = certs == null ? null : certs.issue("node" + index);
        java.nio.file.Path server = index < servers.size() ? servers.get(index) : null;
        RedisServerFixture redis = certs != null ? RedisServerFixture.startTls(certs, pair, redisArgs)
                : server != null ? RedisServerFixture.startServer(server, redisArgs) : RedisServerFixture.start(redisArgs);
        AgentConfig config = new AgentConfig(redis.endpoint(), password, peers, "", peerOf(index).port(),
                hostOf.apply(index), hostOf.apply(index), HEARTBEAT_MS, PEER_TIMEOUT_MS, 3, secret, peerOf(index).port() + 1,
                FreePorts.freePort(), FreePorts.freePort(), 5000, 10000, peerOf(index).port() + 2, "mymaster", 2000,
                HANDOVER_TIMEOUT_MS, quorum, 0, lease, AgentConfig.DEFAULT_SPIN_US,
                dev.skep.election.ElectionSettings.DEFAULT_BUSY_GRACE_MS, unknownOutcome).withRedisUser(redisUser);
        config = config.withServerOptions(serverOptions.apply(index));
        if (passwordDir != null) {
            try {
                java.nio.file.Files.writeString(passwordFile(index), password + "\n");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            config = config.withPasswordFile(new dev.skep.config.PasswordFile(passwordFile(index), rotationWindowMs, 100));
        }
        if (pair != null) {
            config = config.withTls(new TlsConfig(new TlsSettings(pair.cert(), pair.key(), certs.caFile(),
                    tlsClientAuth, tlsProtocols, tlsProvider, TLS_RELOAD_MS),
                    FreePorts.freePort(), FreePorts.freePort(), FreePorts.freePort(), true, TlsConfig.PeerTls.ON, true));
        }
        Node node = new Node(index, redis, config, pair);
        nodes.add(node);
        beforeAgent.accept(redis, index);
        node.startAgent();
        return node;
    }

    Node node(int i) {
        return nodes.get(i);
    }

    /** The node every running agent agrees is leading, whose redis confirms it is master; empty otherwise. */
    Optional<Node> agreedLeader() {
        return agreedLeader(null);
    }

    /** As {@link #agreedLeader()}, not asking {@code ignored} (whose agent or redis may be down) to agree. */
    Optional<Node> agreedLeader(Node ignored) {
        Node leader = null;
        for (Node n : nodes) {
            if (n != ignored && n.agent != null && n.status().state() == NodeState.LEADING) {
                if (leader != null) {
                    return Optional.empty();
                }
                leader = n;
            }
        }
        if (leader == null) {
            return Optional.empty();
        }
        for (Node n : nodes) {
            if (n != ignored && n.agent != null && !leader.peer().equals(n.status().leader())) {
                return Optional.empty();
            }
        }
        return Optional.of(leader);
    }

    /** Waits until the running agents agree on one leader (its redis a master) and returns it. */
    Node awaitLeader(Duration within) {
        return awaitLeader(null, within);
    }

    /** Waits until the agents other than {@code old} agree on a leader other than {@code old}. */
    Node awaitLeaderOtherThan(Node old, Duration within) {
        return awaitLeader(old, within);
    }

    private Node awaitLeader(Node ignored, Duration within) {
        return await().atMost(within).pollInterval(Duration.ofMillis(20))
                .until(() -> agreedLeader(ignored).filter(l -> l.redisRole().equals("master")), Optional::isPresent)
                .orElseThrow();
    }

    /**
     * Waits until every other node is ready (an in-sync replica) and {@code leader} has heard so: a handover
     * picks among the replicas its leader knows to be in sync.
     */
    void awaitReplicasInSync(Node leader) {
        await().atMost(Duration.ofSeconds(10)).until(() -> nodes.stream().filter(n -> n != leader && n.agent != null)
                .allMatch(n -> n.status().ready()));
        await().atMost(Duration.ofSeconds(5)).until(() -> leader.status().members().stream()
                .filter(m -> !m.self()).allMatch(HiveStatus.Member::linkUp));
    }

    @Override
    public void close() {
        for (Node n : nodes) {
            try {
                n.stopAgent();
            } finally {
                n.redis.close();
            }
        }
    }
}
