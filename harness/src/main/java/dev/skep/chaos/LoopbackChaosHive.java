package dev.skep.chaos;

import dev.skep.topology.Endpoint;
import dev.skep.up.ChildSpec;
import dev.skep.up.LocalHive;
import dev.skep.up.LocalHive.NodePorts;
import dev.skep.up.Supervisor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The {@code skep up} hive on 127.0.0.1 (same layout, same commands, same supervision: a dead redis comes back
 * empty after 1 s, a dead agent comes back after 1 s), started by the harness itself so that it holds every
 * process. No partitions: loopback cannot be cut for one node.
 */
final class LoopbackChaosHive implements ChaosHive {
    private final List<NodePorts> layout;
    private final Supervisor supervisor;
    private final List<Supervisor.Child> redis = new ArrayList<>();
    private final List<Supervisor.Child> agents = new ArrayList<>();
    private final Path runDir;

    private LoopbackChaosHive(List<NodePorts> layout, Supervisor supervisor, Path runDir) {
        this.layout = layout;
        this.supervisor = supervisor;
        this.runDir = runDir;
    }

    static LoopbackChaosHive start(int nodes, int basePort, List<String> java, List<String> agentArgs, Path runDir,
                                   PrintStream out) throws IOException {
        return start(nodes, basePort, i -> java, agentArgs, runDir, out);
    }

    /** A hive whose node {@code i} runs its agent with {@code java.apply(i)} (mixed versions: each its own jar). */
    static LoopbackChaosHive start(int nodes, int basePort, IntFunction<List<String>> java, List<String> agentArgs,
                                   Path runDir, PrintStream out) throws IOException {
        List<NodePorts> layout = LocalHive.layout(basePort, nodes);
        List<String> busy = LocalHive.busyPorts(layout);
        if (!busy.isEmpty()) {
            throw new IOException("already in use on 127.0.0.1: " + String.join(", ", busy) + " (choose another --base-port)");
        }
        String redisServer = LocalHive.onPath("redis-server").map(Path::toString)
                .orElseThrow(() -> new IOException("redis-server not found: apt-get install -y redis-server"));
        LoopbackChaosHive hive = new LoopbackChaosHive(layout, new Supervisor(out, Duration.ofSeconds(1), Duration.ofSeconds(5)), runDir);
        try {
            List<String> session = LocalHive.ownSession();
            for (NodePorts n : layout) {
                Path data = runDir.resolve("node-" + n.index()).resolve("data");
                List<String> cmd = new ArrayList<>(session);
                cmd.addAll(LocalHive.redisCommand(redisServer, n, data));
                hive.redis.add(hive.supervisor.start(new ChildSpec("node " + n.index(), "redis-server", cmd,
                        runDir.resolve("node-" + n.index()).resolve("redis.log"), Map.of(),
                        () -> LocalHive.emptyDirectory(data), "empty")));
            }
            for (NodePorts n : layout) {
                hive.agents.add(hive.supervisor.start(hive.agentSpec(n.index(), java.apply(n.index()), agentArgs)));
            }
            return hive;
        } catch (IOException | RuntimeException e) {
            hive.close();
            throw e;
        }
    }

    /** What node {@code node}'s agent runs: {@code java} (the JVM and the program) with the hive's flags. */
    ChildSpec agentSpec(int node, List<String> java, List<String> agentArgs) {
        NodePorts n = layout.get(node);
        List<String> cmd = new ArrayList<>(LocalHive.ownSession());
        cmd.addAll(LocalHive.agentCommand(java, n, layout, null, null));
        cmd.addAll(agentArgs);
        return new ChildSpec("node " + n.index(), "agent", cmd, runDir.resolve("node-" + n.index()).resolve("agent.log"),
                LocalHive.agentEnvironment(), null, "");
    }

    @Override
    public int size() {
        return layout.size();
    }

    @Override
    public Endpoint redis(int node) {
        return new Endpoint(LocalHive.HOST, layout.get(node).redis());
    }

    @Override
    public Endpoint writePort(int node) {
        return new Endpoint(LocalHive.HOST, layout.get(node).write());
    }

    @Override
    public Endpoint sentinel(int node) {
        return new Endpoint(LocalHive.HOST, layout.get(node).sentinel());
    }

    @Override
    public Endpoint http(int node) {
        return new Endpoint(LocalHive.HOST, layout.get(node).http());
    }

    @Override
    public Supervisor.Child redisProcess(int node) {
        return redis.get(node);
    }

    @Override
    public Supervisor.Child agentProcess(int node) {
        return agents.get(node);
    }

    @Override
    public boolean partitions() {
        return false;
    }

    @Override
    public void isolate(int node) {
        throw new UnsupportedOperationException("no partitions on loopback");
    }

    @Override
    public void heal(int node) {
        throw new UnsupportedOperationException("no partitions on loopback");
    }

    @Override
    public String describe() {
        return "loopback hive on 127.0.0.1, ports " + layout.get(0).redis() + ".." + layout.get(layout.size() - 1).http()
                + ", logs in " + runDir;
    }

    @Override
    public void close() {
        supervisor.close();
    }
}
