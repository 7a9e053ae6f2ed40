package dev.skep.up;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The layout of a local hive on 127.0.0.1 ({@code skep up}) and the commands of its processes. Node i
 * (from 0) uses ports {@code base + 10 i} (redis), +1 (write proxy), +2 (read proxy), +3 (Sentinel
 * endpoint), +4 (peer), +5 (admin HTTP). Pure helpers, plus a few that look at the file system and
 * ports; called by the CLI's main thread (and by the supervisor's thread for {@link #emptyDirectory}).
 */
public final class LocalHive {
    /** Every node and process listens on this address only: a local hive is not reachable from outside. */
    public static final String HOST = "127.0.0.1";

    private LocalHive() {}

    /** The ports of node {@code index} of a hive whose first port is {@code base}. */
    public record NodePorts(int index, int redis, int write, int read, int sentinel, int peer, int http) {
        public static NodePorts of(int base, int index) {
            int b = base + 10 * index;
            return new NodePorts(index, b, b + 1, b + 2, b + 3, b + 4, b + 5);
        }

        /** Every port with its name, in order. */
        public Map<String, Integer> named() {
            Map<String, Integer> m = new java.util.LinkedHashMap<>();
            m.put("redis", redis);
            m.put("write proxy", write);
            m.put("read proxy", read);
            m.put("sentinel", sentinel);
            m.put("peer", peer);
            m.put("http", http);
            return m;
        }
    }

    /** The ports of all {@code nodes} nodes. */
    public static List<NodePorts> layout(int base, int nodes) {
        List<NodePorts> all = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
            all.add(NodePorts.of(base, i));
        }
        return all;
    }

    /** Ports among {@code layout} that something already listens on, as "port 7004 (node 0, peer)". */
    public static List<String> busyPorts(List<NodePorts> layout) {
        List<String> busy = new ArrayList<>();
        for (NodePorts n : layout) {
            n.named().forEach((name, port) -> {
                if (!isFree(port)) {
                    busy.add("port " + port + " (node " + n.index() + ", " + name + ")");
                }
            });
        }
        return busy;
    }

    /** True when a server socket can bind {@code 127.0.0.1:port} now. */
    public static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            // Same SO_REUSEADDR as redis and Netty use: a port in TIME_WAIT from a previous run is free for them.
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The command of node {@code n}'s redis-server: no persistence, in the foreground, loopback only, and fenced
     * from birth ({@link #FENCED_AT_BIRTH}).
     */
    public static List<String> redisCommand(String redisServer, NodePorts n, Path dataDir) {
        List<String> cmd = new ArrayList<>(List.of(redisServer,
                "--port", Integer.toString(n.redis()),
                "--bind", HOST,
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--dir", dataDir.toAbsolutePath().toString()));
        cmd.addAll(FENCED_AT_BIRTH);
        return List.copyOf(cmd);
    }

    /**
     * Arguments that start a redis-server fenced, until an agent promotes it or points it at the leader:
     * <ul>
     *   <li>a replica of nowhere ({@code --replicaof 127.0.0.1 1}, a port nothing listens on): a redis restarted
     *       empty would otherwise start as a master, and the replicas of the redis it replaces reconnect to it
     *       within a second (their replication cron) and take a full sync of its empty dataset, before any agent
     *       has seen the restart. A replica that has no link to its own master refuses to serve a sync
     *       ({@code -NOMASTERLINK}), so they keep their data; it also refuses writes ({@code -READONLY});</li>
     *   <li>{@code min-replicas-to-write} above any hive's size, for the rest of its life as a master that no agent
     *       leads: it refuses writes ({@code -NOREPLICAS}) that the hive would discard (a Sentinel-aware client
     *       still pointed at it).</li>
     * </ul>
     */
    public static final List<String> FENCED_AT_BIRTH = List.of(
            "--replicaof", dev.skep.redis.RedisController.NOWHERE.host(),
            Integer.toString(dev.skep.redis.RedisController.NOWHERE.port()),
            "--min-replicas-to-write", Integer.toString(dev.skep.redis.RedisController.FENCED_MIN_REPLICAS));

    /**
     * The command of node {@code n}'s agent: this same program in a child JVM with a small heap and the
     * serial collector (an idle agent should cost tens of MB, not a default heap sized from the machine).
     */
    public static List<String> agentCommand(List<String> javaAndClasspath, NodePorts n, List<NodePorts> all,
                                            Integer heartbeatMs, String peerSecret) {
        List<String> cmd = new ArrayList<>(javaAndClasspath);
        cmd.add("agent");
        cmd.add("--redis");
        cmd.add(HOST + ":" + n.redis());
        cmd.add("--bind");
        cmd.add(HOST);
        cmd.add("--announce-host");
        cmd.add(HOST);
        cmd.add("--peer-port");
        cmd.add(Integer.toString(n.peer()));
        cmd.add("--http-port");
        cmd.add(Integer.toString(n.http()));
        cmd.add("--proxy-port");
        cmd.add(Integer.toString(n.write()));
        cmd.add("--read-port");
        cmd.add(Integer.toString(n.read()));
        cmd.add("--sentinel-port");
        cmd.add(Integer.toString(n.sentinel()));
        cmd.add("--peers");
        cmd.add(String.join(",", all.stream().map(p -> HOST + ":" + p.peer()).toList()));
        if (heartbeatMs != null) {
            cmd.add("--heartbeat-ms");
            cmd.add(Integer.toString(heartbeatMs));
        }
        if (peerSecret != null && !peerSecret.isEmpty()) {
            cmd.add("--peer-secret");
            cmd.add(peerSecret);
        }
        return cmd;
    }

    /**
     * {@code java [opts] -cp <this program> dev.skep.Skep}: the java binary running now and the jar (or
     * class path) this class was loaded from, so the agents are exactly this build.
     */
    public static List<String> javaCommand(Class<?> mainClass) {
        String classpath = System.getProperty("java.class.path");
        try {
            Path location = Paths.get(mainClass.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(location)) {
                classpath = location.toString(); // the shaded jar holds everything
            }
        } catch (URISyntaxException | NullPointerException | SecurityException e) {
            // no code source: fall back to the class path we were started with
        }
        return javaCommand(classpath, mainClass.getName());
    }

    /**
     * {@code java [opts] -cp <classpath> <mainClass>} with the java binary running now and an agent's JVM options
     * ({@link #agentJvmOptions}): how {@code skep up} and the harnesses start an agent of any build.
     */
    public static List<String> javaCommand(String classpath, String mainClass) {
        String java = ProcessHandle.current().info().command()
                .orElse(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(agentJvmOptions(Runtime.version(), sharedArchiveBeside(classpath)));
        cmd.addAll(List.of("-cp", classpath, mainClass));
        return List.copyOf(cmd);
    }

    /**
     * An agent's JVM options, for a JVM of version {@code java} (the one running now: the children run the same
     * binary), with the class-data sharing archive {@code archive} (null: none). Measured with
     * {@code bench/footprint.sh} (docs/benchmarks.md): an idle agent's CPU and resident memory is mostly the JVM's
     * own, not Skep's. Why each:
     * <ul>
     *   <li>{@code -Xms8m -Xmx128m}: the heap starts small and grows when needed; the bound also bounds the proxy's
     *       held replies (ProxySettings);</li>
     *   <li>{@code -XX:+UseSerialGC}: no GC threads, the smallest footprint; the agent's heap is small;</li>
     *   <li>{@code -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1}: the C1 compiler only, on one thread. C2 kept
     *       compiling the agent's idle paths for minutes after start (idle: 0.9 % of a core with C1 only, 1.5 % with
     *       C2) and its arenas held megabytes. It costs the proxy throughput under heavy pipelining (fewer SETs and
     *       GETs at {@code -c 50 -P 16}), which a local hive's mostly idle agents, sharing one machine, can spare;
     *       the chart keeps C2 (docs/kubernetes.md);</li>
     *   <li>{@code -Xss512k}: thread stacks (few threads, shallow stacks);</li>
     *   <li>{@code -XX:-UsePerfData}: no hsperfdata file and no sampling of it every 50 ms ({@code jcmd PID} still
     *       attaches; {@code jps} no longer lists the agent);</li>
     *   <li>{@code -XX:TrimNativeHeapInterval=5000} (Java 17.0.9 and later): gives the C library's freed memory
     *       back to the system every 5 s; without it an agent kept about 20 MiB of freed native memory;</li>
     *   <li>{@code -XX:SharedArchiveFile} (when the build made {@code skep.jsa} beside the jar): the classes an
     *       agent loads at start, parsed and verified at build time, mapped instead of loaded; a JVM that cannot
     *       use the archive (another build) ignores it ({@code -Xshare:auto}, the default) and starts as without.</li>
     * </ul>
     * {@code MALLOC_ARENA_MAX=2} is in the environment ({@link #agentEnvironment}).
     */
    public static List<String> agentJvmOptions(Runtime.Version java, Path archive) {
        List<String> opts = new ArrayList<>(List.of("-Xms8m", "-Xmx128m", "-Xss512k", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:-UsePerfData"));
        if (java.feature() > 17 || (java.feature() == 17 && java.update() >= 9)) {
            opts.add("-XX:TrimNativeHeapInterval=5000");
        }
        if (archive != null) {
            opts.add("-XX:SharedArchiveFile=" + archive);
            // a JVM that cannot map it says so at warning level on stdout: the agent starts anyway, as without it
            opts.add("-Xlog:cds=off");
            opts.add("-Xlog:cds+dynamic=off");
        }
        return List.copyOf(opts);
    }

    /** {@code skep.jsa} beside the jar {@code classpath} names (the build writes it there), or null. */
    static Path sharedArchiveBeside(String classpath) {
        if (classpath.contains(File.pathSeparator) || !classpath.endsWith(".jar")) {
            return null;
        }
        Path archive = Paths.get(classpath).toAbsolutePath().resolveSibling(SHARED_ARCHIVE);
        return Files.isRegularFile(archive) ? archive : null;
    }

    /** The class-data sharing archive's file name, beside the jar (agent/target/, /opt/skep/ in the image). */
    public static final String SHARED_ARCHIVE = "skep.jsa";

    /**
     * The environment changes for child agents: every {@code SKEP_*} variable of this shell is removed,
     * because the agents get all their settings as flags, and a stray {@code SKEP_PEERS_DNS} or
     * {@code SKEP_REDIS_PASSWORD} would otherwise change or break the local hive. {@code SKEP_LOG_LEVEL} is
     * kept: it changes only how much the agents log, which is what someone who sets it wants. {@code
     * MALLOC_ARENA_MAX} is set to 2 (see {@link #agentJvmOptions}).
     */
    public static Map<String, String> agentEnvironment() {
        Map<String, String> env = new HashMap<>();
        System.getenv().keySet().stream().filter(k -> k.startsWith("SKEP_") && !k.equals("SKEP_LOG_LEVEL")).forEach(k -> env.put(k, null));
        // two malloc arenas rather than one per thread that ever allocated (8 per core): less native memory held
        env.put("MALLOC_ARENA_MAX", "2");
        return env;
    }

    /** Finds an executable {@code name} on the PATH. */
    public static Optional<Path> onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Paths.get(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * The command prefix that puts a child in a session of its own ({@code setsid}), or nothing when
     * {@code setsid} is missing. Why: Ctrl-C in a terminal signals the whole foreground process group; in
     * their own sessions the children are signaled only by {@code skep up}, in order (agents, then redis).
     * setsid execs in place (a child of the JVM is not a group leader), so the PID stays the program's.
     */
    public static List<String> ownSession() {
        return onPath("setsid").map(p -> List.of(p.toString())).orElse(List.of());
    }

    /** Deletes everything inside {@code dir} (and creates it if missing): a fresh, empty volume. */
    public static void emptyDirectory(Path dir) {
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> walk = Files.walk(dir)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        if (!p.equals(dir)) {
                            Files.delete(p);
                        }
                    }
                }
            }
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot empty " + dir + ": " + e.getMessage(), e);
        }
    }

    /** True when uid of this process is 0 (read from /proc: the JDK has no portable getuid). */
    public static boolean runningAsRoot() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.substring(4).trim().split("\\s+")[0].equals("0");
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return "root".equals(System.getProperty("user.name"));
    }
}
