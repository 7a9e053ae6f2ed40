package dev.skep.deploy;

import dev.skep.cli.AgentCommand;
import dev.skep.http.AdminHttpServer;
import dev.skep.support.Helm;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.skep.deploy.KubeManifests.list;
import static dev.skep.deploy.KubeManifests.map;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks of the chart and the plain manifests that need no cluster: the chart lints and renders (with helm,
 * which {@code .ci/install-helm} provides; the test fails saying so when it is missing), the committed
 * manifests are exactly the chart rendered with default values, every {@code SKEP_*} variable and argument
 * the pod gives the agent is one the agent accepts ({@code skep agent --check-config} run as a process with
 * the pod's environment), and the ports and probe paths are the ones the agent serves.
 */
class ManifestsTest {
    private static final Path CHART = Paths.get("deploy/helm/skep");

    @Test
    @Needs(Need.HELM)
    void chartLints() throws Exception {
        Result r = run(List.of(helm(), "lint", "--strict", CHART.toString()), Map.of());
        assertThat(r.code).as("helm lint --strict:\n" + r.out).isZero();
    }

    @Test
    @Needs(Need.HELM)
    void committedManifestsAreTheChartRenderedWithDefaults(@TempDir Path tmp) throws Exception {
        Path rendered = tmp.resolve("skep.yaml");
        Result r = run(List.of("bash", "deploy/render-manifests", rendered.toString()), Map.of("HELM", helm()));
        assertThat(r.code).as("deploy/render-manifests:\n" + r.out).isZero();
        assertThat(Files.readString(KubeManifests.COMMITTED))
                .as("deploy/kubernetes/skep.yaml differs from the chart rendered with default values: "
                        + "run deploy/render-manifests and commit the result")
                .isEqualTo(Files.readString(rendered));
    }

    @Test
    @Needs(Need.HELM)
    void chartRendersEveryOption() throws Exception {
        Result r = run(List.of(helm(), "template", "skep", CHART.toString(), "--namespace", "cache",
                "--set", "workload=StatefulSet", "--set", "serviceMonitor.enabled=true", "--set", "podAntiAffinity=hard",
                "--set", "agent.peerSecretName=skep-peer", "--set", "auth.existingSecret=mine",
                "--set", "podDisruptionBudget.enabled=false"), Map.of());
        assertThat(r.code).as(r.out).isZero();
        KubeManifests m = KubeManifests.parse(r.out);
        assertThat(m.ofKind("StatefulSet")).hasSize(1);
        assertThat(m.ofKind("Deployment")).isEmpty();
        assertThat(m.ofKind("Secret")).as("an existing Secret is not created").isEmpty();
        assertThat(m.ofKind("PodDisruptionBudget")).isEmpty();
        assertThat(m.ofKind("ServiceMonitor")).hasSize(1);
        assertThat(map(map(m.ofKind("StatefulSet").get(0), "spec"), "template").toString())
                .contains("requiredDuringSchedulingIgnoredDuringExecution", "skep-peers.cache.svc.cluster.local",
                        "peer-secret", "name=mine");

        Result bad = run(List.of(helm(), "template", "skep", CHART.toString(), "--set", "workload=DaemonSet"), Map.of());
        assertThat(bad.code).isNotZero();
        assertThat(bad.out).contains("workload: DaemonSet (expected: Deployment or StatefulSet)");
    }

    /**
     * The default needs no RBAC and mounts no token; {@code agent.election=lease} adds exactly a ServiceAccount, a
     * Role limited to the Lease and a RoleBinding, and sets variables the agent accepts.
     */
    @Test
    @Needs(Need.HELM)
    void leaseElectionAloneAddsRbacAndTheAgentAcceptsItsSettings() throws Exception {
        KubeManifests defaults = KubeManifests.read(KubeManifests.COMMITTED);
        assertThat(defaults.ofKind("ServiceAccount")).isEmpty();
        assertThat(defaults.ofKind("Role")).isEmpty();
        assertThat(defaults.ofKind("RoleBinding")).isEmpty();
        assertThat(defaults.podSpec().get("automountServiceAccountToken")).isEqualTo(false);

        Result r = run(List.of(helm(), "template", "skep", CHART.toString(), "--set", "agent.election=lease"), Map.of());
        assertThat(r.code).as(r.out).isZero();
        KubeManifests m = KubeManifests.parse(r.out);
        assertThat(m.ofKind("ServiceAccount")).hasSize(1);
        Map<String, Object> role = m.ofKind("Role").get(0);
        assertThat(role.get("rules").toString()).contains("coordination.k8s.io", "leases", "create", "get", "update",
                "skep-leader").doesNotContain("delete", "patch", "list", "watch", "pods");
        Map<String, Object> binding = m.ofKind("RoleBinding").get(0);
        assertThat(map(binding, "roleRef").get("name")).isEqualTo("skep");
        assertThat(list(binding, "subjects").get(0).get("name")).isEqualTo("skep");
        assertThat(m.podSpec().get("serviceAccountName")).isEqualTo("skep");
        assertThat(m.podSpec().get("automountServiceAccountToken")).isEqualTo(true);

        Map<String, String> env = m.environment(m.container("skep"), "10.1.2.3");
        assertThat(env).containsEntry("SKEP_ELECTION", "lease").containsEntry("SKEP_LEASE_NAME", "skep-leader")
                .containsKey("SKEP_LEASE_DURATION_S");
        assertThat(agentVariables()).containsAll(env.keySet().stream().filter(k -> k.startsWith("SKEP_")).toList());
        List<String> cmd = new ArrayList<>(List.of(javaCommand(), "-cp", System.getProperty("java.class.path"), "dev.skep.Skep"));
        cmd.addAll(KubeManifests.commandLine(m.container("skep"), env));
        cmd.add("--check-config");
        Result check = run(cmd, env);
        assertThat(check.code).as("skep agent --check-config with the lease pod's environment:\n" + check.out).isZero();
        assertThat(check.out).contains("LeaseSettings[name=skep-leader, namespace=default");

        Result bad = run(List.of(helm(), "template", "skep", CHART.toString(), "--set", "agent.election=etcd"), Map.of());
        assertThat(bad.code).isNotZero();
        assertThat(bad.out).contains("agent.election: etcd (expected: peers or lease)");
    }

    @Test
    void servicesAndPodAreWiredAsDocumented() throws IOException {
        KubeManifests m = KubeManifests.read(KubeManifests.COMMITTED);
        Map<String, Object> peers = map(m.get("Service", "skep-peers"), "spec");
        assertThat(peers.get("clusterIP")).isEqualTo("None");
        assertThat(peers.get("publishNotReadyAddresses")).isEqualTo(true);
        Set<String> podPorts = new HashSet<>(KubeManifests.ports(m.container("skep")).keySet());
        podPorts.addAll(KubeManifests.ports(m.container("redis")).keySet());
        for (Map<String, Object> svc : m.ofKind("Service")) {
            for (Map<String, Object> port : list(map(svc, "spec"), "ports")) {
                assertThat(podPorts).as("named targetPort of Service " + map(svc, "metadata").get("name"))
                        .contains(port.get("targetPort").toString());
            }
        }
        assertThat(targetPorts(m, "skep")).containsExactly("write");
        assertThat(targetPorts(m, "skep-read")).containsExactly("read");
        assertThat(targetPorts(m, "skep-sentinel")).containsExactly("sentinel");
        assertThat(m.ofKind("PodDisruptionBudget")).hasSize(1);

        Map<String, Object> pod = m.podSpec();
        assertThat(map(pod, "securityContext").get("runAsNonRoot")).isEqualTo(true);
        for (String c : List.of("redis", "skep")) {
            assertThat(map(m.container(c), "securityContext").get("readOnlyRootFilesystem")).as(c).isEqualTo(true);
        }
        List<String> redisArgs = KubeManifests.commandLine(m.container("redis"), Map.of());
        assertThat(String.join(" ", redisArgs)).contains("--save  --appendonly no",
                "--requirepass $(REDIS_PASSWORD) --masterauth $(REDIS_PASSWORD)");
        // the grace period covers the preStop pause, the longest handover and the agent's 2 s client drain
        Map<String, String> env = m.environment(m.container("skep"), "10.1.2.3");
        int preStop = preStopSleepSeconds(m.container("skep"));
        long graceMs = ((Number) pod.get("terminationGracePeriodSeconds")).longValue() * 1000;
        assertThat(graceMs).isGreaterThanOrEqualTo(preStop * 1000L + Long.parseLong(env.get("SKEP_HANDOVER_TIMEOUT_MS")) + 2000 + 2000);
    }

    @Test
    void agentAcceptsEveryVariableAndArgumentThePodSets() throws Exception {
        KubeManifests m = KubeManifests.read(KubeManifests.COMMITTED);
        Map<String, Object> skep = m.container("skep");
        Map<String, String> env = m.environment(skep, "10.1.2.3");
        Set<String> known = agentVariables();
        for (String name : env.keySet()) {
            if (name.startsWith("SKEP_")) {
                assertThat(known).as("variable " + name + " set by the manifests").contains(name);
            }
        }
        // the image's CMD is replaced by the container's args: `skep <args>`
        List<String> cmd = new ArrayList<>(List.of(javaCommand(), "-cp", System.getProperty("java.class.path"), "dev.skep.Skep"));
        cmd.addAll(KubeManifests.commandLine(skep, env));
        cmd.add("--check-config");
        Result r = run(cmd, env);
        assertThat(r.code).as("skep agent --check-config with the pod's environment:\n" + r.out).isZero();
        assertThat(r.out).contains("configuration ok", "skep-peers.default.svc.cluster.local", "10.1.2.3")
                .doesNotContain(m.secretValue("skep-auth", "password"));

        // a misspelt value must fail the same check: the check can fail
        Map<String, String> broken = new java.util.HashMap<>(env);
        broken.put("SKEP_QUORUM", "most");
        assertThat(run(cmd, broken).code).isEqualTo(2);
    }

    @Test
    void portsAndProbesAreWhatTheAgentServes() throws Exception {
        KubeManifests m = KubeManifests.read(KubeManifests.COMMITTED);
        Map<String, Object> skep = m.container("skep");
        Map<String, Integer> ports = KubeManifests.ports(skep);
        Map<String, String> env = m.environment(skep, "10.1.2.3");
        // the ports the pod declares are the ones the environment gives the agent, and the agent's defaults
        Map<String, String> byName = Map.of("write", "SKEP_PROXY_PORT", "read", "SKEP_READ_PORT",
                "sentinel", "SKEP_SENTINEL_PORT", "peer", "SKEP_PEER_PORT", "http", "SKEP_HTTP_PORT");
        Map<String, Integer> defaults = agentDefaults();
        byName.forEach((port, variable) -> {
            assertThat(ports.get(port)).as(port + " port").isEqualTo(Integer.parseInt(env.get(variable)));
            assertThat(ports.get(port)).as(port + " port vs the agent's default").isEqualTo(defaults.get(variable));
        });
        assertThat(env.get("SKEP_REDIS")).isEqualTo("127.0.0.1:" + KubeManifests.ports(m.container("redis")).get("redis"));

        AdminHttpServer admin = new AdminHttpServer("127.0.0.1", 0, () -> null);
        admin.start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
                Map<String, Object> get = map(map(skep, probe), "httpGet");
                assertThat(get.get("port")).as(probe + " port").isEqualTo("http");
                HttpResponse<String> resp = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + admin.port() + get.get("path"))).build(),
                        HttpResponse.BodyHandlers.ofString());
                // with no status yet /readyz says 503 "starting": known paths only, never 404
                assertThat(resp.statusCode()).as(probe + " " + get.get("path")).isIn(200, 503);
            }
            assertThat(map(map(skep, "readinessProbe"), "httpGet").get("path")).isEqualTo("/readyz");
            assertThat(map(map(skep, "livenessProbe"), "httpGet").get("path")).isEqualTo("/livez");
        } finally {
            admin.close();
        }
    }

    private static List<String> targetPorts(KubeManifests m, String service) {
        return list(map(m.get("Service", service), "spec"), "ports").stream().map(p -> p.get("targetPort").toString()).toList();
    }

    private static int preStopSleepSeconds(Map<String, Object> container) {
        List<?> cmd = (List<?>) map(map(map(container, "lifecycle"), "preStop"), "exec").get("command");
        assertThat(cmd.get(0)).isEqualTo("sleep");
        return Integer.parseInt(cmd.get(1).toString());
    }

    private static final Pattern ENV_DEFAULT = Pattern.compile("\\$\\{env:(SKEP_[A-Z_]+)(?::-([^}]*))?}");

    /** Every SKEP_* variable behind a flag of {@code skep agent}, read from the options' defaults. */
    private static Set<String> agentVariables() {
        Set<String> names = new HashSet<>();
        for (Field f : AgentCommand.class.getDeclaredFields()) {
            CommandLine.Option o = f.getAnnotation(CommandLine.Option.class);
            if (o != null) {
                Matcher matcher = ENV_DEFAULT.matcher(o.defaultValue());
                if (matcher.find()) {
                    names.add(matcher.group(1));
                }
            }
        }
        assertThat(names).as("AgentCommand's variables").contains("SKEP_PEERS_DNS", "SKEP_REDIS_PASSWORD");
        return names;
    }

    /** The agent's numeric defaults by variable. */
    private static Map<String, Integer> agentDefaults() {
        Map<String, Integer> d = new java.util.HashMap<>();
        for (Field f : AgentCommand.class.getDeclaredFields()) {
            CommandLine.Option o = f.getAnnotation(CommandLine.Option.class);
            Matcher matcher = o == null ? null : ENV_DEFAULT.matcher(o.defaultValue());
            if (matcher != null && matcher.find() && matcher.group(2) != null && matcher.group(2).matches("\\d+")) {
                d.put(matcher.group(1), Integer.parseInt(matcher.group(2)));
            }
        }
        return d;
    }

    /** helm 3: $HELM, on the PATH, or where .ci/install-helm puts it; fails saying how to get it. */
    static String helm() {
        try {
            return Helm.executable();
        } catch (IllegalStateException e) {
            throw new AssertionError(e.getMessage());
        }
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private record Result(int code, String out) {
    }

    /** Runs {@code cmd} with only PATH/HOME of this environment plus {@code env}; output and error merged. */
    private static Result run(List<String> cmd, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        // no SKEP_* of the caller leaks in: only what the pod sets
        pb.environment().keySet().removeIf(k -> k.startsWith("SKEP_") || k.equals("JAVA_TOOL_OPTIONS"));
        // the pod's JAVA_TOOL_OPTIONS too: a JVM option the runtime rejects fails here
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
