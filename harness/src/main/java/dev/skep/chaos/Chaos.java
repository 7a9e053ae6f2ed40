package dev.skep.chaos;

import dev.skep.Skep;
import dev.skep.netns.Commands;
import dev.skep.netns.NetnsHive;
import dev.skep.redis.RespClient;
import dev.skep.up.LocalHive;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The fault-injection harness behind {@code bench/chaos}: starts a hive (on loopback like {@code skep up}, or
 * in network namespaces when partitions are asked for and possible), runs writer clients through the write
 * ports that record every acknowledged write, injects faults round after round at the current master's
 * node, checks after each round which acknowledged writes the settled hive lost, and prints a line per round
 * and a table per fault kind, with the leader changes (new epochs) each round caused. Exit status 1 when a
 * planned handover (SIGTERM) lost a write, 3 when the hive did not settle, 2 for a usage or setup error.
 *
 * <p>Everything is bounded: rounds and writers by count, every wait by a deadline, writers by a total run
 * time. Only processes this harness started are signalled, by PID; traffic stays on 127.0.0.1 or inside the
 * network namespaces it creates. Runs on its main thread, plus one thread per writer, two per watched node
 * (the two-masters watch, the leader watch) and one for a busy script while it runs.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Fault-injection harness: writes under faults, counts acknowledged writes lost.")
public final class Chaos implements Callable<Integer> {
    private static final Duration SETTLE = Duration.ofSeconds(60);
    private static final PrintStream OUT = System.out;

    @Option(names = "--rounds", defaultValue = "3", description = "Rounds per fault kind. Default: ${DEFAULT-VALUE}.")
    int rounds;

    @Option(names = "--kinds", split = ",", defaultValue = "kill-redis,kill-agent,term-agent,stop-redis,restart-empty,busy-redis,partition",
            description = "Fault kinds, in the order they take turns. Default: ${DEFAULT-VALUE}.")
    List<String> kindNames;

    @Option(names = "--writers", defaultValue = "4", description = "Writer connections. Default: ${DEFAULT-VALUE}.")
    int writers;

    @Option(names = "--base-port", defaultValue = "7700", description = "First port of the loopback hive. Default: ${DEFAULT-VALUE}.")
    int basePort;

    @Option(names = "--round-ms", defaultValue = "6000", description = "Time from a fault to the end of its round. Default: ${DEFAULT-VALUE}.")
    int roundMs;

    @Option(names = "--warmup-ms", defaultValue = "1000", description = "Writes before each fault. Default: ${DEFAULT-VALUE}.")
    int warmupMs;

    @Option(names = "--stop-ms", defaultValue = "3000", description = "SIGSTOP to SIGCONT. Default: ${DEFAULT-VALUE}.")
    int stopMs;

    @Option(names = "--busy-ms", defaultValue = "3000",
            description = "busy-redis: how long the Lua script keeps the master's redis busy (1..60000). Default: ${DEFAULT-VALUE}.")
    int busyMs;

    @Option(names = "--partition-ms", defaultValue = "3000", description = "How long a partition lasts. Default: ${DEFAULT-VALUE}.")
    int partitionMs;

    @Option(names = "--poll-ms", defaultValue = "20", description = "Period of the two-masters watch. Default: ${DEFAULT-VALUE}.")
    int pollMs;

    @Option(names = "--network", defaultValue = "auto",
            description = "loopback, netns (root, in a network namespace of its own: bench/chaos does it), or auto "
                    + "(netns when partitions are asked for and possible). Default: ${DEFAULT-VALUE}.")
    String network;

    @Option(names = "--agent-arg", description = "An extra argument for every agent (repeat it), e.g. --agent-arg=--quorum --agent-arg=majority.")
    List<String> agentArgs = new ArrayList<>();

    @Option(names = "--dir", description = "Run directory (logs). Default: a new one under the temp dir.")
    Path dir;

    private static String[] commandLine = new String[0];

    public static void main(String[] args) {
        commandLine = args.clone();
        System.exit(commandLine().execute(args));
    }

    /** The command line, with the fault kinds and the figures listed after the options in {@code --help}. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Chaos());
        List<String> footer = new ArrayList<>();
        footer.add("%nFault kinds (--kinds), each aimed at the current master's node:");
        for (FaultKind k : FaultKind.values()) {
            footer.add(wrap(String.format("  %-14s ", k.flag()), k.description()));
        }
        footer.add("%nEvery round reports, besides acknowledged writes lost, stalls, errors and two-masters time, its "
                + "leader changes: the new epochs the hive went through from the fault to the settled hive (agents' "
                + "/api/status polled every " + LeaderWatch.PERIOD.toMillis() + " ms), and whether the master stayed "
                + "on its node. The target for busy-redis is 0 (a line after the table; it does not change the exit status).");
        footer.add("%nExit status: 0; 1 when a planned handover (term-agent) lost an acknowledged write; 2 for bad flags "
                + "or setup; 3 when the hive did not settle within " + SETTLE.toSeconds() + " s.");
        cl.getCommandSpec().usageMessage().footer(footer.toArray(String[]::new));
        return cl;
    }

    /** {@code head} then {@code text} on lines of at most 79 characters, the later ones indented as far as the first's text. */
    private static String wrap(String head, String text) {
        StringBuilder out = new StringBuilder(head);
        int column = head.length();
        for (String word : text.split(" ")) {
            if (column > head.length() && column + 1 + word.length() > 79) {
                out.append("%n").append(" ".repeat(head.length()));
                column = head.length();
            } else if (column > head.length()) {
                out.append(' ');
                column++;
            }
            out.append(word);
            column += word.length();
        }
        return out.toString();
    }

    @Override
    public Integer call() throws Exception {
        OUT.println("command: bench/chaos " + String.join(" ", commandLine));
        if (rounds < 1 || rounds > 1000 || writers < 1 || writers > 256 || roundMs < 500 || pollMs < 1 || warmupMs < 0
                || busyMs < 1 || busyMs > 60_000) {
            OUT.println("bad settings: rounds 1..1000, writers 1..256, round-ms >= 500, poll-ms >= 1, warmup-ms >= 0, busy-ms 1..60000");
            return 2;
        }
        List<FaultKind> kinds = new ArrayList<>();
        for (String name : kindNames) {
            kinds.add(FaultKind.parse(name));
        }
        boolean wantPartitions = kinds.contains(FaultKind.PARTITION);
        String reason = netnsUnavailable();
        boolean netns = switch (network) {
            case "netns" -> true;
            case "loopback" -> false;
            case "auto" -> wantPartitions && reason == null;
            default -> throw new CommandLine.ParameterException(new CommandLine(this), "--network: " + network);
        };
        if (netns && reason != null) {
            OUT.println("cannot use network namespaces: " + reason);
            return 2;
        }
        if (wantPartitions && !netns) {
            OUT.println("partition rounds SKIPPED: " + (reason != null ? reason : "--network loopback (a loopback hive cannot be partitioned)"));
            kinds.remove(FaultKind.PARTITION);
        }
        if (kinds.isEmpty()) {
            OUT.println("no fault kind left to run");
            return 2;
        }
        Path runDir = dir != null ? dir : Files.createTempDirectory("skep-chaos-");
        List<String> java = LocalHive.javaCommand(Skep.class);
        ChaosHive hive = netns
                ? new NetnsChaosHive(NetnsHive.start(new NetnsHive.Options(3, java, runDir, i -> agentArgs, true, OUT)))
                : LoopbackChaosHive.start(3, basePort, java, agentArgs, runDir, OUT);
        try (hive) {
            OUT.println("hive: " + hive.describe());
            for (FaultKind k : kinds) {
                OUT.println("  " + k.flag() + ": " + k.description());
            }
            return new Run(hive, kinds).execute();
        }
    }

    /** Why partitions cannot run here, or null when they can. */
    private static String netnsUnavailable() {
        if (!LocalHive.runningAsRoot()) {
            return "not root (network namespaces need root)";
        }
        try {
            // A network namespace made for this run holds nothing but lo; the machine's own has its interfaces.
            // (Comparing /proc/self/ns/net with PID 1's does not work in containers that hide PID 1's.)
            String links = Commands.check("ip", "-o", "link", "show");
            if (links.lines().anyMatch(l -> !l.matches("^\\d+: lo: .*"))) {
                return "this harness runs in a network namespace that has interfaces besides lo (the machine's own?); "
                        + "start it with bench/chaos, which runs it under `unshare --net`, so the client leg it adds "
                        + "stays out of the machine's network";
            }
        } catch (IOException e) {
            return "cannot list network interfaces: " + e.getMessage();
        }
        try {
            NetnsHive.requirePrerequisites();
        } catch (IllegalStateException e) {
            return e.getMessage();
        }
        return null;
    }

    /** One run: writers, watch, rounds, final check. Main thread only. */
    private final class Run {
        private final ChaosHive hive;
        private final List<FaultKind> kinds;
        private final List<Writer> writerList = new ArrayList<>();
        private final List<Thread> writerThreads = new ArrayList<>();
        private final LostWrites lost = new LostWrites();
        private final List<RoundResult> results = new ArrayList<>();
        /** The busy-redis round's script while it runs (main thread only). */
        private BusyScript busy;

        Run(ChaosHive hive, List<FaultKind> kinds) {
            this.hive = hive;
            this.kinds = kinds;
        }

        int execute() throws Exception {
            try (Convergence conv = new Convergence(hive); MasterWatch watch = new MasterWatch(hive, Duration.ofMillis(pollMs));
                 LeaderWatch leaders = new LeaderWatch(hive)) {
                int master = conv.await(SETTLE);
                if (master < 0) {
                    OUT.println("the hive did not settle in " + SETTLE.toSeconds() + " s: " + conv.lastSeen());
                    return 3;
                }
                Duration maxRun = Duration.ofMillis((long) rounds * kinds.size() * (warmupMs + roundMs + busyMs + 2 * SETTLE.toMillis()) + 600_000);
                // a request may wait for a busy master as long as its script runs: a slow reply, not an error
                Duration readTimeout = Duration.ofMillis(Math.max(10_000, busyMs + 5_000L));
                for (int w = 0; w < writers; w++) {
                    Writer writer = new Writer(w, hive::writePort, hive.size(), readTimeout, maxRun);
                    writerList.add(writer);
                    Thread t = new Thread(writer, "chaos-writer-" + w);
                    t.setDaemon(true);
                    writerThreads.add(t);
                    t.start();
                }
                int round = 0;
                boolean settled = true;
                for (int i = 0; i < rounds && settled; i++) {
                    for (FaultKind kind : kinds) {
                        RoundResult r = round(++round, kind, conv, watch, leaders);
                        if (r == null) {
                            settled = false;
                            break;
                        }
                        results.add(r);
                        OUT.println(Report.line(r));
                    }
                }
                writerList.forEach(Writer::stop);
                for (Thread t : writerThreads) {
                    t.join(15_000);
                }
                finalCheck(conv);
                OUT.println();
                OUT.print(Report.table(kinds, results));
                String busySummary = Report.busySummary(results);
                if (busySummary != null) {
                    OUT.println(busySummary);
                }
                if (!settled) {
                    return 3;
                }
                long handoverLoss = results.stream().filter(r -> r.kind() == FaultKind.TERM_AGENT).mapToLong(RoundResult::lost).sum();
                if (handoverLoss > 0) {
                    OUT.println("FAIL: planned handovers (SIGTERM) lost " + handoverLoss + " acknowledged writes");
                    return 1;
                }
                return 0;
            }
        }

        /** Runs one round; null when the hive did not settle (before or after the fault). */
        private RoundResult round(int round, FaultKind kind, Convergence conv, MasterWatch watch, LeaderWatch leaders) throws Exception {
            int m = conv.await(SETTLE);
            if (m < 0) {
                OUT.println("round " + round + ": the hive did not settle in " + SETTLE.toSeconds() + " s before the fault: "
                        + conv.lastSeen() + "; stopping (logs in the run directory)");
                return null;
            }
            for (Writer w : writerList) {
                w.beginRound(round);
            }
            Thread.sleep(warmupMs); // the scenario: writes flow before the fault
            LeaderWatch.Snapshot epochs = leaders.begin();
            watch.begin();
            String what = inject(kind, m);
            // The fault counts from when it is in place (a signal sent by a `kill` child takes milliseconds):
            // writes sent before that are not "after the fault".
            long t0 = System.nanoTime();
            writerList.forEach(w -> w.faultAt(t0));
            long undoAt = switch (kind) {
                case STOP_REDIS -> t0 + stopMs * 1_000_000L;
                case PARTITION -> t0 + partitionMs * 1_000_000L;
                default -> -1;
            };
            long end = t0 + roundMs * 1_000_000L;
            long settledSince = -1;
            try {
                while (System.nanoTime() < end) {
                    if (undoAt > 0 && System.nanoTime() >= undoAt) {
                        undo(kind, m);
                        undoAt = -1;
                    }
                    boolean ok = conv.check() >= 0;
                    settledSince = ok ? (settledSince < 0 ? System.nanoTime() : settledSince) : -1;
                    Thread.sleep(20);
                }
            } finally {
                if (undoAt > 0) {
                    undo(kind, m);
                }
                if (busy != null) {
                    what += "; script " + busy.await(); // it ends by itself; the round waits for it
                    busy = null;
                }
            }
            int after = conv.await(SETTLE);
            if (after >= 0 && settledSince < 0) {
                settledSince = System.nanoTime();
            }
            MasterWatch.Overlap overlap = watch.end();
            LeaderWatch.Changes changes = leaders.end(epochs);
            if (after < 0) {
                OUT.println("round " + round + " " + kind.flag() + ": the hive did not settle in " + SETTLE.toSeconds()
                        + " s after the fault: " + conv.lastSeen() + "; stopping");
                return null;
            }
            LostWrites.Found found;
            // Writers held during the check: every acknowledgement recorded so far is compared with a hive no
            // request is changing, so a lost increment cannot hide behind increments still coming in.
            long holdDeadline = System.nanoTime() + 15_000_000_000L;
            boolean exact = true;
            for (Writer w : writerList) {
                exact &= w.hold(holdDeadline);
            }
            try (RespClient master = new RespClient(hive.redis(after), null, Duration.ofSeconds(2), Duration.ofSeconds(10))) {
                found = lost.check(master, writerList);
            } finally {
                writerList.forEach(Writer::release);
            }
            if (!exact) {
                OUT.println("round " + round + ": a writer still had a request in flight after 15 s: this check may miss "
                        + "a lost increment (the final check will not)");
            }
            long acks = 0;
            long errors = 0;
            long closed = 0;
            long firstWrite = 0;
            long firstWriteElsewhere = 0;
            long stall = 0;
            Map<String, Integer> errorKinds = new LinkedHashMap<>();
            for (Writer w : writerList) {
                Writer.RoundStats s = w.stats(round);
                synchronized (w) {
                    acks += s.acks;
                    errors += s.errors;
                    closed += s.closedNotApplied;
                    firstWrite = firstWrite < 0 || s.firstAckAfterFault < 0 ? -1 : Math.max(firstWrite, s.firstAckAfterFault / 1_000_000);
                    if (s.nodeAtFault != m) {
                        // a writer on another node's write port: what a client on the majority side of a cut sees,
                        // rather than one stuck on the faulted node until its connection gives up
                        firstWriteElsewhere = firstWriteElsewhere < 0 || s.firstAckAfterFault < 0 ? -1
                                : Math.max(firstWriteElsewhere, s.firstAckAfterFault / 1_000_000);
                    }
                    stall = Math.max(stall, s.longestGap / 1_000_000);
                    s.errorKinds.forEach((k, v) -> errorKinds.merge(k, v, Integer::sum));
                }
            }
            if (!found.examples().isEmpty()) {
                OUT.println("round " + round + ": lost, e.g. " + found.examples());
            }
            return new RoundResult(round, kind, m, what, acks, firstWrite, firstWriteElsewhere, stall, errors, closed, errorKinds, found.keys(),
                    found.increments(), overlap.anyMs(), overlap.routedMs(), overlap.provenMs(), (settledSince - t0) / 1_000_000, changes, after);
        }

        private String inject(FaultKind kind, int m) throws IOException, InterruptedException {
            Process redis = hive.redisProcess(m).process();
            Process agent = hive.agentProcess(m).process();
            return switch (kind) {
                case KILL_REDIS -> {
                    redis.destroyForcibly();
                    yield "kill -9 redis pid " + redis.pid();
                }
                case KILL_AGENT -> {
                    agent.destroyForcibly();
                    yield "kill -9 agent pid " + agent.pid();
                }
                case TERM_AGENT -> {
                    agent.destroy();
                    yield "SIGTERM agent pid " + agent.pid();
                }
                case STOP_REDIS -> {
                    signal("STOP", redis.pid());
                    yield "SIGSTOP redis pid " + redis.pid() + " for " + stopMs + " ms";
                }
                case RESTART_EMPTY -> {
                    agent.destroyForcibly();
                    redis.destroyForcibly();
                    yield "kill -9 agent pid " + agent.pid() + " and redis pid " + redis.pid();
                }
                case PARTITION -> {
                    hive.isolate(m);
                    yield "cut off for " + partitionMs + " ms";
                }
                case BUSY_REDIS -> {
                    busy = BusyScript.start(hive.redis(m), busyMs);
                    yield "Lua script busy for " + busyMs + " ms on redis pid " + redis.pid();
                }
            };
        }

        private void undo(FaultKind kind, int m) throws IOException {
            if (kind == FaultKind.STOP_REDIS) {
                signal("CONT", hive.redisProcess(m).process().pid());
            } else if (kind == FaultKind.PARTITION) {
                hive.heal(m);
            }
        }

        private void signal(String name, long pid) throws IOException {
            Commands.check("kill", "-s", name, Long.toString(pid));
        }

        /** With the writers stopped and the hive settled and caught up: what every node holds. */
        private void finalCheck(Convergence conv) throws Exception {
            int m = conv.await(SETTLE);
            long deadline = System.nanoTime() + SETTLE.toNanos();
            while (m >= 0 && !conv.caughtUp(m) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            OUT.println();
            OUT.println("final check (writers stopped" + (m >= 0 ? ", master node " + m : ", NOT SETTLED: " + conv.lastSeen()) + "):");
            long reported = results.stream().mapToLong(RoundResult::lost).sum();
            for (int i = 0; i < hive.size(); i++) {
                try (RespClient c = new RespClient(hive.redis(i), null, Duration.ofSeconds(2), Duration.ofSeconds(10))) {
                    LostWrites.Found f = lost.check(c, writerList, false);
                    OUT.printf("  node %d%s: missing %d of %d acknowledged keys, %d of %d acknowledged increments%s%s%n", i,
                            i == m ? " (master)" : "", f.keys(), f.checkedKeys(), f.increments(), f.checkedIncrements(),
                            f.examples().isEmpty() ? "" : " e.g. " + f.examples(),
                            i == m && f.keys() + f.increments() != reported
                                    ? " (the rounds reported " + reported + ")" : "");
                } catch (IOException | RuntimeException e) {
                    OUT.println("  node " + i + ": cannot read: " + e.getMessage());
                }
            }
        }
    }
}
