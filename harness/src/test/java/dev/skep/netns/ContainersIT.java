package dev.skep.netns;

import dev.skep.deploy.KubeManifests;
import dev.skep.support.ContainerImages;
import dev.skep.support.Helm;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import dev.skep.topology.Endpoint;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.skep.deploy.KubeManifests.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What a user meets on a first {@code helm install}, with real containers: Skep's image built from the
 * {@code Dockerfile} (with the jar under test, on the JRE image of {@code .ci/build-images}), Debian's redis image,
 * and the chart rendered with helm, each pod of its Deployment played by podman ({@link PodManifest},
 * {@link PodmanNode}) in a network namespace of its own (a {@link NetnsHive}: a bridge between the pods, and dnsmasq
 * answering the headless Service's name). It checks that the image runs the agent as the chart's non-root user, on a
 * read-only root filesystem, with every file it needs; that the probes' paths and ports answer and every pod becomes
 * ready; that the JVM sees the container's CPU and memory limits; that a write through one pod's write port is read
 * through another's read port; that killing the master pod's redis container fails over (and the container comes
 * back, as a replica); and that a pod terminated as the kubelet does it (both preStop hooks in their containers,
 * then SIGTERM) stops within its grace period, redis outliving its agent. A second release, with TLS on every port
 * and link from an existing Secret ({@link #aTlsReleaseRunsInRealContainers}), checks what the rendered YAML alone
 * cannot: the HTTPS probes answer, redis runs and replicates on TLS only, and clients get through the TLS ports.
 *
 * <p>Root and podman only (see {@link Need#PODMAN}); under {@code .ci/run} it fails, saying what to do, when they are
 * missing. Every pod, container and namespace it creates is removed by {@link #tearDown}; the containers' logs are
 * kept in the run directory ({@code harness/target/containers-*}).
 */
@Needs({Need.ROOT, Need.HELM, Need.PODMAN})
class ContainersIT {
    private static final int PODS = 3;
    /** The image this test builds from the Dockerfile: a tag of its own, so a user's images are left alone. */
    private static final String IMAGE_REPOSITORY = "localhost/skep";
    private static final String IMAGE_TAG = "it";
    private static final String CPU_LIMIT = "1";
    private static final long MEMORY_LIMIT = 512L << 20;
    private static final Duration PODMAN_BOUND = Duration.ofSeconds(120);
    private static final Duration SHORT = Duration.ofSeconds(30);
    /** The kubernetes.io/tls Secret the TLS release is given ({@code tls.existingSecret}). */
    private static final String TLS_SECRET = "skep-tls";
    /** The name the chart's ServiceMonitor checks the admin port's certificate for (its {@code serverName}). */
    private static final String PROMETHEUS_SERVER_NAME = "skep-peers.default.svc";

    /** Skep's image is built once per run: both releases use the same. */
    private static boolean imageBuilt;

    private NetnsHive hive;
    private final List<Pod> pods = new ArrayList<>();
    private Path runDir;
    private String id;
    /** The TLS release's CA and client certificate; null for a release without TLS. */
    private TlsFiles tls;

    /** One played pod: its node in the hive, its podman name and the podman of its node. */
    private record Pod(int node, String name, PodmanNode podman, Path dir) {
        String ip() {
            return NetnsHive.address(node);
        }

        /** The podman name of the pod's container {@code c} (podman names them {@code <pod>-<container>}). */
        String container(String c) {
            return name + "-" + c;
        }
    }

    @AfterEach
    void tearDown() {
        for (Pod p : pods) {
            for (String c : List.of("redis", "skep")) {
                try {
                    Commands.Result logs = p.podman().run(SHORT, "logs", p.container(c));
                    Files.writeString(p.dir().resolve(c + ".log"), logs.stdout() + logs.stderr());
                } catch (IOException e) {
                    System.out.println("cleanup: logs of " + p.container(c) + ": " + e.getMessage());
                }
            }
            removePod(p);
        }
        if (hive != null) {
            hive.close();
        }
    }

    /**
     * {@code podman pod rm --force}, again until the pod is gone: podman 4.3.1 fails it ("container not running",
     * exit 125) when a container of the pod is being restarted by its restart policy, as in a crash loop.
     */
    private static void removePod(Pod p) {
        AtomicReference<Object> last = new AtomicReference<>();
        try {
            await().atMost(SHORT).pollInterval(Duration.ofMillis(500)).until(() -> {
                try {
                    Commands.Result rm = p.podman().run(PODMAN_BOUND, "pod", "rm", "--force", "--time", "0", p.name());
                    last.set(rm);
                    return rm.ok() || !p.podman().run(SHORT, "pod", "exists", p.name()).ok();
                } catch (IOException e) {
                    last.set(e);
                    return false;
                }
            });
        } catch (ConditionTimeoutException e) {
            System.out.println("cleanup: pod " + p.name() + " not removed in " + SHORT.toSeconds() + " s: " + last.get());
        }
    }

    @Test
    void theChartsPodsRunInRealContainers() throws Exception {
        startHive();
        KubeManifests m = KubeManifests.parse(render("--set", "agent.resources.limits.cpu=" + CPU_LIMIT,
                "--set", "agent.resources.limits.memory=" + (MEMORY_LIMIT >> 20) + "Mi"));
        Map<String, Integer> ports = KubeManifests.ports(m.container("skep"));
        String password = m.secretValue("skep-auth", "password");
        play(m);

        for (Pod p : pods) {
            for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
                assertThat(probe(m, p, probe)).as(probe + " of " + p.ip()).contains(" 200 ");
            }
            assertRunsAsPodUser(m, p, "skep");
            assertRunsAsPodUser(m, p, "redis");
            assertSeesLimits(p);
            assertLogsClean(p);
        }

        // a write through one pod's write port, read through another pod's read port
        String value = "v-" + id;
        assertThat(cli(false, 0, ports.get("write"), password, "SET", "containers:key", value)).isEqualTo("OK");
        awaitReply(false, 1, ports.get("read"), password, value, "GET", "containers:key");

        failOverOnRedisKill(m, password, false, ports.get("write"));
        terminateLikeTheKubelet(m);
    }

    /**
     * A release with TLS everywhere the chart offers it at install ({@code tls.redis}, {@code tls.peers},
     * {@code tls.http}), its certificate from an existing Secret as a user makes one: a CA and one certificate with
     * the names the chart's cert-manager Certificate would have (its Services' and the peers', no pod IP: nothing in
     * the pods may check a peer by its address), made with openssl. It checks that every probe answers 200 over
     * HTTPS, with a certificate the CA signed for the name Prometheus checks; that redis listens on TLS only and
     * replicates over it; that the peer ports speak mutual TLS; that the TLS Sentinel port names the master; that a
     * write through one pod's TLS write port is read through another's TLS read port, with a client certificate of
     * the same CA, and refused without one ({@code tls.authClients: yes}); and a kill -9 failover, whose restarted
     * redis comes back on TLS as a replica.
     */
    @Test
    void aTlsReleaseRunsInRealContainers() throws Exception {
        startHive();
        tls = TlsFiles.make(runDir.resolve("tls"), certificateNames());
        KubeManifests m = KubeManifests.parse(render("--set", "tls.enabled=true", "--set", "tls.existingSecret=" + TLS_SECRET,
                "--set", "tls.redis=true", "--set", "tls.peers=true", "--set", "tls.http=true")
                + "---\n" + tls.secret(TLS_SECRET));
        Map<String, Integer> ports = KubeManifests.ports(m.container("skep"));
        assertThat(ports).containsKeys("write-tls", "read-tls", "sentinel-tls", "peer");
        String password = m.secretValue("skep-auth", "password");
        play(m);

        for (Pod p : pods) {
            for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
                assertThat(map(map(m.container("skep"), probe), "httpGet").get("scheme")).as(probe).isEqualTo("HTTPS");
                assertThat(probe(m, p, probe)).as(probe + " of " + p.ip() + " over HTTPS").contains(" 200 ");
            }
            assertLogsClean(p);
            assertRedisOnTlsOnly(p, password);
            Commands.Result peer = handshake(p, ports.get("peer"));
            assertThat(peer.exitCode()).as("TLS on the peer port of " + p.ip() + ": " + peer.stderr()).isZero();
            // s_client prints the signature algorithms of a CertificateRequest only: the agent asked for ours
            assertThat(peer.stdout()).as("the peer port of " + p.ip() + " asks for the client's certificate")
                    .contains("Verify return code: 0 (ok)", "Requested Signature Algorithms");
        }

        Pod master = awaitReplicationOverTls(password, ports.get("sentinel-tls"));
        Pod writer = pods.get((master.node() + 1) % PODS);
        Pod reader = pods.get((master.node() + 2) % PODS);
        String value = "tls-" + id;
        assertThat(cli(true, writer.node(), ports.get("write-tls"), password, "SET", "containers:tls", value)).isEqualTo("OK");
        awaitReply(true, reader.node(), ports.get("read-tls"), password, value, "GET", "containers:tls");
        Commands.Result anonymous = hive.cli(writer.node(), ports.get("write-tls"), "--tls", "--cacert", tls.ca().toString(),
                "--no-auth-warning", "-a", password, "GET", "containers:tls");
        assertThat(anonymous.ok()).as("a client with no certificate (tls.authClients: yes): " + anonymous).isFalse();
        assertThat(anonymous.stdout()).doesNotContain(value);

        failOverOnRedisKill(m, password, true, ports.get("write-tls"));
    }

    /** Starts the hive's network, with a pod (and its podman) named for each node, and Skep's image built once. */
    private void startHive() throws IOException {
        runDir = Files.createTempDirectory(Files.createDirectories(Paths.get("target").toAbsolutePath()), "containers-");
        String java = ProcessHandle.current().info().command().orElse("java");
        hive = NetnsHive.startNetwork(new NetnsHive.Options(PODS, List.of(java), runDir, null, false, System.out));
        id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
        for (int i = 0; i < PODS; i++) {
            Path dir = Files.createDirectories(runDir.resolve("pod-" + i));
            pods.add(new Pod(i, "skep-" + id + "-" + i, PodmanNode.of(hive.namespace(i), dir), dir));
        }
        if (!imageBuilt) {
            buildImage(pods.get(0).podman());
            imageBuilt = true;
        }
    }

    /** The chart rendered with this test's images and {@code values}, as helm prints it. */
    private static String render(String... values) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("--set", "image.repository=" + IMAGE_REPOSITORY,
                "--set", "image.tag=" + IMAGE_TAG, "--set", "redis.image.repository=" + ContainerImages.REDIS_REPOSITORY,
                "--set", "redis.image.tag=" + ContainerImages.REDIS_TAG));
        args.addAll(List.of(values));
        return Helm.template("default", args.toArray(String[]::new));
    }

    /** Plays one Pod per node from the manifests' Deployment and waits until every one is ready. */
    private void play(KubeManifests m) throws IOException {
        assertThat(((Number) map(m.ofKind("Deployment").get(0), "spec").get("replicas")).intValue()).isEqualTo(PODS);
        assertThat(KubeManifests.ports(m.container("skep"))).as("the ports NetnsHive's helpers use")
                .containsEntry("sentinel", NetnsHive.SENTINEL_PORT);
        long start = System.nanoTime();
        for (Pod p : pods) {
            Path file = p.dir().resolve("pod.yaml");
            Files.writeString(file, PodManifest.of(m, p.name(), p.ip(), p.dir().resolve("volumes")));
            p.podman().check(PODMAN_BOUND, "kube", "play", "--network", "host", file.toString());
        }
        for (Pod p : pods) {
            awaitProbe(m, p, "readinessProbe", Duration.ofSeconds(180));
        }
        System.out.printf("containers: %d pods ready %d ms after kube play%s%n", PODS,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), tls == null ? "" : " (TLS)");
    }

    /**
     * The DNS names of the Certificate the chart asks cert-manager for (rendered with {@code tls.certManager}): the
     * certificate this test makes has the same, as a user's would.
     */
    @SuppressWarnings("unchecked")
    private static List<String> certificateNames() throws IOException, InterruptedException {
        KubeManifests cm = KubeManifests.parse(render("--set", "tls.enabled=true", "--set", "tls.certManager.enabled=true",
                "--set", "tls.certManager.issuerRef.name=ca"));
        List<String> names = (List<String>) map(cm.ofKind("Certificate").get(0), "spec").get("dnsNames");
        assertThat(names).as("the Certificate's names").contains(PROMETHEUS_SERVER_NAME);
        return names;
    }

    /**
     * Redis answers on its TLS port only ({@code --port 0}): a plain client gets no reply, a TLS one does, and
     * replicas connect to their master over TLS ({@code tls-replication}).
     */
    private void assertRedisOnTlsOnly(Pod p, String password) throws IOException {
        Commands.Result plain = hive.cli(p.node(), NetnsHive.REDIS_PORT, "--no-auth-warning", "-a", password, "PING");
        assertThat(plain.ok()).as("a plain PING to redis of " + p.ip() + ": " + plain).isFalse();
        assertThat(plain.stdout()).doesNotContain("PONG");
        assertThat(cli(true, p.node(), NetnsHive.REDIS_PORT, password, "PING")).isEqualTo("PONG");
        assertThat(cli(true, p.node(), NetnsHive.REDIS_PORT, password, "CONFIG", "GET", "port").lines().toList())
                .as("redis's plain port").containsExactly("port", "0");
        assertThat(cli(true, p.node(), NetnsHive.REDIS_PORT, password, "CONFIG", "GET", "tls-replication").lines().toList())
                .containsExactly("tls-replication", "yes");
    }

    /**
     * Waits until the master the TLS Sentinel port names has both other pods' redis servers as online replicas, and
     * each replica's link to it is up (over TLS: no redis has a plain port); returns the master's pod.
     */
    private Pod awaitReplicationOverTls(String password, int sentinelTls) {
        String[] last = {""};
        try {
            return await().atMost(SHORT).pollInterval(Duration.ofMillis(250)).until(() -> {
                List<String> named = cli(true, 0, sentinelTls, password, "SENTINEL", "get-master-addr-by-name", "mymaster")
                        .lines().toList();
                last[0] = "Sentinel (TLS) names " + named;
                if (named.size() != 2 || hive.indexOf(named.get(0)) < 0) {
                    return null;
                }
                Pod master = pods.get(hive.indexOf(named.get(0)));
                String info = cli(true, master.node(), NetnsHive.REDIS_PORT, password, "INFO", "replication");
                last[0] += "; master " + master.ip() + ": " + info;
                boolean online = info.contains("role:master") && info.contains("connected_slaves:" + (PODS - 1));
                for (Pod r : pods) {
                    if (r != master) {
                        online &= info.contains("ip=" + r.ip() + ",port=" + NetnsHive.REDIS_PORT + ",state=online");
                        String replica = cli(true, r.node(), NetnsHive.REDIS_PORT, password, "INFO", "replication");
                        last[0] += "; " + r.ip() + ": " + replica;
                        online &= replica.contains("master_host:" + master.ip()) && replica.contains("master_link_status:up");
                    }
                }
                return online ? master : null;
            }, java.util.Objects::nonNull);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("replication over TLS not up after " + SHORT.toSeconds() + " s: " + last[0], e);
        }
    }

    /**
     * Builds Skep's image as a user would here: the repository's Dockerfile, offline, with the jar under test and
     * the Debian JRE image; then checks what it promises (non-root user 10001, {@code java -jar} entrypoint).
     */
    private void buildImage(PodmanNode podman) throws IOException {
        Path jar = Paths.get(System.getProperty("skep.jar", "agent/target/skep.jar"));
        assertThat(jar).as("the shaded jar (built by `mvn package`, before failsafe runs)").exists();
        assertThat(jar.toAbsolutePath().normalize()).as("the Dockerfile's target host-jar copies agent/target/skep.jar")
                .isEqualTo(Paths.get("agent/target/skep.jar").toAbsolutePath().normalize());
        long start = System.nanoTime();
        podman.check(Duration.ofMinutes(5), "build", "--network", "none", "--target", "host-jar", "--build-arg",
                "RUNTIME_IMAGE=" + ContainerImages.BASE_JRE, "--tag", IMAGE_REPOSITORY + ":" + IMAGE_TAG,
                Paths.get("").toAbsolutePath().toString());
        System.out.printf("containers: podman build %s:%s in %d ms%n", IMAGE_REPOSITORY, IMAGE_TAG,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        String config = podman.check(SHORT, "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Entrypoint}}",
                IMAGE_REPOSITORY + ":" + IMAGE_TAG).strip();
        // the class-data sharing archive made at image build with the image's own JRE (issue 20: a faster start)
        assertThat(config).isEqualTo("10001:10001 [\"java\",\"-XX:SharedArchiveFile=/opt/skep/skep.jsa\","
                + "\"-Xlog:cds=off\",\"-Xlog:cds+dynamic=off\",\"-jar\",\"/opt/skep/skep.jar\"]");
    }

    /** The container's main process runs as the pod's {@code runAsUser}/{@code runAsGroup}, never as root. */
    private void assertRunsAsPodUser(KubeManifests m, Pod p, String container) throws IOException {
        Map<String, Object> sc = map(m.podSpec(), "securityContext");
        String uid = sc.get("runAsUser").toString();
        String gid = sc.get("runAsGroup").toString();
        assertThat(uid).isNotEqualTo("0");
        long pid = pid(p, container);
        String status = Files.readString(Path.of("/proc/" + pid + "/status"));
        assertThat(field(status, "Uid")).as(container + " of " + p.ip() + ": real, effective, saved, fs uid")
                .isEqualTo(String.join("\t", uid, uid, uid, uid));
        assertThat(field(status, "Gid")).as(container + " of " + p.ip() + ": gids").isEqualTo(String.join("\t", gid, gid, gid, gid));
        assertThat(field(status, "NoNewPrivs")).as("allowPrivilegeEscalation: false").isEqualTo("1");
        assertThat(field(status, "CapEff")).as("capabilities dropped").isEqualTo("0000000000000000");
        Commands.Result write = p.podman().run(SHORT, "exec", p.container(container), "sh", "-c", "echo x > /skep-probe");
        assertThat(write.ok()).as("readOnlyRootFilesystem: " + write.stderr()).isFalse();
        assertThat(write.stderr()).contains("Read-only file system");
    }

    /** The JVM counts the container's CPU limit as its processors, and sizes its heap from the memory limit. */
    private void assertSeesLimits(Pod p) throws IOException {
        String metrics = http(p, NetnsHive.HTTP_PORT, "/metrics");
        Matcher cpus = Pattern.compile("(?m)^system_cpu_count ([0-9.]+)$").matcher(metrics);
        assertThat(cpus.find()).as("system_cpu_count in /metrics of " + p.ip()).isTrue();
        assertThat(Double.parseDouble(cpus.group(1))).as("Runtime.availableProcessors() with a CPU limit of " + CPU_LIMIT)
                .isEqualTo(Double.parseDouble(CPU_LIMIT));
        double heap = 0;
        Matcher h = Pattern.compile("(?m)^jvm_memory_max_bytes\\{area=\"heap\",[^}]*} ([0-9.E+-]+)$").matcher(metrics);
        while (h.find()) {
            heap += Double.parseDouble(h.group(1));
        }
        // -XX:MaxRAMPercentage=75 of the chart's javaOptions, of the container's limit (not of the machine's memory)
        assertThat(heap / MEMORY_LIMIT).as("max heap / memory limit of " + p.ip() + " (heap " + (long) heap + " bytes)")
                .isBetween(0.6, 0.8);
    }

    /** Nothing in either container's log says a file or directory was refused to it. */
    private void assertLogsClean(Pod p) throws IOException {
        for (String c : List.of("redis", "skep")) {
            Commands.Result logs = p.podman().run(SHORT, "logs", p.container(c));
            assertThat(logs.stdout() + logs.stderr()).as("log of " + p.container(c))
                    .doesNotContain("Permission denied").doesNotContain("Read-only file system").doesNotContain("AccessDenied");
        }
    }

    /**
     * Kills the master pod's redis-server (SIGKILL to the container's process, as a crash or the OOM killer would):
     * another pod's redis is promoted, writes go on through {@code writePort}, and the container, restarted by its
     * restart policy, comes back empty and replicates the new master; redis and the write port reached over TLS
     * when {@code overTls}.
     */
    private void failOverOnRedisKill(KubeManifests m, String password, boolean overTls, int writePort) throws Exception {
        Endpoint master = hive.sentinelMaster(0).orElseThrow(() -> new AssertionError("no master named by pod 0"));
        Pod old = pods.get(hive.indexOf(master.host()));
        long pid = pid(old, "redis");
        Pod other = pods.get((old.node() + 1) % PODS);
        long start = System.nanoTime();
        Commands.check("kill", "-KILL", Long.toString(pid));
        AtomicReference<Optional<Endpoint>> seen = new AtomicReference<>(Optional.empty());
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
                seen.set(hive.sentinelMaster(other.node()));
                return seen.get().isPresent() && !seen.get().get().host().equals(old.ip());
            });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("no new master 30 s after the master's redis was killed; pod " + other.ip()
                    + " names " + seen.get(), e);
        }
        System.out.printf("containers: redis of %s killed, %s promoted in %d ms%n", old.ip(), seen.get().get(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        assertThat(cli(overTls, other.node(), writePort, password, "SET", "containers:after", "failover")).isEqualTo("OK");
        AtomicLong restarts = new AtomicLong();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            restarts.set(Long.parseLong(old.podman().check(SHORT, "inspect", "--format", "{{.RestartCount}}",
                    old.container("redis")).strip()));
            assertThat(restarts.get()).as("restarts of " + old.container("redis")).isPositive();
        });
        awaitProbe(m, old, "readinessProbe", Duration.ofSeconds(60));
        awaitReply(overTls, old.node(), NetnsHive.REDIS_PORT, password, "failover", "GET", "containers:after");
        assertThat(cli(overTls, old.node(), NetnsHive.REDIS_PORT, password, "ROLE")).as("the restarted redis").startsWith("slave");
    }

    /**
     * Terminates a replica's pod as the kubelet does: each container's preStop hook (the manifests' commands, run
     * in that container) then SIGTERM to it, all within the grace period. The agent's hook ({@code sleep}) and
     * redis's ({@code sh} and {@code redis-cli}, waiting for the agent's Sentinel port to close) must exist in their
     * images and work: redis must outlive its agent, and neither may need SIGKILL.
     */
    private void terminateLikeTheKubelet(KubeManifests m) throws Exception {
        Endpoint master = hive.sentinelMaster(0).orElseThrow(() -> new AssertionError("no master named by pod 0"));
        Pod p = pods.stream().filter(x -> !x.ip().equals(master.host())).findFirst().orElseThrow();
        long grace = ((Number) m.podSpec().get("terminationGracePeriodSeconds")).longValue();
        // what redis's hook polls: the agent's Sentinel port, from the redis container (redis-cli is in its image)
        assertThat(p.podman().check(SHORT, "exec", p.container("redis"), "redis-cli", "-p",
                Integer.toString(NetnsHive.SENTINEL_PORT), "PING").strip()).isEqualTo("PONG");
        long start = System.nanoTime();
        CompletableFuture<Stopped> agent = CompletableFuture.supplyAsync(
                () -> stopContainer(m, p, "skep", grace, start, CompletableFuture.completedFuture(null)));
        CompletableFuture<Stopped> redis = CompletableFuture.supplyAsync(() -> stopContainer(m, p, "redis", grace, start, agent));
        CompletableFuture.allOf(agent, redis).get(grace + 30, TimeUnit.SECONDS);
        long total = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        System.out.printf("containers: pod %s terminated in %d ms (agent: %s, redis: %s)%n", p.ip(), total, agent.get(),
                redis.get());
        assertThat(total).as("termination within the grace period").isLessThan(TimeUnit.SECONDS.toMillis(grace));
        // the agent gets SIGTERM only once its own hook is over, and closes its Sentinel port last, after any
        // handover: a redis hook that returned before the agent's did not wait for it
        assertThat(redis.get().preStopEndMs()).as("redis's preStop waits for its agent to stop")
                .isGreaterThan(agent.get().preStopEndMs());
        Commands.Result logs = p.podman().run(SHORT, "logs", p.container("skep"));
        String log = logs.stdout() + logs.stderr(); // podman logs gives the container's stderr on its own
        int stopping = log.indexOf("stopping skep agent");
        assertThat(stopping).as("the agent logs its stop on SIGTERM").isNotNegative();
        assertThat(log.substring(stopping)).as("the agent reached its redis until it stopped")
                .doesNotContain("not reachable").doesNotContain("connect failed");
        for (String c : List.of("skep", "redis")) {
            String state = p.podman().check(SHORT, "inspect", "--format",
                    "{{.State.ExitCode}} oom={{.State.OOMKilled}} started={{.State.StartedAt}} finished={{.State.FinishedAt}} {{.State.Error}}",
                    p.container(c)).strip();
            if (state.startsWith("137")) {
                // Seen once in about ten runs (CI, 2026-12-07): redis's container recorded 137 although it stopped
                // 0.3 s after its SIGTERM, far inside the grace. What the user needs is redis's own graceful shutdown
                // (its data saved, "ready to exit" printed just before exit(0)): asserted from its log; a redis that
                // was killed before it got there still fails here, with its last lines.
                Commands.Result tail = p.podman().run(SHORT, "logs", "--tail", "40", p.container(c));
                String last = tail.stdout() + tail.stderr();
                System.out.println("containers: " + c + " of " + p.ip() + " recorded exit 137 (" + state + "); its last "
                        + "lines:\n" + last);
                assertThat(c).as(c + " of " + p.ip() + " exited on SIGTERM, not SIGKILL (137): " + state).isEqualTo("redis");
                assertThat(last).as("redis of " + p.ip() + " ended its shutdown itself (137 recorded: " + state + ")")
                        .contains("Redis is now ready to exit, bye bye");
            }
        }
        Pod survivor = pods.stream().filter(x -> x != p && !x.ip().equals(master.host())).findFirst()
                .orElse(pods.stream().filter(x -> x != p).findFirst().orElseThrow());
        assertThat(probe(m, survivor, "readinessProbe")).as("the others stay ready").contains(" 200 ");
    }

    /** When a container's preStop hook returned and when it had stopped, in ms since the pod's termination began. */
    private record Stopped(long preStopEndMs, long stoppedMs) {
    }

    /**
     * One container's end, as the kubelet does it: its preStop command inside it, then SIGTERM ({@code podman stop}),
     * SIGKILL after what is left of the grace period. SIGTERM waits for {@code before} too (the agent's end, for
     * redis), for two things of podman's that a kubelet does not do: a container that exits on a signal podman did
     * not send through {@code stop} is restarted by the restart policy; and once no container of the pod runs, the
     * pod's exit policy ("stop", what {@code kube play} gives) stops the infra container, whose end, as PID 1 of the
     * shared PID namespace, SIGKILLs an agent still closing. A kubelet removes the sandbox once every container
     * has exited, and redis's SIGTERM then comes a few milliseconds before the agent's exit at most, its Sentinel
     * port (which redis's hook waits on) being the last thing the agent closes.
     */
    private Stopped stopContainer(KubeManifests m, Pod p, String container, long grace, long start, CompletableFuture<?> before) {
        List<?> hook = (List<?>) map(map(map(m.container(container), "lifecycle"), "preStop"), "exec").get("command");
        List<String> exec = new ArrayList<>(List.of("exec", p.container(container)));
        hook.forEach(a -> exec.add(a.toString()));
        try {
            Commands.Result r = p.podman().run(Duration.ofSeconds(grace), exec.toArray(String[]::new));
            assertThat(r.exitCode()).as("preStop of " + container + " " + hook + ": " + r.stderr()).isZero();
            long preStopEnd = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            before.get(TimeUnit.SECONDS.toMillis(grace) - preStopEnd, TimeUnit.MILLISECONDS);
            long left = Math.max(1, grace - TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start));
            p.podman().check(Duration.ofSeconds(left + 15), "stop", "--time", Long.toString(left), p.container(container));
            return new Stopped(preStopEnd, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError("waiting for the agent to stop before redis's SIGTERM: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** The container's main process, as the host sees it. */
    private static long pid(Pod p, String container) throws IOException {
        return Long.parseLong(p.podman().check(SHORT, "inspect", "--format", "{{.State.Pid}}", p.container(container)).strip());
    }

    private static String field(String procStatus, String name) {
        return procStatus.lines().filter(l -> l.startsWith(name + ":")).findFirst().map(l -> l.substring(name.length() + 1).strip())
                .orElseThrow(() -> new AssertionError("no " + name + " in /proc/<pid>/status"));
    }

    /** Waits for the container's probe to answer 200, polling as the kubelet would. */
    private void awaitProbe(KubeManifests m, Pod p, String probe, Duration atMost) {
        String[] last = {""};
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(500)).until(() -> {
                last[0] = probe(m, p, probe);
                return last[0].contains(" 200 ");
            });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("pod " + p.ip() + ": " + probe + " not answering 200 after " + atMost.toSeconds()
                    + " s (last: " + last[0] + "); logs: " + p.dir(), e);
        }
    }

    /** The status line of the container's httpGet probe, from the manifest's path and (named) port. */
    private String probe(KubeManifests m, Pod p, String probe) throws IOException {
        Map<String, Object> get = map(map(m.container("skep"), probe), "httpGet");
        Object port = get.get("port");
        int number = port instanceof Number n ? n.intValue() : KubeManifests.ports(m.container("skep")).get(port.toString());
        String response = "HTTPS".equals(get.get("scheme")) ? https(p, number, get.get("path").toString())
                : http(p, number, get.get("path").toString());
        return response.lines().findFirst().orElse("(no answer)");
    }

    /** An HTTP/1.0 GET from inside the pod's node, as the kubelet's prober connects to the pod IP. */
    private String http(Pod p, int port, String path) throws IOException {
        Commands.Result r = Commands.run(List.of("ip", "netns", "exec", hive.namespace(p.node()), "bash", "-c",
                "exec 3<>/dev/tcp/" + p.ip() + "/" + port + " && printf 'GET " + path
                        + " HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && cat <&3"), Duration.ofSeconds(5));
        return r.stdout().isEmpty() ? r.stderr() : r.stdout();
    }

    /**
     * The same GET over HTTPS, the server's certificate checked against the CA and for the name Prometheus checks
     * (a kubelet checks neither: this also proves the pods serve the Secret's certificate).
     */
    private String https(Pod p, int port, String path) throws IOException {
        if (tls == null) {
            throw new AssertionError("an HTTPS probe in a release without TLS");
        }
        Commands.Result r = Commands.run(List.of("ip", "netns", "exec", hive.namespace(p.node()), "bash", "-c",
                "printf 'GET " + path + " HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' | openssl s_client -quiet -verify_return_error"
                        + " -CAfile " + tls.ca() + " -verify_hostname " + PROMETHEUS_SERVER_NAME + " -connect "
                        + p.ip() + ":" + port), Duration.ofSeconds(5));
        return r.stdout().isEmpty() ? r.stderr() : r.stdout();
    }

    /**
     * A TLS handshake with {@code port} of the pod, presenting the test's client certificate and checking the
     * server's against the CA and for the name Prometheus checks; exit 0 when it was completed.
     */
    private Commands.Result handshake(Pod p, int port) throws IOException {
        return Commands.run(List.of("ip", "netns", "exec", hive.namespace(p.node()), "openssl", "s_client",
                "-verify_return_error", "-CAfile", tls.ca().toString(), "-verify_hostname", PROMETHEUS_SERVER_NAME,
                "-cert", tls.clientCert().toString(), "-key", tls.clientKey().toString(), "-connect", p.ip() + ":" + port),
                Duration.ofSeconds(5));
    }

    /**
     * redis-cli against {@code port} of node {@code i}, authenticated, over TLS with the test's client certificate when
     * {@code overTls}; its reply, trimmed.
     */
    private String cli(boolean overTls, int i, int port, String password, String... command) throws IOException {
        List<String> args = new ArrayList<>(overTls ? tls.cliOptions() : List.of());
        args.addAll(List.of("--no-auth-warning", "-a", password));
        args.addAll(List.of(command));
        return hive.cli(i, port, args.toArray(String[]::new)).stdout().strip();
    }

    private void awaitReply(boolean overTls, int i, int port, String password, String expected, String... command) {
        String[] last = {""};
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                last[0] = cli(overTls, i, port, password, command);
                return last[0].equals(expected);
            });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(String.join(" ", command) + " on " + NetnsHive.address(i) + ":" + port + " answers '"
                    + last[0] + "', expected '" + expected + "'", e);
        }
    }
}
