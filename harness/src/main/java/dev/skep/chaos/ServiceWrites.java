package dev.skep.chaos;

import dev.skep.redis.RespClient;
import dev.skep.topology.Endpoint;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * Writers through one address (a Kubernetes Service: {@code skep}'s ClusterIP) while a shell command changes the
 * deployment ({@code kubectl delete pod} of the master's pod, {@code helm upgrade} and its rollout, {@code kubectl
 * scale}), then the acknowledged-write check: the same {@link Writer}s and {@link LostWrites} as {@code bench/chaos},
 * reading back through the Service. Prints, for the writes before the command and for those from its start: acks,
 * error replies (by kind), the longest gap between two acknowledgements of one writer (the stall a client saw),
 * the first acknowledgement after the command started, connections closed between requests, and the
 * acknowledged writes lost. Exit status 0: nothing lost; 1: writes lost; 2: usage or setup error.
 *
 * <p>Bounded: writers by count and a total run time, the command by {@code --action-timeout-s}, every wait by a
 * deadline. Sends traffic only to the address given ({@code .ci/kube-node exec} runs it inside the node's network
 * namespace, where that address lives).
 */
@Command(name = "service-writes", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Writes through a Service while a command runs; counts error replies, stalls and acknowledged writes lost.")
public final class ServiceWrites implements Callable<Integer> {
    private static final PrintStream OUT = System.out;

    @Option(names = "--write", required = true, description = "The write address, host:port (the Service).")
    String write;

    @Option(names = "--password-env", defaultValue = "REDIS_PASSWORD",
            description = "The variable holding the password (AUTH on each connection). Default: ${DEFAULT-VALUE}.")
    String passwordEnv;

    @Option(names = "--writers", defaultValue = "8", description = "Writer connections. Default: ${DEFAULT-VALUE}.")
    int writers;

    @Option(names = "--warmup-ms", defaultValue = "5000", description = "Writes before the command. Default: ${DEFAULT-VALUE}.")
    int warmupMs;

    @Option(names = "--action", description = "The shell command (bash -c) that changes the deployment; none: writes only.")
    String action;

    @Option(names = "--action-timeout-s", defaultValue = "600", description = "Bound on the command. Default: ${DEFAULT-VALUE}.")
    int actionTimeoutS;

    @Option(names = "--after-ms", defaultValue = "10000", description = "Writes after the command ended. Default: ${DEFAULT-VALUE}.")
    int afterMs;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ServiceWrites()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Endpoint target = Endpoint.parse(write);
        String password = System.getenv(passwordEnv);
        Duration readTimeout = Duration.ofSeconds(10); // longer than the write port's hold (5 s)
        Duration maxRun = Duration.ofMillis(warmupMs + actionTimeoutS * 1000L + afterMs + 120_000L);
        // the writers' keys are the same from run to run (chaos:k:<writer>:<slot>, chaos:c:<writer>:<round>): an earlier
        // run's values would pass for this run's writes, both in the check of a request whose connection failed and in
        // the lost-write check. The dataset is this benchmark's own.
        try (RespClient c = new RespClient(target, password, Duration.ofSeconds(2), Duration.ofSeconds(30))) {
            Object reply = c.call("FLUSHALL");
            if (!"OK".equals(reply)) {
                OUT.println("FLUSHALL through " + target + ": " + reply);
                return 2;
            }
        }
        List<Writer> list = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            Writer writer = new Writer(w, n -> target, 1, readTimeout, maxRun, password);
            list.add(writer);
            Thread t = new Thread(writer, "service-writer-" + w);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        try {
            Thread.sleep(warmupMs);
            long start = System.nanoTime();
            for (Writer w : list) {
                w.beginRound(1);
                w.faultAt(start);
            }
            int exit = 0;
            long actionMs = 0;
            if (action != null) {
                OUT.println("action: " + action);
                Process p = new ProcessBuilder("bash", "-c", action).inheritIO().start();
                if (!p.waitFor(actionTimeoutS, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    exit = -1;
                } else {
                    exit = p.exitValue();
                }
                actionMs = (System.nanoTime() - start) / 1_000_000;
                OUT.println("action ended: exit " + exit + " after " + actionMs + " ms");
            }
            Thread.sleep(afterMs);
            long holdDeadline = System.nanoTime() + 20_000_000_000L;
            boolean exact = true;
            for (Writer w : list) {
                exact &= w.hold(holdDeadline);
            }
            LostWrites.Found found;
            try (RespClient c = new RespClient(target, password, Duration.ofSeconds(2), Duration.ofSeconds(10))) {
                found = new LostWrites().check(c, list, false);
            }
            list.stream().flatMap(w -> w.errorLog().stream()).sorted().limit(30).forEach(e -> OUT.println("error at " + e));
            report("before", list, 0);
            report("from the action", list, 1);
            OUT.printf("lost: %d keys, %d increments (checked %d keys, %d counters)%s%s%n", found.keys(), found.increments(),
                    found.checkedKeys(), found.checkedIncrements(), found.examples().isEmpty() ? "" : " e.g. " + found.examples(),
                    exact ? "" : " (a writer still had a request in flight: a lost increment may be missed)");
            OUT.printf("RESULT action_exit=%d action_ms=%d lost_keys=%d lost_increments=%d%n", exit, actionMs,
                    found.keys(), found.increments());
            return found.keys() + found.increments() > 0 ? 1 : 0;
        } finally {
            list.forEach(Writer::stop);
            for (Thread t : threads) {
                t.join(15_000);
            }
        }
    }

    private static void report(String label, List<Writer> list, int round) {
        long acks = 0;
        long errors = 0;
        long closed = 0;
        long stall = 0;
        long first = 0;
        Map<String, Integer> kinds = new LinkedHashMap<>();
        for (Writer w : list) {
            Writer.RoundStats s = w.stats(round);
            acks += s.acks;
            errors += s.errors;
            closed += s.closedNotApplied;
            stall = Math.max(stall, s.longestGap / 1_000_000);
            first = first < 0 || s.firstAckAfterFault < 0 ? -1 : Math.max(first, s.firstAckAfterFault / 1_000_000);
            s.errorKinds.forEach((k, v) -> kinds.merge(k, v, Integer::sum));
        }
        OUT.printf("%s: %d acknowledged, %d error replies %s, longest gap between two acks of a writer %d ms%s, "
                        + "%d connections closed between requests%n",
                label, acks, errors, kinds, stall,
                round == 0 ? "" : ", first ack after the start " + (first < 0 ? "none" : first + " ms"), closed);
    }
}
