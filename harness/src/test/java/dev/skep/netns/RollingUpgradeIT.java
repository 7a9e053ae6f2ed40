package dev.skep.netns;

import dev.skep.deploy.KubeManifests;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.skep.deploy.KubeManifests.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A Deployment rollout of the committed manifests ({@code deploy/kubernetes/skep.yaml}), emulated with real
 * processes on separate "hosts" (a {@link NetnsHive}: one network namespace per pod, dnsmasq answering the
 * headless Service's name with the pods that exist). Each "pod" runs the manifests' own containers: redis with
 * its command, arguments and environment ({@code $(REDIS_PASSWORD)} from the Secret), the agent with the
 * image's entrypoint ({@code Dockerfile}: {@code java -jar skep.jar}, the built jar here) and the container's
 * arguments and environment, its pod IP in place of the downward-API value.
 *
 * <p>The rollout follows the manifests' strategy (surge 1, none unavailable): a new pod, with an empty redis,
 * in a new namespace (a new pod IP), waits for its readiness probe; then an old pod terminates as the kubelet
 * does it: it leaves the Service's endpoints, both containers' preStop hooks run (the manifests' own
 * commands), each container gets SIGTERM after its hook, all within the grace period; then its IP leaves the
 * headless Service. Meanwhile writers in a client namespace write through the write Service (the ready pods'
 * write ports), reconnecting elsewhere when their connection is closed.
 *
 * <p>Root only: fails (never skips) otherwise.
 */
@Needs({Need.ROOT, Need.HELM})
class RollingUpgradeIT {
    private static final Path DOCKERFILE = Paths.get("Dockerfile");
    private static final int PODS = 3;
    private static final int WRITERS = 6;

    private NetnsHive hive;
    private final List<Pod> pods = new ArrayList<>();

    /** One running pod: its node index in the hive and its two container processes. */
    private record Pod(int node, Process redis, Process agent, Path dir) {
        String ip() {
            return NetnsHive.address(node);
        }
    }

    @AfterEach
    void tearDown() {
        if (hive != null) {
            hive.close();
        }
    }

    @Test
    void rollingUpgradeLosesNoAcknowledgedWrite() throws Exception {
        KubeManifests m = KubeManifests.read(KubeManifests.COMMITTED);
        Map<String, Object> deployment = m.ofKind("Deployment").get(0);
        assertThat(((Number) map(deployment, "spec").get("replicas")).intValue()).isEqualTo(PODS);
        Map<String, Object> rolling = map(map(map(deployment, "spec"), "strategy"), "rollingUpdate");
        assertThat(rolling).as("the rollout emulated here: one new pod first, then one old pod goes")
                .containsEntry("maxSurge", 1).containsEntry("maxUnavailable", 0);
        long graceSeconds = ((Number) m.podSpec().get("terminationGracePeriodSeconds")).longValue();
        String password = m.secretValue("skep-auth", "password");

        // absolute: dnsmasq reads its hosts file after moving to /
        Path runDir = Files.createTempDirectory(Files.createDirectories(Paths.get("target").toAbsolutePath()), "rolling-upgrade-");
        String java = ProcessHandle.current().info().command().orElse("java");
        // 3 pods, then 3 replacements, each in a namespace (and address) of its own
        hive = NetnsHive.startNetwork(new NetnsHive.Options(2 * PODS, List.of(java), runDir, null, false, System.out));
        String clientNs = hive.addClientNamespace();
        List<Integer> existing = new ArrayList<>(List.of(0, 1, 2));
        hive.publish(existing);
        for (int i = 0; i < PODS; i++) {
            pods.add(startPod(m, i, runDir));
        }
        for (Pod p : pods) {
            awaitReady(m, p, Duration.ofSeconds(60));
        }

        Path clients = runDir.resolve("clients");
        Files.createDirectories(clients);
        writeLines(clients.resolve("endpoints"), pods.stream().map(p -> p.ip() + ":" + writePort(m)).toList());
        Process writers = hive.execIn(clientNs, List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                ServiceClients.class.getName(), clients.toString(), password, Integer.toString(WRITERS)),
                Map.of(), clients, clients.resolve("clients.log"));
        awaitProgress(clients, 2_000, writers);

        for (int k = 0; k < PODS; k++) {
            Pod old = pods.get(0);
            Pod fresh = startPodAfterDns(m, PODS + k, runDir, existing);
            awaitReady(m, fresh, Duration.ofSeconds(60));
            pods.add(fresh);
            writeLines(clients.resolve("endpoints"), pods.stream().filter(p -> p != old).map(p -> p.ip() + ":" + writePort(m)).toList());
            terminate(m, old, graceSeconds);
            pods.remove(old);
            existing.remove(Integer.valueOf(old.node()));
            hive.publish(existing);
            long now = progress(clients);
            awaitProgress(clients, now + 2_000, writers);
        }

        writeLines(clients.resolve("pods"), pods.stream().map(Pod::ip).toList());
        Files.writeString(clients.resolve("stop"), "");
        assertThat(writers.waitFor(90, TimeUnit.SECONDS)).as("the clients stop and check within 90 s; see " + clients).isTrue();
        Properties report = new Properties();
        try (var in = Files.newBufferedReader(clients.resolve("report"))) {
            report.load(in);
        }
        System.out.println("rolling upgrade: " + report);
        assertThat(Long.parseLong(report.getProperty("acked"))).as("acknowledged writes").isGreaterThan(10_000);
        assertThat(report.getProperty("lost")).as("acknowledged writes lost").isEqualTo("0");
        assertThat(report.getProperty("errors")).as("error replies: " + report.getProperty("errorSamples")).isEqualTo("0");
        assertThat(report.getProperty("cutsThatRan"))
                .as("requests cut in flight (" + report.getProperty("cuts") + " connections closed with a request out)")
                .isEqualTo("0");
        for (Pod p : pods) {
            assertThat(report.getProperty("pod." + p.ip() + ".ok"))
                    .as("redis of " + p.ip() + " holds every acknowledged write: " + report.getProperty("pod." + p.ip() + ".keys"))
                    .isEqualTo("true");
        }
    }

    private Pod startPodAfterDns(KubeManifests m, int node, Path runDir, List<Integer> existing) throws IOException {
        existing.add(node); // a new pod is in the headless Service at once (publishNotReadyAddresses)
        hive.publish(existing);
        return startPod(m, node, runDir);
    }

    /** Starts the pod's containers in node {@code node}'s namespace, as the kubelet would from the manifests. */
    private Pod startPod(KubeManifests m, int node, Path runDir) throws IOException {
        Path dir = runDir.resolve("pod-" + node);
        Path data = dir.resolve("data"); // the emptyDir: a new pod's redis is empty
        Files.createDirectories(data);
        String ip = NetnsHive.address(node);
        Map<String, Object> redisC = m.container("redis");
        Map<String, String> redisEnv = m.environment(redisC, ip);
        Process redis = hive.exec(node, KubeManifests.commandLine(redisC, redisEnv), redisEnv, data, dir.resolve("redis.log"));
        Map<String, Object> agentC = m.container("skep");
        Map<String, String> agentEnv = m.environment(agentC, ip);
        List<String> agentCmd = new ArrayList<>(imageEntrypoint());
        agentCmd.addAll(KubeManifests.commandLine(agentC, agentEnv));
        Process agent = hive.exec(node, agentCmd, agentEnv, dir, dir.resolve("agent.log"));
        System.out.println("pod " + ip + ": redis pid " + redis.pid() + ", agent pid " + agent.pid());
        return new Pod(node, redis, agent, dir);
    }

    /** The Dockerfile's ENTRYPOINT (exec form), with this JVM and the built jar in place of the image's. */
    private static List<String> imageEntrypoint() throws IOException {
        Matcher e = Pattern.compile("(?m)^ENTRYPOINT\\s+\\[(.*)]\\s*$").matcher(Files.readString(DOCKERFILE));
        assertThat(e.find()).as("Dockerfile has an exec-form ENTRYPOINT").isTrue();
        List<String> cmd = new ArrayList<>();
        Matcher s = Pattern.compile("\"([^\"]*)\"").matcher(e.group(1));
        String jar = Paths.get(System.getProperty("skep.jar", "agent/target/skep.jar")).toAbsolutePath().toString();
        while (s.find()) {
            String a = s.group(1);
            cmd.add(a.equals("java") ? ProcessHandle.current().info().command().orElse("java")
                    : a.equals("/opt/skep/skep.jar") ? jar : a);
        }
        assertThat(cmd).as("entrypoint " + e.group(1)).contains(jar);
        return cmd;
    }

    /**
     * Terminates a pod as the kubelet does: every container's preStop hook runs (the manifests' commands, in
     * the pod's namespace), then the container gets SIGTERM; all within the grace period, else SIGKILL and a
     * failure.
     */
    private void terminate(KubeManifests m, Pod pod, long graceSeconds) throws Exception {
        long start = System.nanoTime();
        CompletableFuture<Void> redis = CompletableFuture.runAsync(() -> stopContainer(m, pod, "redis", pod.redis()));
        CompletableFuture<Void> agent = CompletableFuture.runAsync(() -> stopContainer(m, pod, "skep", pod.agent()));
        try {
            CompletableFuture.allOf(redis, agent).get(graceSeconds, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            pod.agent().destroyForcibly();
            pod.redis().destroyForcibly();
            throw new AssertionError("pod " + pod.ip() + " did not stop within its grace period of " + graceSeconds
                    + " s: see " + pod.dir());
        }
        System.out.printf("pod %s stopped in %d ms%n", pod.ip(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }

    private void stopContainer(KubeManifests m, Pod pod, String name, Process process) {
        Map<String, Object> c = m.container(name);
        List<?> hook = (List<?>) map(map(map(c, "lifecycle"), "preStop"), "exec").get("command");
        try {
            List<String> cmd = hook.stream().map(Object::toString).toList();
            Process p = hive.exec(pod.node(), cmd, m.environment(c, pod.ip()), pod.dir(), pod.dir().resolve(name + "-prestop.log"));
            p.waitFor();
            process.destroy(); // SIGTERM
            process.waitFor();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The readiness probe of the manifests, as the kubelet runs it: HTTP GET of its path on its port. */
    private void awaitReady(KubeManifests m, Pod pod, Duration atMost) {
        Map<String, Object> probe = map(map(m.container("skep"), "readinessProbe"), "httpGet");
        int port = KubeManifests.ports(m.container("skep")).get(probe.get("port").toString());
        String path = probe.get("path").toString();
        String[] last = {""};
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(250)).until(() -> {
                assertThat(pod.agent().isAlive()).as("agent of " + pod.ip() + " alive; see " + pod.dir()).isTrue();
                Commands.Result get = Commands.run(List.of("ip", "netns", "exec", hive.namespace(pod.node()), "bash", "-c",
                        "exec 3<>/dev/tcp/" + pod.ip() + "/" + port + " && printf 'GET " + path
                                + " HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && cat <&3"), Duration.ofSeconds(3));
                last[0] = get.stdout().lines().findFirst().orElse(get.stderr());
                return last[0].contains(" 200 ");
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("pod " + pod.ip() + " not ready after " + atMost.toSeconds() + " s (last: " + last[0]
                    + "); see " + pod.dir(), e);
        }
    }

    private static int writePort(KubeManifests m) {
        return KubeManifests.ports(m.container("skep")).get("write");
    }

    private static long progress(Path clients) throws IOException {
        Path p = clients.resolve("progress");
        return Files.exists(p) ? Long.parseLong(Files.readString(p).strip()) : 0;
    }

    private static void awaitProgress(Path clients, long atLeast, Process writers) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            assertThat(writers.isAlive()).as("the clients program runs; see " + clients.resolve("clients.log")).isTrue();
            return progress(clients) >= atLeast;
        });
    }

    private static void writeLines(Path file, List<String> lines) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, lines);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
