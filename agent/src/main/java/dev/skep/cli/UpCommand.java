package dev.skep.cli;

import dev.skep.Skep;
import dev.skep.http.AdminHttpServer;
import dev.skep.http.StatusJson;
import dev.skep.status.HiveStatus;
import dev.skep.up.ChildSpec;
import dev.skep.up.LocalHive;
import dev.skep.up.LocalHive.NodePorts;
import dev.skep.up.Supervisor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code skep up}: a local hive of N redis-servers and N agents on 127.0.0.1, supervised like Kubernetes
 * would (see {@link Supervisor}), until Ctrl-C or SIGTERM. Runs on the CLI's main thread, which blocks
 * once the hive is up; a JVM shutdown hook stops everything.
 */
@Command(name = "up", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run a local hive on 127.0.0.1: N redis-servers and N agents, restarted when they die, "
                + "stopped with Ctrl-C.")
public final class UpCommand implements Callable<Integer> {
    private static final Duration LEADER_DEADLINE = Duration.ofSeconds(30);
    private static final Duration RESTART_DELAY = Duration.ofSeconds(1);
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--nodes", paramLabel = "N", defaultValue = "3",
            description = "Number of nodes. Default: ${DEFAULT-VALUE}.")
    int nodes;

    @Option(names = "--base-port", paramLabel = "B", defaultValue = "7000",
            description = "Node i uses ports B+10i (redis), +1 (write proxy), +2 (read proxy), +3 (Sentinel), "
                    + "+4 (peer), +5 (HTTP). Default: ${DEFAULT-VALUE}.")
    int basePort;

    @Option(names = "--heartbeat-ms", paramLabel = "MS",
            description = "Passed to every agent (default: the agent's own).")
    Integer heartbeatMs;

    @Option(names = "--peer-secret", paramLabel = "SECRET",
            description = "Passed to every agent: peer messages are authenticated with it.")
    String peerSecret;

    @Option(names = "--agent-arg", paramLabel = "ARG",
            description = "Passed to every agent after skep up's own arguments; repeat it for each word "
                    + "(--agent-arg=--quorum --agent-arg=majority). Not one skep up sets itself (--redis, --peers, "
                    + "the ports, --heartbeat-ms, --peer-secret): the agent would refuse the duplicate.")
    List<String> agentArgs = new ArrayList<>();

    @Option(names = "--redis-arg", paramLabel = "ARG",
            description = "Passed to every redis-server after skep up's own arguments; repeat it for each word "
                    + "(--redis-arg=--enable-debug-command --redis-arg=yes).")
    List<String> redisArgs = new ArrayList<>();

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Run directory for data and logs. Default: a new directory under the system temp dir.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        // System streams, not picocli's writers: the supervisor and the shutdown hook print too, on other threads.
        PrintStream out = System.out;
        PrintStream err = System.err;
        if (nodes < 1 || nodes > 100) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--nodes: " + nodes + " (expected: 1..100)");
        }
        if (basePort < 1 || basePort + 10 * (nodes - 1) + 5 > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--base-port: " + basePort
                    + " (expected: 1.." + (65535 - 10 * (nodes - 1) - 5) + " for " + nodes + " nodes)");
        }

        Optional<Path> redisServer = findOrInstallRedis(out, err);
        if (redisServer.isEmpty()) {
            return 1;
        }

        List<NodePorts> layout = LocalHive.layout(basePort, nodes);
        List<String> busy = LocalHive.busyPorts(layout);
        if (!busy.isEmpty()) {
            err.println("cannot start: already in use on " + LocalHive.HOST + ": " + String.join(", ", busy)
                    + " (another `skep up`? choose another --base-port)");
            return 1;
        }

        Path runDir = dir != null ? dir.toAbsolutePath()
                : Paths.get(System.getProperty("java.io.tmpdir"), "skep-up-" + basePort + "-" + ProcessHandle.current().pid());
        Files.createDirectories(runDir);
        out.println("run dir: " + runDir);

        Supervisor supervisor = new Supervisor(out, RESTART_DELAY, STOP_GRACE);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            out.println("stopping: agents first, then redis servers...");
            supervisor.close();
            out.println("stopped; logs are in " + runDir);
            stopped.countDown();
        }, "skep-up-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        try {
            List<String> session = LocalHive.ownSession();
            for (NodePorts n : layout) {
                Path nodeDir = runDir.resolve("node-" + n.index());
                Path data = nodeDir.resolve("data");
                List<String> cmd = new ArrayList<>(session);
                cmd.addAll(LocalHive.redisCommand(redisServer.get().toString(), n, data));
                cmd.addAll(redisArgs);
                // Emptying the data dir before every start is what makes a restart empty: a replica's full
                // sync leaves a dump.rdb there that redis would otherwise load.
                Supervisor.Child c = supervisor.start(new ChildSpec("node " + n.index(), "redis-server", cmd,
                        nodeDir.resolve("redis.log"), Map.of(), () -> LocalHive.emptyDirectory(data), "empty"));
                out.println("node " + n.index() + ": redis-server " + LocalHive.HOST + ":" + n.redis()
                        + " started (pid " + c.pid() + ")");
            }
            for (NodePorts n : layout) {
                awaitListening(n.redis(), Duration.ofSeconds(10), "node " + n.index() + " redis-server", runDir);
            }
            List<String> java = LocalHive.javaCommand(Skep.class);
            Map<String, String> env = new HashMap<>(LocalHive.agentEnvironment());
            for (NodePorts n : layout) {
                List<String> cmd = new ArrayList<>(session);
                cmd.addAll(LocalHive.agentCommand(java, n, layout, heartbeatMs, peerSecret));
                cmd.addAll(agentArgs);
                Supervisor.Child c = supervisor.start(new ChildSpec("node " + n.index(), "agent", cmd,
                        runDir.resolve("node-" + n.index()).resolve("agent.log"), env, null, ""));
                out.println("node " + n.index() + ": agent started (pid " + c.pid() + "), peer " + LocalHive.HOST
                        + ":" + n.peer() + ", http " + LocalHive.HOST + ":" + n.http());
            }

            out.println("waiting for a leader...");
            Map<Integer, HiveStatus> statuses = awaitMaster(layout);
            if (statuses == null) {
                err.println("no master after " + LEADER_DEADLINE.toSeconds() + " s; logs: " + runDir
                        + "/node-*/agent.log and redis.log. Stopping everything.");
                removeHook(hook);
                supervisor.close();
                return 1;
            }
            out.print(table(layout, statuses, supervisor, runDir));
            out.println("hint: skep status --http " + LocalHive.HOST + ":" + layout.get(0).http()
                    + "    (Ctrl-C stops the hive)");
        } catch (IOException | RuntimeException e) {
            err.println("cannot start the hive: " + e.getMessage() + "; logs: " + runDir + ". Stopping everything.");
            removeHook(hook);
            supervisor.close();
            return 1;
        }
        // Runs until a signal: the shutdown hook stops the children; the JVM exits when the hook returns.
        stopped.await();
        return 0;
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // already shutting down: the hook runs anyway, and closing twice is harmless
        }
    }

    /** redis-server on the PATH, installing it with apt-get when missing and root; empty (and said why) otherwise. */
    private Optional<Path> findOrInstallRedis(PrintStream out, PrintStream err) throws IOException, InterruptedException {
        Optional<Path> found = LocalHive.onPath("redis-server");
        if (found.isPresent()) {
            return found;
        }
        if (!LocalHive.runningAsRoot()) {
            err.println("redis-server is not installed: run 'sudo apt-get install -y redis-server' and try again");
            return Optional.empty();
        }
        out.println("redis-server is not installed: installing it with apt-get (running as root)...");
        for (List<String> cmd : List.of(List.of("apt-get", "update"), List.of("apt-get", "install", "-y", "redis-server"))) {
            out.println("$ " + String.join(" ", cmd));
            ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
            pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
            int code = pb.start().waitFor();
            if (code != 0) {
                err.println("'" + String.join(" ", cmd) + "' failed with exit code " + code
                        + ": install redis-server yourself and try again");
                return Optional.empty();
            }
        }
        found = LocalHive.onPath("redis-server");
        if (found.isEmpty()) {
            err.println("redis-server is still not on the PATH after apt-get install");
        }
        return found;
    }

    private static void awaitListening(int port, Duration bound, String what, Path runDir) throws IOException {
        long deadline = System.nanoTime() + bound.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(LocalHive.HOST, port), 200);
                return;
            } catch (IOException e) {
                last = e;
                pause(50);
            }
        }
        throw new IOException(what + " does not accept connections on port " + port + " after "
                + bound.toSeconds() + " s (" + (last == null ? "?" : last.getMessage()) + ")");
    }

    /** Polls every node's status until each reports a master; null after the deadline. */
    private static Map<Integer, HiveStatus> awaitMaster(List<NodePorts> layout) {
        StatusClient client = new StatusClient(Duration.ofMillis(500));
        long deadline = System.nanoTime() + LEADER_DEADLINE.toNanos();
        while (System.nanoTime() < deadline) {
            Map<Integer, HiveStatus> statuses = new HashMap<>();
            for (NodePorts n : layout) {
                try {
                    // asked as a peer asks: this is no operator's view, which would set every agent polling its
                    // peers' traffic for a while (TrafficWatch)
                    HiveStatus s = StatusJson.read(client.fetch(java.net.URI.create(
                            StatusClient.statusUri(LocalHive.HOST + ":" + n.http()) + "?" + AdminHttpServer.PEER_POLL_QUERY)));
                    if (s.master() != null) {
                        statuses.put(n.index(), s);
                    }
                } catch (IOException | RuntimeException e) {
                    // not up yet: asked again next round
                }
            }
            if (statuses.size() == layout.size()) {
                return statuses;
            }
            pause(200);
        }
        return null;
    }

    private static String table(List<NodePorts> layout, Map<Integer, HiveStatus> statuses, Supervisor supervisor,
                                Path runDir) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NODE", "ROLE", "REDIS", "WRITE", "READ", "SENTINEL", "PEER", "HTTP"});
        for (NodePorts n : layout) {
            HiveStatus s = statuses.get(n.index());
            String role = s.members().stream().filter(HiveStatus.Member::self).findFirst()
                    .map(m -> m.state() + (m.redisRole() == null ? "" : " (" + m.redisRole().toLowerCase(java.util.Locale.ROOT) + ")"))
                    .orElse(String.valueOf(s.state()));
            rows.add(new String[] {
                Integer.toString(n.index()), role,
                Integer.toString(n.redis()),
                String.valueOf(n.write()), String.valueOf(n.read()), Integer.toString(n.sentinel()),
                Integer.toString(n.peer()), Integer.toString(n.http())
            });
        }
        StringBuilder out = new StringBuilder("\n");
        int[] width = new int[rows.get(0).length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(r[i]).append(" ".repeat(width[i] - r[i].length() + 2));
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        out.append("\nall on ").append(LocalHive.HOST).append("; master ").append(statuses.get(0).master())
                .append(", epoch ").append(statuses.get(0).epoch()).append('\n');
        out.append("processes:");
        for (Supervisor.Child c : supervisor.children()) {
            out.append(' ').append(c.spec().node().replace("node ", "n")).append('/').append(c.spec().kind())
                    .append("=").append(c.pid());
        }
        out.append('\n');
        out.append("run dir ").append(runDir).append(" (node-N/redis.log, node-N/agent.log)\n");
        return out.toString();
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
