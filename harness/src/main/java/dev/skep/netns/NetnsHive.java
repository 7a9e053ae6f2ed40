package dev.skep.netns;

import dev.skep.redis.InfoParser;
import dev.skep.redis.RedisSnapshot;
import dev.skep.topology.Endpoint;
import dev.skep.up.ChildSpec;
import dev.skep.up.LocalHive;
import dev.skep.up.Supervisor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * A hive on separate "hosts": N Linux network namespaces, each with its own address on 10.213.0.0/24 and
 * its own {@code redis-server} and agent, joined by a bridge that lives in one more "switch" namespace, plus
 * a dnsmasq in the switch that answers a headless-Service-style name ({@link #SERVICE}) with every node's
 * address, so the agents find each other with {@code --peers-dns} as in Kubernetes. The host's own network
 * namespace is not touched (unless a client leg is asked for: see {@link Options#clientLeg()}), the nodes
 * have no default route, and every name queried that is not under {@code cluster.local} is refused, so no
 * traffic leaves the namespaces this class creates.
 *
 * <p>A node is cut off with {@link #isolate} (its port on the bridge goes down: it reaches no peer, no
 * client and no DNS, and nobody reaches it) and joined again with {@link #heal}.
 *
 * <p>Root only. Names are unique per run ({@code skep-<pid>-<random>-n0}); everything created (processes,
 * namespaces with their links, {@code /etc/netns/<name>}) is removed by {@link #close()}, which also runs
 * from a JVM shutdown hook, and by {@link #start} itself when it fails half way. Only processes this class
 * started are signalled, by PID.
 *
 * <p>The network is a {@link NetnsNetwork} (namespaces, bridge, links) and the name service a {@link NetnsDns}
 * (dnsmasq); this class starts the processes in it and inspects them.
 *
 * <p>Threads: {@link #start} and {@link #close} from the owner's thread; the inspection methods
 * ({@link #redis}, {@link #sentinelMaster}, {@link #isolate}...) from any thread (each runs a short external
 * command).
 */
public final class NetnsHive implements AutoCloseable {
    /** The bridge's address, in the switch namespace: the DNS server of every node. */
    public static final String SWITCH_ADDRESS = "10.213.0.1";
    /** The address of the client leg, when there is one. */
    public static final String CLIENT_ADDRESS = "10.213.0.2";
    /** The headless-Service-style name that resolves to every node's address. */
    public static final String SERVICE = "skep-peers.default.svc.cluster.local";
    /** Ports inside each node: the agent's defaults, as in a pod. */
    public static final int REDIS_PORT = 6379;
    public static final int WRITE_PORT = 6380;
    public static final int READ_PORT = 6381;
    public static final int SENTINEL_PORT = 26379;
    public static final int PEER_PORT = 7380;
    public static final int HTTP_PORT = 8080;

    private static final Duration RESTART_DELAY = Duration.ofSeconds(1);
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);
    /** The bound on each short command (ip, redis-cli, a DNS query). */
    static final Duration CLI_BOUND = Duration.ofSeconds(5);

    /**
     * How to build the hive.
     *
     * @param nodes      number of nodes (1..50)
     * @param java       the command that runs Skep's main class: {@code java [opts] -cp <jar> dev.skep.Skep}
     * @param runDir     where data directories and logs go ({@code node-N/redis.log}, {@code node-N/agent.log})
     * @param agentFlags extra agent flags per node index (e.g. {@code --quorum majority}); may return empty
     * @param clientLeg  also join the bridge from the caller's own network namespace at {@link #CLIENT_ADDRESS},
     *                   so this JVM can connect to the nodes; only for a caller that runs in a network
     *                   namespace of its own (see {@code bench/chaos}), never from the host's
     * @param out        where lines about what is created and restarted are printed
     */
    public record Options(int nodes, List<String> java, Path runDir, IntFunction<List<String>> agentFlags,
                          boolean clientLeg, PrintStream out) {
        public Options {
            if (nodes < 1 || nodes > 50) {
                throw new IllegalArgumentException("nodes: " + nodes + " (expected: 1..50)");
            }
            java = List.copyOf(java);
            Objects.requireNonNull(runDir, "runDir");
            agentFlags = agentFlags == null ? i -> List.of() : agentFlags;
            Objects.requireNonNull(out, "out");
        }
    }

    private final Options options;
    private final NetnsNetwork network;
    private final NetnsDns dns;
    private final List<Supervisor.Child> redis = new ArrayList<>();
    private final List<Supervisor.Child> agents = new ArrayList<>();
    private final Supervisor supervisor;
    private final Thread hook;
    /** Processes started with {@link #exec}, stopped by {@link #close()}. */
    private final List<Process> execs = Collections.synchronizedList(new ArrayList<>());
    private boolean withProcesses = true;
    private boolean closed;

    private NetnsHive(Options options) {
        this.options = options;
        this.network = new NetnsNetwork(options.nodes(), options.out());
        this.dns = new NetnsDns(options.runDir(), network);
        this.supervisor = new Supervisor(options.out(), RESTART_DELAY, STOP_GRACE);
        this.hook = new Thread(this::close, "netns-hive-cleanup");
    }

    /**
     * Creates the namespaces, the bridge and dnsmasq, then starts every redis-server and agent (it does not
     * wait for a leader).
     *
     * @throws IllegalStateException when not root or a needed program is missing (the message says which and
     *                               how to install it)
     * @throws IOException           when a step fails; everything created so far is removed first
     */
    public static NetnsHive start(Options options) throws IOException {
        return start(options, true);
    }

    /**
     * Like {@link #start}, but only the network: namespaces, bridge and dnsmasq, no redis-server and no agent.
     * The caller starts its own processes in the nodes with {@link #exec} (e.g. "pods" built from Kubernetes
     * manifests) and says which nodes the Service name lists with {@link #publish}; {@link #close()} still
     * stops everything.
     */
    public static NetnsHive startNetwork(Options options) throws IOException {
        return start(options, false);
    }

    private static NetnsHive start(Options options, boolean withProcesses) throws IOException {
        requirePrerequisites();
        NetnsHive hive = new NetnsHive(options);
        hive.withProcesses = withProcesses;
        Runtime.getRuntime().addShutdownHook(hive.hook);
        try {
            hive.build();
            return hive;
        } catch (IOException | RuntimeException e) {
            hive.close();
            throw e;
        }
    }

    /** Fails with what to do when this machine cannot build the hive. */
    public static void requirePrerequisites() {
        if (!LocalHive.runningAsRoot()) {
            throw new IllegalStateException("network namespaces need root: run as root (CI does); "
                    + "these partition tests create namespaces, a bridge and dnsmasq, and cannot run otherwise");
        }
        for (String[] need : new String[][] {{"ip", "iproute2"}, {"dnsmasq", "dnsmasq-base"},
                {"redis-server", "redis-server"}, {"redis-cli", "redis-tools"}}) {
            if (LocalHive.onPath(need[0]).isEmpty() && !Files.isExecutable(Paths.get("/usr/sbin", need[0]))) {
                throw new IllegalStateException(need[0] + " not found: apt-get install -y " + need[1]);
            }
        }
    }

    private void build() throws IOException {
        Files.createDirectories(options.runDir());
        network.build(options.clientLeg());
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < options.nodes(); i++) {
            all.add(i);
        }
        dns.start(all);
        if (withProcesses) {
            startProcesses();
        }
        options.out().println("netns hive " + network.id() + ": switch " + network.switchNamespace() + " ("
                + SWITCH_ADDRESS + ", dnsmasq for " + SERVICE + "), nodes " + String.join(", ", network.nodes())
                + " at " + address(0) + ".." + address(options.nodes() - 1));
    }

    private void startProcesses() throws IOException {
        String redisServer = LocalHive.onPath("redis-server").map(Path::toString).orElse("redis-server");
        List<String> session = LocalHive.ownSession();
        for (int i = 0; i < options.nodes(); i++) {
            Path nodeDir = options.runDir().resolve("node-" + i);
            Path data = nodeDir.resolve("data");
            List<String> cmd = new ArrayList<>(session);
            cmd.addAll(List.of("ip", "netns", "exec", network.node(i), redisServer, "--port", Integer.toString(REDIS_PORT),
                    "--bind", address(i), "--protected-mode", "no", "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", data.toAbsolutePath().toString()));
            cmd.addAll(LocalHive.FENCED_AT_BIRTH);
            // emptied before every start: a restarted redis comes back empty, like a pod without a volume
            redis.add(supervisor.start(new ChildSpec("node " + i, "redis-server", cmd, nodeDir.resolve("redis.log"),
                    Map.of(), () -> LocalHive.emptyDirectory(data), "empty")));
        }
        for (int i = 0; i < options.nodes(); i++) {
            List<String> cmd = new ArrayList<>(session);
            cmd.addAll(List.of("ip", "netns", "exec", network.node(i)));
            cmd.addAll(options.java());
            cmd.addAll(List.of("agent", "--redis", address(i) + ":" + REDIS_PORT, "--bind", address(i),
                    "--announce-host", address(i), "--peers-dns", SERVICE, "--peer-port", Integer.toString(PEER_PORT),
                    "--http-port", Integer.toString(HTTP_PORT), "--proxy-port", Integer.toString(WRITE_PORT),
                    "--read-port", Integer.toString(READ_PORT), "--sentinel-port", Integer.toString(SENTINEL_PORT)));
            cmd.addAll(options.agentFlags().apply(i));
            agents.add(supervisor.start(new ChildSpec("node " + i, "agent", cmd,
                    options.runDir().resolve("node-" + i).resolve("agent.log"), LocalHive.agentEnvironment(), null, "")));
        }
    }

    /**
     * Makes the Service name ({@link #SERVICE}) resolve to exactly these nodes, as the endpoints of a headless
     * Service follow the pods that exist: the hosts file is rewritten and dnsmasq re-reads it (SIGHUP).
     * Returns once a query from the first listed node's namespace sees the change.
     */
    public synchronized void publish(List<Integer> nodes) throws IOException {
        dns.publish(nodes);
    }

    /**
     * Starts {@code command} inside node {@code i}'s namespace (see {@link #execIn}).
     */
    public Process exec(int i, List<String> command, Map<String, String> env, Path directory, Path log) throws IOException {
        return execIn(network.node(i), command, env, directory, log);
    }

    /**
     * Starts {@code command} inside namespace {@code ns} (one this hive created) with exactly {@code env} (plus
     * PATH), in {@code directory}, output appended to {@code log}. The returned process is the command itself
     * ({@code ip netns exec} execs it), so signals reach it; {@link #close()} stops it if still alive.
     */
    public Process execIn(String ns, List<String> command, Map<String, String> env, Path directory, Path log) throws IOException {
        if (!network.owns(ns)) {
            throw new IllegalArgumentException("namespace: " + ns + " (expected: one of " + network.createdList() + ")");
        }
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(directory.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().clear();
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
        pb.environment().putAll(env);
        Process p = pb.start();
        execs.add(p);
        return p;
    }

    /**
     * Adds a namespace for clients, joined to the bridge at {@link #CLIENT_ADDRESS} (like a client pod),
     * and returns its name; programs run there with {@link #execIn}. At most one per hive.
     */
    public synchronized String addClientNamespace() throws IOException {
        return network.addClientNamespace();
    }

    /** Number of nodes. */
    public int size() {
        return options.nodes();
    }

    /** Node {@code i}'s address (10.213.0.11 for node 0). */
    public static String address(int i) {
        return "10.213.0." + (11 + i);
    }

    /** Node {@code i}'s redis as the hive names it. */
    public Endpoint redisEndpoint(int i) {
        return new Endpoint(address(i), REDIS_PORT);
    }

    /** The network namespace of node {@code i}. */
    public String namespace(int i) {
        return network.node(i);
    }

    /** The index of the node whose address is {@code host}, or -1. */
    public int indexOf(String host) {
        for (int i = 0; i < options.nodes(); i++) {
            if (address(i).equals(host)) {
                return i;
            }
        }
        return -1;
    }

    /** Node {@code i}'s redis-server process (the current one: it is restarted, empty, when it dies). */
    public Supervisor.Child redisProcess(int i) {
        return redis.get(i);
    }

    /** Node {@code i}'s agent process (the current one: it is restarted when it dies). */
    public Supervisor.Child agentProcess(int i) {
        return agents.get(i);
    }

    /** The run directory (logs). */
    public Path runDir() {
        return options.runDir();
    }

    /** Cuts node {@code i} off: its port on the bridge goes down (no peer, client or DNS traffic either way). */
    public void isolate(int i) throws IOException {
        network.isolate(i);
    }

    /** Joins node {@code i} to the bridge again. */
    public void heal(int i) throws IOException {
        network.heal(i);
    }

    /** Runs {@code redis-cli} inside node {@code i}'s namespace against {@code port} of its own address. */
    public Commands.Result cli(int i, int port, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", network.node(i), "redis-cli", "-h", address(i),
                "-p", Integer.toString(port)));
        cmd.addAll(List.of(args));
        return Commands.run(cmd, CLI_BOUND);
    }

    /** Node {@code i}'s redis as INFO shows it from inside its namespace; empty when it does not answer. */
    public Optional<RedisSnapshot> redis(int i) {
        try {
            Commands.Result r = cli(i, REDIS_PORT, "INFO");
            if (!r.ok() || !r.stdout().contains("run_id:")) {
                return Optional.empty();
            }
            return Optional.of(InfoParser.parse(r.stdout()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The master node {@code i}'s agent names on its Sentinel-compatible endpoint ({@code SENTINEL
     * get-master-addr-by-name mymaster}), as a client would ask; empty when none or it does not answer.
     */
    public Optional<Endpoint> sentinelMaster(int i) {
        try {
            Commands.Result r = cli(i, SENTINEL_PORT, "SENTINEL", "get-master-addr-by-name", "mymaster");
            String[] lines = r.stdout().strip().split("\\R");
            if (!r.ok() || lines.length != 2) {
                return Optional.empty();
            }
            return Optional.of(new Endpoint(lines[0].strip(), Integer.parseInt(lines[1].strip())));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Stops every process (agents, then redis servers, then dnsmasq) and deletes every namespace (their
     * links go with them) and {@code /etc/netns} entry this hive created. Idempotent; never throws (a step
     * that fails is reported on {@code out} and the others still run).
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or will: closing twice is harmless
            }
        }
        supervisor.close();
        List<Process> started;
        synchronized (execs) {
            started = new ArrayList<>(execs);
        }
        for (Process p : started) {
            p.destroy(); // SIGTERM first: agents hand over and redis exits cleanly
        }
        for (Process p : started) {
            try {
                if (!p.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        dns.close();
        network.close();
    }

    @Override
    public String toString() {
        return "NetnsHive[" + network.id() + ", " + options.nodes() + " nodes, " + options.runDir() + "]";
    }
}
