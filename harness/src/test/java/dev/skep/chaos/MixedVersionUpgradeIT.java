package dev.skep.chaos;

import dev.skep.http.StatusJson;
import dev.skep.redis.RespClient;
import dev.skep.status.HiveStatus;
import dev.skep.status.SkepVersion;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import dev.skep.topology.Endpoint;
import dev.skep.up.LocalHive;
import dev.skep.up.Supervisor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Skep upgrades Skep: a hive of the previous release's agents (the jar of {@code .ci/previous-release}, built
 * from this checkout's history by {@code .ci/build-previous-release}) is rolled, one pod at a time, to this
 * build and then back, under write load. Each step replaces a pod as Kubernetes does: SIGTERM to the agent (a
 * leader hands over), then its redis goes and comes back empty, and the agent comes back running the other
 * jar. Between the steps the hive runs with both versions, talking the peer protocol across them: the newer
 * agents send a field the older ones do not know (their version), and the older ones send none of it.
 *
 * <p>What a user would check: no acknowledged write lost, never two masters (no two redis servers seen accepting
 * writes at once, polled every 20 ms: {@link MasterWatch.Overlap#provenMs}), no error reply to a writer, no peer message rejected by either version,
 * and each agent reporting the version it runs.
 */
@Needs(Need.PREVIOUS_RELEASE)
class MixedVersionUpgradeIT {
    private static final Duration SETTLE = Duration.ofSeconds(60);
    private static final Duration STEP = Duration.ofSeconds(90);
    private static final int NODES = 3;
    private static final int WRITERS = 3;
    /** What an agent of the previous release reports as its version: nothing (the field came after it). */
    private static final String PREVIOUS_REPORTS = "";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    @Test
    void aHiveRollsFromThePreviousReleaseToThisBuildAndBackUnderWritesWithoutLossOrTwoMasters() throws Exception {
        Path previous = Need.previousReleaseJar();
        Path current = Paths.get(System.getProperty("skep.jar", "agent/target/skep.jar")).toAbsolutePath();
        assertThat(current).as("this build's jar (./mvnw package)").isRegularFile();
        Path runDir = Files.createTempDirectory("skep-mixed-");
        PrintStream log = new PrintStream(Files.newOutputStream(runDir.resolve("supervisor.log")), true);
        try (LoopbackChaosHive hive = LoopbackChaosHive.start(NODES, freeBasePort(), i -> java(previous), List.of(),
                runDir, log);
             Convergence conv = new Convergence(hive);
             MasterWatch watch = new MasterWatch(hive, Duration.ofMillis(20))) {
            assertThat(conv.await(SETTLE)).as("a hive of %s settles: %s", previous, conv.lastSeen()).isNotNegative();
            for (int i = 0; i < NODES; i++) {
                assertThat(selfVersion(hive, i)).as("node %d runs the previous release", i).isEqualTo(PREVIOUS_REPORTS);
            }

            List<Writer> writers = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                Writer writer = new Writer(w, hive::writePort, NODES, Duration.ofSeconds(15), Duration.ofMinutes(10));
                writer.beginRound(1);
                writers.add(writer);
                Thread t = new Thread(writer, "mixed-writer-" + w);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
            watch.begin();
            await().atMost(SETTLE).until(() -> writers.stream().allMatch(w -> w.stats(1).acks > 100));

            // up: 2, 1, 0 (a StatefulSet's order), then down again in the same order
            roll(hive, conv, current, SkepVersion.CURRENT, writers);
            roll(hive, conv, previous, PREVIOUS_REPORTS, writers);

            writers.forEach(Writer::stop);
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(20));
            }
            MasterWatch.Overlap overlap = watch.end();
            int master = conv.await(SETTLE);
            assertThat(master).as("the hive settles at the end: %s", conv.lastSeen()).isNotNegative();
            await().atMost(SETTLE).until(() -> conv.caughtUp(master));
            LostWrites.Found lost;
            try (RespClient redis = new RespClient(hive.redis(master), null, Duration.ofSeconds(2), Duration.ofSeconds(10))) {
                lost = new LostWrites().check(redis, writers, false);
            }
            long acks = writers.stream().mapToLong(w -> w.stats(1).acks).sum();
            assertThat(acks).as("writes acknowledged through the rollouts").isGreaterThan(1000);
            assertThat(lost.checkedKeys()).as("acknowledged keys checked").isPositive();
            assertThat(lost.keys()).as("acknowledged keys lost: %s", lost.examples()).isZero();
            assertThat(lost.increments()).as("acknowledged increments lost: %s", lost.examples()).isZero();
            // the polls prove no two masters; the upper bound, exact to a poll period, is printed for the record
            System.out.printf("two masters: proven %d ms, at most %d ms (routed %d ms)%s%n", overlap.provenMs(),
                    overlap.anyMs(), overlap.routedMs(), overlap.around());
            assertThat(overlap.provenMs()).as("time two redis servers were seen accepting writes at once; polls: %s",
                    overlap.around()).isZero();
            for (Writer w : writers) {
                assertThat(w.stats(1).errors).as("error replies to writer %d: %s", w.id(), w.stats(1).errorKinds).isZero();
            }
        }
    }

    /** Replaces every pod in turn with one whose agent runs {@code jar}, waiting for the hive to settle each time. */
    private void roll(LoopbackChaosHive hive, Convergence conv, Path jar, String reports, List<Writer> writers)
            throws Exception {
        for (int i = NODES - 1; i >= 0; i--) {
            int node = i;
            Supervisor.Child agent = hive.agentProcess(node);
            long oldPid = agent.pid();
            agent.startNextWith(hive.agentSpec(node, java(jar), List.of()));
            // the pod's containers get SIGTERM: the agent hands over if it leads, drains its clients and exits;
            // redis (its preStop hook waits for the agent) goes after it and comes back empty
            ProcessHandle agentProcess = agent.process().toHandle();
            agentProcess.destroy();
            agentProcess.onExit().get(30, TimeUnit.SECONDS);
            hive.redisProcess(node).process().toHandle().destroy();
            await().atMost(STEP).until(() -> agent.pid() != oldPid && agent.process().isAlive());
            await().atMost(STEP).pollInterval(Duration.ofMillis(200)).ignoreExceptions().untilAsserted(() -> {
                assertThat(conv.check()).as("settled: %s", conv.lastSeen()).isNotNegative();
                for (int n = 0; n < NODES; n++) {
                    HiveStatus s = status(hive, n);
                    assertThat(s.ready()).as("node %d ready (%s)", n, s.readyReason()).isTrue();
                    assertThat(s.members()).as("node %d hears every member", n).hasSize(NODES)
                            .allMatch(HiveStatus.Member::alive);
                }
            });
            assertThat(selfVersion(hive, node)).as("node %d runs %s", node, jar).isEqualTo(reports);
            for (int n = 0; n < NODES; n++) {
                HiveStatus s = status(hive, n);
                assertThat(s.peerMessagesRejected()).as("peer messages node %d rejected (mixed versions)", n).isZero();
                // what the newer agents tell each other of their versions: every member's, or nothing from an older one
                if (!selfVersion(hive, n).equals(PREVIOUS_REPORTS)) {
                    for (HiveStatus.Member m : s.members()) {
                        int index = indexOfPeer(hive, m.node());
                        assertThat(m.version()).as("node %d's view of node %d's version", n, index)
                                .isEqualTo(selfVersion(hive, index));
                    }
                }
            }
            assertThat(writers).allMatch(w -> w.stats(1).errors == 0);
        }
    }

    private static List<String> java(Path jar) {
        return LocalHive.javaCommand(jar.toString(), "dev.skep.Skep");
    }

    private String selfVersion(LoopbackChaosHive hive, int node) throws IOException, InterruptedException {
        return status(hive, node).members().stream().filter(HiveStatus.Member::self).findFirst().orElseThrow().version();
    }

    private HiveStatus status(LoopbackChaosHive hive, int node) throws IOException, InterruptedException {
        Endpoint e = hive.http(node);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + e.host() + ":" + e.port() + "/api/status"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        return StatusJson.read(r.body());
    }

    /** The node whose agent's peer address is {@code peer}. */
    private int indexOfPeer(LoopbackChaosHive hive, Endpoint peer) throws IOException, InterruptedException {
        for (int i = 0; i < NODES; i++) {
            if (status(hive, i).node().equals(peer)) {
                return i;
            }
        }
        throw new AssertionError("no node has peer address " + peer);
    }

    /** A base port whose whole loopback layout ({@link LocalHive#layout}) is free now. */
    private static int freeBasePort() {
        for (int base = 23000; base < 60000; base += 100) {
            if (LocalHive.busyPorts(LocalHive.layout(base, NODES)).isEmpty()) {
                return base;
            }
        }
        throw new IllegalStateException("no free port range on 127.0.0.1");
    }
}
