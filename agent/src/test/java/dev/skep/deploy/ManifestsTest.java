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
        Result tls = run(List.of(helm(), "lint", "--strict", CHART.toString(), "--set", "tls.enabled=true", "--set",
                "tls.certManager.enabled=true", "--set", "tls.certManager.issuerRef.name=ca", "--set",
                "auth.agentUser=skep", "--set", "auth.aclUsers[0]=app on >secret +@read", "--set",
                "serviceMonitor.enabled=true", "--set", "workload=StatefulSet", "--set", "auth.rotation.enabled=true",
                "--set", "auth.agentRules=-@all +ping +acl|setuser"), Map.of());
        assertThat(tls.code).as("helm lint --strict with TLS and ACL users:\n" + tls.out).isZero();
        Result options = run(List.of(helm(), "lint", "--strict", CHART.toString(), "--set", "workload=StatefulSet",
                "--set", "persistence.enabled=true", "--set", "networkPolicy.enabled=true", "--set",
                "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true", "--set",
                "serviceMonitor.enabled=true", "--set", "podDisruptionBudget.minAvailable=2"), Map.of());
        assertThat(options.code).as("helm lint --strict with every optional object:\n" + options.out).isZero();
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

    /**
     * TLS from an existing Secret: TLS ports next to the plain ones on the pod and the Services, redis on TLS only with
     * the mounted files, the agent's variables pointing at the same files, the Secret mounted read-only in both
     * containers, probes and the ServiceMonitor over HTTPS, and the agent accepts it all.
     */
    @Test
    @Needs(Need.HELM)
    void tlsFromASecretReachesEveryPortLinkAndProbe() throws Exception {
        KubeManifests m = render("--namespace", "cache", "--set", "tls.enabled=true", "--set", "tls.existingSecret=mine-tls",
                "--set", "serviceMonitor.enabled=true");
        assertThat(m.ofKind("Certificate")).as("an existing Secret needs no Certificate").isEmpty();
        Map<String, Object> skep = m.container("skep");
        Map<String, Object> redis = m.container("redis");
        Map<String, String> env = m.environment(skep, "10.1.2.3");
        Map<String, Integer> ports = KubeManifests.ports(skep);

        // plain ports stay, each TLS port is the one the agent is told, and each Service offers both
        Map<String, String> tlsPorts = Map.of("write-tls", "SKEP_TLS_PROXY_PORT", "read-tls", "SKEP_TLS_READ_PORT",
                "sentinel-tls", "SKEP_TLS_SENTINEL_PORT");
        tlsPorts.forEach((port, variable) -> assertThat(ports.get(port)).as(port)
                .isEqualTo(Integer.parseInt(env.get(variable))));
        assertThat(ports).containsKeys("write", "read", "sentinel", "peer", "http");
        assertThat(targetPorts(m, "skep")).containsExactly("write", "write-tls");
        assertThat(targetPorts(m, "skep-read")).containsExactly("read", "read-tls");
        assertThat(targetPorts(m, "skep-sentinel")).containsExactly("sentinel", "sentinel-tls");
        assertThat(servicePort(m, "skep", "write-tls")).isEqualTo(6380);
        assertThat(servicePort(m, "skep", "write")).isEqualTo(6379);
        assertNamedTargetPortsExist(m);

        // the agent's files are in the Secret's mount, in both containers, read-only
        assertThat(mountOf(m, "skep", "tls")).isEqualTo(mountOf(m, "redis", "tls")).isEqualTo(TLS_DIR);
        assertThat(volume(m, "tls").toString()).contains("secretName=mine-tls");
        assertThat(env).containsEntry("SKEP_TLS_CERT_FILE", TLS_DIR + "/tls.crt")
                .containsEntry("SKEP_TLS_KEY_FILE", TLS_DIR + "/tls.key")
                .containsEntry("SKEP_TLS_CA_CERT_FILE", TLS_DIR + "/ca.crt")
                .containsEntry("SKEP_TLS_AUTH_CLIENTS", "yes").containsEntry("SKEP_TLS_REDIS", "true")
                .containsEntry("SKEP_TLS_PEERS", "true").containsEntry("SKEP_TLS_HTTP", "true")
                .containsEntry("SKEP_TLS_RELOAD_MS", "10000");

        // redis: TLS only, on the port the agent reaches, with the same files; replicas replicate over TLS
        String redisArgs = String.join(" ", KubeManifests.commandLine(redis, m.environment(redis, "10.1.2.3")));
        assertThat(redisArgs).contains("--port 0 --tls-port 6379",
                "--tls-cert-file " + TLS_DIR + "/tls.crt", "--tls-key-file " + TLS_DIR + "/tls.key",
                "--tls-ca-cert-file " + TLS_DIR + "/ca.crt", "--tls-auth-clients yes", "--tls-replication yes",
                "CONFIG SET tls-cert-file", "exec redis-server");
        assertThat(env.get("SKEP_REDIS")).isEqualTo("127.0.0.1:" + KubeManifests.ports(redis).get("redis"));

        // redis's preStop still waits on the agent's plain Sentinel port, which TLS leaves in place
        String preStop = map(map(map(redis, "lifecycle"), "preStop"), "exec").get("command").toString();
        assertThat(preStop).contains("redis-cli -p " + env.get("SKEP_SENTINEL_PORT") + " PING").doesNotContain("--tls");
        assertThat(ports.get("sentinel")).isEqualTo(Integer.parseInt(env.get("SKEP_SENTINEL_PORT")));

        // the kubelet probes the HTTPS admin port over HTTPS; Prometheus too, checking the CA and a name of the certificate
        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
            assertThat(map(map(skep, probe), "httpGet").get("scheme")).as(probe).isEqualTo("HTTPS");
        }
        Map<String, Object> endpoint = list(map(m.ofKind("ServiceMonitor").get(0), "spec"), "endpoints").get(0);
        assertThat(endpoint.get("scheme")).isEqualTo("https");
        assertThat(map(endpoint, "tlsConfig").toString()).contains("name=mine-tls", "key=ca.crt",
                "serverName=skep-peers.cache.svc");

        assertAgentAccepts(m, "cache").contains(TLS_DIR + "/tls.crt", "redis=true, peers=ON, http=true");

        // admin over plain HTTP, redis plain: probes and scraping follow, redis keeps its plain port
        KubeManifests plain = render("--set", "tls.enabled=true", "--set", "tls.existingSecret=mine-tls", "--set",
                "tls.http=false", "--set", "tls.redis=false", "--set", "serviceMonitor.enabled=true");
        assertThat(map(map(plain.container("skep"), "readinessProbe"), "httpGet")).doesNotContainKey("scheme");
        assertThat(list(map(plain.ofKind("ServiceMonitor").get(0), "spec"), "endpoints").get(0)).doesNotContainKey("scheme");
        assertThat(String.join(" ", KubeManifests.commandLine(plain.container("redis"), Map.of())))
                .contains("--port 6379").doesNotContain("--tls-port");
        assertThat(plain.environment(plain.container("skep"), "10.1.2.3")).containsEntry("SKEP_TLS_REDIS", "false");
        assertAgentAccepts(plain, "default");
    }

    /**
     * TLS from cert-manager: a Certificate whose Secret the pod mounts, with the key the agent can read (PKCS#8, ECDSA
     * P-256), server and client use (agents and redis servers present it to each other) and the name of every
     * Service, in the short and the long forms clients use.
     */
    @Test
    @Needs(Need.HELM)
    void certManagerCertificateCoversEveryServiceAndSuitsTheAgent() throws Exception {
        KubeManifests m = render("--namespace", "cache", "--set", "tls.enabled=true", "--set",
                "tls.certManager.enabled=true", "--set", "tls.certManager.issuerRef.name=hive-ca", "--set",
                "tls.certManager.issuerRef.kind=ClusterIssuer", "--set", "tls.certManager.duration=720h", "--set",
                "tls.certManager.renewBefore=240h", "--set", "workload=StatefulSet", "--set",
                "tls.certManager.extraDnsNames={redis.example.com}");
        List<Map<String, Object>> certificates = m.ofKind("Certificate");
        assertThat(certificates).hasSize(1);
        Map<String, Object> cert = certificates.get(0);
        assertThat(cert.get("apiVersion")).isEqualTo("cert-manager.io/v1");
        Map<String, Object> spec = map(cert, "spec");
        assertThat(volume(m, "tls").toString()).contains("secretName=" + spec.get("secretName"));
        assertThat(map(spec, "privateKey")).containsEntry("algorithm", "ECDSA").containsEntry("size", 256)
                .containsEntry("encoding", "PKCS8");
        assertThat(strings(spec.get("usages"))).contains("server auth", "client auth");
        assertThat(spec).containsEntry("duration", "720h").containsEntry("renewBefore", "240h");
        assertThat(map(spec, "issuerRef")).containsEntry("name", "hive-ca").containsEntry("kind", "ClusterIssuer")
                .containsEntry("group", "cert-manager.io");
        List<String> names = strings(spec.get("dnsNames"));
        for (Map<String, Object> svc : m.ofKind("Service")) {
            String name = map(svc, "metadata").get("name").toString();
            assertThat(names).as("names of Service " + name).contains(name, name + ".cache", name + ".cache.svc",
                    name + ".cache.svc.cluster.local");
        }
        assertThat(names).contains("*.skep-peers.cache.svc.cluster.local", "redis.example.com");
        assertAgentAccepts(m, "cache");
    }

    /**
     * auth.agentUser: the agent authenticates as its own ACL user with the password under agent-password, redis defines
     * that user (and only with the rights of auth.agentRules) and replicates as it, the clients' password stays the
     * default user's, and auth.aclUsers become redis users.
     */
    @Test
    @Needs(Need.HELM)
    void aclUsersAreDefinedOnRedisAndTheAgentUsesItsOwn() throws Exception {
        KubeManifests m = render("--set", "auth.agentUser=skep", "--set", "auth.password=clients-secret", "--set",
                "auth.aclUsers[0]=app on >$(APP_PASSWORD) ~app:* +@read +@write", "--set", "auth.aclUsers[1]=ops on #"
                        + "a".repeat(64) + " +@all", "--set", "redis.extraEnv[0].name=APP_PASSWORD", "--set",
                "redis.extraEnv[0].value=app-secret");
        String agentPassword = m.secretValue("skep-auth", "agent-password");
        assertThat(agentPassword).hasSize(32).isNotEqualTo(m.secretValue("skep-auth", "password"));
        assertThat(m.secretValue("skep-auth", "password")).isEqualTo("clients-secret");

        Map<String, String> env = m.environment(m.container("skep"), "10.1.2.3");
        assertThat(env).containsEntry("SKEP_REDIS_USER", "skep").containsEntry("SKEP_REDIS_PASSWORD", agentPassword);

        Map<String, Object> redis = m.container("redis");
        String args = String.join(" ", KubeManifests.commandLine(redis, m.environment(redis, "10.1.2.3")));
        assertThat(args).contains("--requirepass clients-secret", "--masteruser skep --masterauth " + agentPassword,
                "--user skep reset on >" + agentPassword + " -@all +ping +info +config|set +replicaof +client|pause "
                        + "+client|unpause +psync +replconf --",
                "--user app on >app-secret ~app:* +@read +@write --", "--user ops on #" + "a".repeat(64) + " +@all --");
        assertAgentAccepts(m, "default").contains("redisUser=skep").doesNotContain(agentPassword);

        // without an agent user nothing changes: the agent is redis's default user, with the clients' password
        KubeManifests defaults = KubeManifests.read(KubeManifests.COMMITTED);
        assertThat(defaults.environment(defaults.container("skep"), "10.1.2.3")).doesNotContainKey("SKEP_REDIS_USER");
        assertThat(String.join(" ", KubeManifests.commandLine(defaults.container("redis"), Map.of())))
                .doesNotContain("--user", "--masteruser");
    }

    /**
     * auth.rotation: the password Secret is mounted read-only in both containers and no password is in either's
     * environment; the agent reads its password from the mounted file (and rotates a new one written there), redis
     * takes requirepass and masterauth from the same file at each start (the script that reads it: ChartRedisIT),
     * and the TLS reload loop authenticates with the file's password of the moment. With auth.agentUser, the file is
     * the agent's key, in masterauth and the user's line. Off by default: nothing mounted.
     */
    @Test
    @Needs(Need.HELM)
    void passwordRotationReadsEveryPasswordFromTheMountedSecret() throws Exception {
        KubeManifests m = render("--set", "auth.rotation.enabled=true", "--set", "auth.rotation.windowSeconds=30",
                "--set", "auth.password=clients-secret");
        assertThat(volume(m, "auth").toString()).contains("secretName=skep-auth");
        assertThat(mountOf(m, "skep", "auth")).isEqualTo(mountOf(m, "redis", "auth")).isEqualTo(AUTH_DIR);
        Map<String, String> env = m.environment(m.container("skep"), "10.1.2.3");
        assertThat(env).containsEntry("SKEP_REDIS_PASSWORD_FILE", AUTH_DIR + "/password")
                .containsEntry("SKEP_PASSWORD_ROTATION_WINDOW_MS", "30000").doesNotContainKey("SKEP_REDIS_PASSWORD")
                .doesNotContainValue("clients-secret");
        Map<String, Object> redis = m.container("redis");
        assertThat(m.environment(redis, "10.1.2.3")).doesNotContainValue("clients-secret");
        String redisArgs = String.join(" ", KubeManifests.commandLine(redis, Map.of()));
        assertThat(redisArgs).contains("--requirepass file:" + AUTH_DIR + "/password --masterauth file:" + AUTH_DIR
                + "/password", "file:" + AUTH_DIR + "/*) a=`pw", "exec redis-server \"$@\"").doesNotContain("$(");
        assertAgentAccepts(m, "default").contains("/auth/password, windowMs=30000")
                .doesNotContain("clients-secret");

        // the agent's own user: its key rotates, with the right to set its password; TLS's loop reads the key too
        KubeManifests user = render("--set", "auth.rotation.enabled=true", "--set", "auth.agentUser=skep", "--set",
                "auth.agentRules=-@all +ping +info +config|set +replicaof +acl|setuser +psync +replconf", "--set",
                "tls.enabled=true", "--set", "tls.existingSecret=mine-tls");
        assertThat(user.environment(user.container("skep"), "10.1.2.3"))
                .containsEntry("SKEP_REDIS_PASSWORD_FILE", AUTH_DIR + "/agent-password").containsEntry("SKEP_REDIS_USER", "skep");
        String userArgs = String.join(" ", KubeManifests.commandLine(user.container("redis"), Map.of()));
        assertThat(userArgs).contains("--requirepass file:" + AUTH_DIR + "/password",
                "--masteruser skep --masterauth file:" + AUTH_DIR + "/agent-password",
                "--user skep reset on >file:" + AUTH_DIR + "/agent-password -@all +ping",
                "auth=`pw " + AUTH_DIR + "/agent-password`", "REDISCLI_AUTH=\"$auth\"", "CONFIG SET tls-cert-file");
        assertAgentAccepts(user, "default").contains("redisUser=skep", "/auth/agent-password, windowMs=60000");

        KubeManifests defaults = KubeManifests.read(KubeManifests.COMMITTED);
        assertThat(list(defaults.podSpec(), "volumes")).noneMatch(v -> "auth".equals(v.get("name")));
        assertThat(defaults.environment(defaults.container("skep"), "10.1.2.3")).containsKey("SKEP_REDIS_PASSWORD")
                .doesNotContainKey("SKEP_REDIS_PASSWORD_FILE");
    }

    /** Combinations that cannot work fail the render, saying what to set. */
    @Test
    @Needs(Need.HELM)
    void badTlsAndAclCombinationsFailTheRender() throws Exception {
        Map<List<String>, String> cases = new java.util.LinkedHashMap<>();
        cases.put(List.of("tls.enabled=true"), "tls.enabled needs the certificates: tls.existingSecret");
        cases.put(List.of("tls.enabled=true", "tls.existingSecret=x", "tls.certManager.enabled=true"),
                "tls.existingSecret and tls.certManager.enabled: choose one");
        cases.put(List.of("tls.enabled=true", "tls.certManager.enabled=true"),
                "tls.certManager.enabled needs tls.certManager.issuerRef.name");
        cases.put(List.of("tls.existingSecret=x"), "tls.existingSecret or tls.certManager.enabled is set but tls.enabled is false");
        cases.put(List.of("tls.enabled=true", "tls.existingSecret=x", "tls.authClients=maybe"),
                "tls.authClients: maybe (expected: yes, optional or no)");
        cases.put(List.of("tls.enabled=true", "tls.existingSecret=x", "ports.tlsWrite=6380"),
                "ports: two ports of the pod are the same");
        cases.put(List.of("auth.agentUser=default"), "auth.agentUser: default is redis's default user");
        cases.put(List.of("auth.agentUser=skep", "auth.aclUsers[0]=skep on +@all"), "auth.aclUsers: skep is auth.agentUser");
        cases.put(List.of("auth.rotation.enabled=true", "auth.agentUser=skep"),
                "auth.rotation.enabled with auth.agentUser: the agent rotates its own user's password with ACL SETUSER, "
                        + "which auth.agentRules does not grant. Add +acl|setuser to auth.agentRules");
        cases.put(List.of("auth.rotation.enabled=true", "auth.rotation.windowSeconds=-1"),
                "auth.rotation.windowSeconds: -1 (expected: 0 or more)");
        for (Map.Entry<List<String>, String> c : cases.entrySet()) {
            List<String> cmd = new ArrayList<>(List.of(helm(), "template", "skep", CHART.toString()));
            c.getKey().forEach(v -> cmd.addAll(List.of("--set", v)));
            Result r = run(cmd, Map.of());
            assertThat(r.code).as(String.valueOf(c.getKey())).isNotZero();
            assertThat(r.out).as(String.valueOf(c.getKey())).contains(c.getValue());
        }
        // YAML reads an unquoted no as false: the chart still gives redis and the agent "no"
        KubeManifests no = render("--set", "tls.enabled=true", "--set", "tls.existingSecret=x", "--set", "tls.authClients=false");
        assertThat(no.environment(no.container("skep"), "10.1.2.3")).containsEntry("SKEP_TLS_AUTH_CLIENTS", "no");
    }

    /**
     * On an upgrade, the chart compares the live workload with the new values (helm's lookup, which helm template
     * leaves empty: here a copy of the chart hands the check a live workload of its own) and refuses the changes
     * that old and new pods cannot live through side by side; TLS on the client ports alone is a rolling change.
     */
    @Test
    @Needs(Need.HELM)
    void upgradesThatOldAndNewPodsCannotLiveThroughTogetherAreRefused(@TempDir Path tmp) throws Exception {
        Path chart = tmp.resolve("skep");
        try (var files = Files.walk(CHART)) {
            for (Path f : files.toList()) {
                Path to = chart.resolve(CHART.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        Files.writeString(chart.resolve("templates/zz-upgrade-check.yaml"),
                "{{- include \"skep.upgradeCheck\" (dict \"old\" .Values.liveWorkload \"ctx\" .) }}\n");
        Map<String, Object> live = KubeManifests.read(KubeManifests.COMMITTED).ofKind("Deployment").get(0);
        Path liveValues = tmp.resolve("live.yaml");
        Files.writeString(liveValues, new org.yaml.snakeyaml.Yaml().dump(Map.of("liveWorkload", live)));
        Map<String, Object> stopped = new java.util.HashMap<>(live);
        Map<String, Object> stoppedSpec = new java.util.HashMap<>(map(live, "spec"));
        stoppedSpec.put("replicas", 0);
        stopped.put("spec", stoppedSpec);
        Path stoppedValues = tmp.resolve("stopped.yaml");
        Files.writeString(stoppedValues, new org.yaml.snakeyaml.Yaml().dump(Map.of("liveWorkload", stopped)));

        java.util.function.BiFunction<Path, List<String>, Result> upgrade = (values, sets) -> {
            List<String> cmd = new ArrayList<>(List.of(helm(), "template", "skep", chart.toString(), "-f", values.toString()));
            sets.forEach(v -> cmd.addAll(List.of("--set", v)));
            try {
                return run(cmd, Map.of());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        List<String> tls = List.of("tls.enabled=true", "tls.existingSecret=x");
        Result peers = upgrade.apply(liveValues, tls);
        assertThat(peers.code).isNotZero();
        assertThat(peers.out).contains("tls.enabled/tls.peers", "cannot jump from \"false\" to \"true\"",
                "false -> accept -> prefer -> true");
        // one step at a time is allowed: old and new agents of neighbouring steps hear each other
        Result firstStep = upgrade.apply(liveValues, List.of("tls.enabled=true", "tls.existingSecret=x",
                "tls.peers=accept", "tls.redis=false"));
        assertThat(firstStep.code).as(firstStep.out).isZero();
        assertThat(firstStep.out).contains("value: \"accept\"");
        Result redis = upgrade.apply(liveValues, List.of("tls.enabled=true", "tls.existingSecret=x", "tls.peers=false"));
        assertThat(redis.out).contains("tls.enabled/tls.redis");
        Result user = upgrade.apply(liveValues, List.of("auth.agentUser=skep"));
        assertThat(user.out).contains("auth.agentUser", "SKEP_REDIS_USER: \"\" -> \"skep\"");

        Result clientPortsOnly = upgrade.apply(liveValues, List.of("tls.enabled=true", "tls.existingSecret=x",
                "tls.peers=false", "tls.redis=false"));
        assertThat(clientPortsOnly.code).as(clientPortsOnly.out).isZero();
        assertThat(upgrade.apply(liveValues, List.of()).code).isZero();
        Result noPodLeft = upgrade.apply(stoppedValues, tls);
        assertThat(noPodLeft.code).as(noPodLeft.out).isZero();
    }

    @Test
    void servicesAndPodAreWiredAsDocumented() throws IOException {
        KubeManifests m = KubeManifests.read(KubeManifests.COMMITTED);
        Map<String, Object> peers = map(m.get("Service", "skep-peers"), "spec");
        assertThat(peers.get("clusterIP")).isEqualTo("None");
        assertThat(peers.get("publishNotReadyAddresses")).isEqualTo(true);
        assertNamedTargetPortsExist(m);
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

    /**
     * The optional objects are absent by default and, when on, select exactly this release: the ServiceMonitor the
     * peers Service alone (every pod once, ready or not), the PrometheusRule the series of that Service's targets, the
     * dashboard ConfigMap carries the repository's JSON with the label Grafana's sidecar looks for.
     */
    @Test
    @Needs(Need.HELM)
    void monitoringObjectsAreOptionalAndSelectThisRelease() throws Exception {
        KubeManifests defaults = KubeManifests.read(KubeManifests.COMMITTED);
        for (String kind : List.of("ServiceMonitor", "PrometheusRule", "ConfigMap", "NetworkPolicy")) {
            assertThat(defaults.ofKind(kind)).as(kind + " by default").isEmpty();
        }

        KubeManifests m = render("--namespace", "cache", "--set", "serviceMonitor.enabled=true", "--set",
                "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true", "--set",
                "prometheusRule.labels.release=kps", "--set", "prometheusRule.alertLabels.team=cache", "--set",
                "grafanaDashboard.annotations.grafana_folder=Redis");
        Map<String, Object> monitor = m.ofKind("ServiceMonitor").get(0);
        Map<String, Object> wanted = map(map(monitor, "spec"), "selector");
        List<String> selected = m.ofKind("Service").stream().filter(svc -> map(map(svc, "metadata"), "labels")
                .entrySet().containsAll(map(wanted, "matchLabels").entrySet()))
                .map(svc -> map(svc, "metadata").get("name").toString()).toList();
        assertThat(selected).as("Services the ServiceMonitor selects").containsExactly("skep-peers");
        Map<String, Object> endpoint = list(map(monitor, "spec"), "endpoints").get(0);
        assertThat(endpoint).containsEntry("port", "http").containsEntry("path", "/metrics");
        assertThat(list(map(m.get("Service", "skep-peers"), "spec"), "ports")).anyMatch(p -> "http".equals(p.get("name")));

        // prometheus-operator names a target's job after its Service: the rules select those series
        Map<String, Object> rule = m.ofKind("PrometheusRule").get(0);
        assertThat(map(map(rule, "metadata"), "labels")).containsEntry("release", "kps");
        List<Map<String, Object>> rules = list(list(map(rule, "spec"), "groups").get(0), "rules");
        assertThat(rules).extracting(r -> r.get("alert")).contains("SkepNoMaster", "SkepMultipleMasters",
                "SkepAgentDown", "SkepMembersMissing", "SkepNodeNotReady", "SkepReplicaLagging",
                "SkepFrequentFailovers", "SkepWritesRefused", "SkepPeerMessagesRejected", "SkepMixedVersions")
                .doesNotContain("SkepCertificateExpiresSoon");
        for (Map<String, Object> r : rules) {
            assertThat(r.get("expr").toString()).as(r.get("alert").toString())
                    .contains("namespace=\"cache\", job=\"skep-peers\"");
            assertThat(map(r, "labels")).as(r.get("alert").toString()).containsKey("severity")
                    .containsEntry("team", "cache");
            assertThat(map(r, "annotations")).containsKeys("summary", "description");
        }
        assertThat(rules.stream().filter(r -> r.get("alert").equals("SkepMembersMissing")).findFirst().orElseThrow()
                .get("expr").toString()).endsWith("< 3");

        Map<String, Object> dashboard = m.get("ConfigMap", "skep-dashboard");
        assertThat(map(map(dashboard, "metadata"), "labels")).containsEntry("grafana_dashboard", "1");
        assertThat(map(map(dashboard, "metadata"), "annotations")).containsEntry("grafana_folder", "Redis");
        String json = map(dashboard, "data").get("skep.json").toString();
        assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json))
                .isEqualTo(new com.fasterxml.jackson.databind.ObjectMapper().readTree(DASHBOARD.toFile()));

        // with TLS the certificate's expiry is watched; an alert can be left out; a selector of one's own
        KubeManifests tls = render("--set", "prometheusRule.enabled=true", "--set", "tls.enabled=true", "--set",
                "tls.existingSecret=x", "--set", "prometheusRule.disabled={SkepFrequentFailovers}", "--set",
                "prometheusRule.selector=cluster=\"eu\"\\,service=\"redis\"");
        List<Map<String, Object>> tlsRules = list(list(map(tls.ofKind("PrometheusRule").get(0), "spec"), "groups").get(0),
                "rules");
        assertThat(tlsRules).extracting(r -> r.get("alert")).contains("SkepCertificateExpiresSoon")
                .doesNotContain("SkepFrequentFailovers");
        assertThat(tlsRules).allSatisfy(r -> assertThat(r.get("expr").toString()).contains("cluster=\"eu\",service=\"redis\""));
    }

    /**
     * The NetworkPolicy opens the peer, redis and admin ports to the hive's own pods, the client ports (and redis, for
     * Sentinel-aware clients) to the clients given, the admin port to the metrics source, each by a port name the pod
     * really has.
     */
    @Test
    @Needs(Need.HELM)
    void networkPolicyOpensEachPortToWhoNeedsIt() throws Exception {
        KubeManifests m = render("--set", "networkPolicy.enabled=true", "--set", "tls.enabled=true", "--set",
                "tls.existingSecret=x", "--set", "networkPolicy.clients[0].namespaceSelector.matchLabels.team=shop",
                "--set", "networkPolicy.metrics[0].namespaceSelector.matchLabels.name=monitoring");
        Map<String, Object> spec = map(m.ofKind("NetworkPolicy").get(0), "spec");
        Map<String, Object> podLabels = map(map(map(map(m.ofKind("Deployment").get(0), "spec"), "template"), "metadata"),
                "labels");
        assertThat(podLabels.entrySet()).containsAll(map(map(spec, "podSelector"), "matchLabels").entrySet());
        assertThat(strings(spec.get("policyTypes"))).containsExactly("Ingress");
        Set<String> podPorts = new HashSet<>(KubeManifests.ports(m.container("skep")).keySet());
        podPorts.addAll(KubeManifests.ports(m.container("redis")).keySet());

        List<Map<String, Object>> ingress = list(spec, "ingress");
        for (Map<String, Object> rule : ingress) {
            assertThat(podPorts).as("named ports of the NetworkPolicy").containsAll(policyPorts(rule));
        }
        Map<String, Object> hive = ingress.get(0);
        assertThat(map(map(list(hive, "from").get(0), "podSelector"), "matchLabels")).isEqualTo(podLabels);
        assertThat(policyPorts(hive)).containsExactlyInAnyOrder("peer", "redis", "http");
        Map<String, Object> clients = ingress.get(1);
        assertThat(policyPorts(clients)).containsExactlyInAnyOrder("write", "read", "sentinel", "write-tls", "read-tls",
                "sentinel-tls", "redis");
        assertThat(list(clients, "from").toString()).contains("team=shop");
        Map<String, Object> metrics = ingress.get(2);
        assertThat(policyPorts(metrics)).containsExactly("http");
        assertThat(list(metrics, "from").toString()).contains("name=monitoring");

        // no clients given: from anywhere; redis kept to the hive on request
        KubeManifests open = render("--set", "networkPolicy.enabled=true", "--set", "networkPolicy.clientsReachRedis=false");
        List<Map<String, Object>> openIngress = list(map(open.ofKind("NetworkPolicy").get(0), "spec"), "ingress");
        assertThat(openIngress.get(1)).doesNotContainKey("from");
        assertThat(policyPorts(openIngress.get(1))).containsExactlyInAnyOrder("write", "read", "sentinel");
        assertThat(openIngress.get(2)).doesNotContainKey("from");
    }

    /**
     * Placement: a soft zone spread by default, with the pods' own labels; off, hard, or more constraints on request;
     * an affinity of one's own replaces the anti-affinity; the budget's two forms.
     */
    @Test
    @Needs(Need.HELM)
    void placementAndDisruptionOptions() throws Exception {
        KubeManifests defaults = KubeManifests.read(KubeManifests.COMMITTED);
        Map<String, Object> podLabels = map(map(map(map(defaults.ofKind("Deployment").get(0), "spec"), "template"),
                "metadata"), "labels");
        List<Map<String, Object>> spread = list(defaults.podSpec(), "topologySpreadConstraints");
        assertThat(spread).hasSize(1);
        assertThat(spread.get(0)).containsEntry("topologyKey", "topology.kubernetes.io/zone")
                .containsEntry("whenUnsatisfiable", "ScheduleAnyway").containsEntry("maxSkew", 1);
        assertThat(podLabels).isEqualTo(map(map(spread.get(0), "labelSelector"), "matchLabels"));
        Map<String, Object> pdb = map(defaults.ofKind("PodDisruptionBudget").get(0), "spec");
        assertThat(pdb).containsEntry("maxUnavailable", 1).doesNotContainKey("minAvailable");
        assertThat(podLabels).isEqualTo(map(map(pdb, "selector"), "matchLabels"));

        KubeManifests off = render("--set", "topologySpread.whenUnsatisfiable=", "--set", "podAntiAffinity=none");
        assertThat(off.podSpec()).doesNotContainKeys("topologySpreadConstraints", "affinity");

        KubeManifests more = render("--set", "topologySpread.whenUnsatisfiable=DoNotSchedule", "--set",
                "topologySpreadConstraints[0].maxSkew=2", "--set",
                "topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname", "--set",
                "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway", "--set",
                "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
                        + ".matchExpressions[0].key=pool", "--set",
                "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
                        + ".matchExpressions[0].operator=Exists", "--set", "podDisruptionBudget.minAvailable=2",
                "--set", "podDisruptionBudget.unhealthyPodEvictionPolicy=AlwaysAllow", "--set", "priorityClassName=high",
                "--set", "nodeSelector.disk=ssd", "--set", "tolerations[0].key=redis", "--set",
                "tolerations[0].operator=Exists");
        List<Map<String, Object>> constraints = list(more.podSpec(), "topologySpreadConstraints");
        assertThat(constraints).extracting(c -> c.get("whenUnsatisfiable")).containsExactly("DoNotSchedule", "ScheduleAnyway");
        assertThat(map(map(constraints.get(1), "labelSelector"), "matchLabels")).isEqualTo(podLabels);
        assertThat(map(more.podSpec(), "affinity")).containsOnlyKeys("nodeAffinity");
        assertThat(map(more.ofKind("PodDisruptionBudget").get(0), "spec")).containsEntry("minAvailable", 2)
                .containsEntry("unhealthyPodEvictionPolicy", "AlwaysAllow").doesNotContainKey("maxUnavailable");
        assertThat(more.podSpec()).containsEntry("priorityClassName", "high");
        assertThat(map(more.podSpec(), "nodeSelector")).containsEntry("disk", "ssd");
        assertThat(list(more.podSpec(), "tolerations").get(0)).containsEntry("key", "redis");

        for (List<String> bad : List.of(List.of("podAntiAffinity=preferred", "podAntiAffinity: preferred"),
                List.of("topologySpread.whenUnsatisfiable=Maybe", "topologySpread.whenUnsatisfiable: Maybe"))) {
            Result r = run(List.of(helm(), "template", "skep", CHART.toString(), "--set", bad.get(0)), Map.of());
            assertThat(r.code).as(bad.get(0)).isNotZero();
            assertThat(r.out).contains(bad.get(1));
        }
    }

    /**
     * Both containers run as non-root on a read-only root filesystem with no capabilities (what the "restricted" Pod
     * Security Standard asks), and each has the writable directories it needs: redis its working directory, the agent
     * /tmp (java.io.tmpdir: where Netty extracts its native transport and tcnative libraries, the JVM its perf data).
     */
    @Test
    void bothContainersAreRestrictedAndHaveTheWritableDirectoriesTheyNeed() throws IOException {
        KubeManifests m = KubeManifests.read(KubeManifests.COMMITTED);
        Map<String, Object> pod = m.podSpec();
        Map<String, Object> podSecurity = map(pod, "securityContext");
        assertThat(podSecurity).containsEntry("runAsNonRoot", true);
        assertThat(((Number) podSecurity.get("runAsUser")).intValue()).isPositive();
        assertThat(map(podSecurity, "seccompProfile")).containsEntry("type", "RuntimeDefault");
        for (String c : List.of("redis", "skep")) {
            Map<String, Object> security = map(m.container(c), "securityContext");
            assertThat(security).as(c).containsEntry("readOnlyRootFilesystem", true)
                    .containsEntry("allowPrivilegeEscalation", false);
            assertThat(map(security, "capabilities").get("drop").toString()).as(c).contains("ALL");
            assertThat(security).as(c).doesNotContainKeys("privileged", "runAsUser");
        }
        assertThat(writableMount(m, "redis", "/data")).containsKey("emptyDir");
        assertThat(writableMount(m, "skep", "/tmp")).containsKey("emptyDir");
        // nothing moves java.io.tmpdir (or Netty's work directory) off the writable /tmp
        String javaOptions = m.environment(m.container("skep"), "10.1.2.3").get("JAVA_TOOL_OPTIONS");
        assertThat(javaOptions).doesNotContain("java.io.tmpdir", "io.netty.native.workdir");
    }

    /**
     * persistence: redis's working directory is a claim of the StatefulSet's, redis saves RDB snapshots (and an AOF
     * on request) there; without it, an emptyDir and no persistence at all; a Deployment cannot have it.
     */
    @Test
    @Needs(Need.HELM)
    void persistenceKeepsRedisDataOnAClaimOfTheStatefulSet() throws Exception {
        KubeManifests m = render("--set", "workload=StatefulSet", "--set", "persistence.enabled=true", "--set",
                "persistence.size=20Gi", "--set", "persistence.storageClass=fast", "--set",
                "persistence.retentionPolicy.whenScaled=Delete");
        Map<String, Object> sts = map(m.ofKind("StatefulSet").get(0), "spec");
        List<Map<String, Object>> claims = list(sts, "volumeClaimTemplates");
        assertThat(claims).hasSize(1);
        Map<String, Object> claim = claims.get(0);
        assertThat(map(claim, "metadata").get("name")).isEqualTo("redis-data");
        assertThat(map(claim, "spec")).containsEntry("storageClassName", "fast");
        assertThat(map(map(map(claim, "spec"), "resources"), "requests")).containsEntry("storage", "20Gi");
        assertThat(map(sts, "persistentVolumeClaimRetentionPolicy")).containsEntry("whenScaled", "Delete");
        assertThat(list(m.podSpec(), "volumes")).noneMatch(v -> "redis-data".equals(v.get("name")));
        Map<String, Object> mount = list(m.container("redis"), "volumeMounts").stream()
                .filter(v -> "redis-data".equals(v.get("name"))).findFirst().orElseThrow();
        assertThat(mount).containsEntry("mountPath", "/data").doesNotContainKey("readOnly");
        String args = String.join(" ", KubeManifests.commandLine(m.container("redis"), Map.of()));
        assertThat(args).contains("--save 3600 1 300 100 60 10000 --appendonly no",
                "--replicaof 127.0.0.1 1 --min-replicas-to-write 1000000");
        assertThat(String.join(" ", KubeManifests.commandLine(render("--set", "workload=StatefulSet", "--set",
                "persistence.enabled=true", "--set", "persistence.appendonly=true", "--set", "persistence.storageClass=-")
                .container("redis"), Map.of()))).contains("--appendonly yes");
        assertThat(map(list(map(render("--set", "workload=StatefulSet", "--set", "persistence.enabled=true", "--set",
                "persistence.storageClass=-").ofKind("StatefulSet").get(0), "spec"), "volumeClaimTemplates").get(0),
                "spec")).containsEntry("storageClassName", "");

        KubeManifests none = render("--set", "workload=StatefulSet");
        assertThat(map(none.ofKind("StatefulSet").get(0), "spec")).doesNotContainKey("volumeClaimTemplates");
        assertThat(String.join(" ", KubeManifests.commandLine(none.container("redis"), Map.of())))
                .contains("--save  --appendonly no");

        Result deployment = run(List.of(helm(), "template", "skep", CHART.toString(), "--set", "persistence.enabled=true"),
                Map.of());
        assertThat(deployment.code).isNotZero();
        assertThat(deployment.out).contains("persistence.enabled needs workload=StatefulSet");
    }

    /** The Grafana dashboard in the repository (the chart's ConfigMap carries it). */
    static final Path DASHBOARD = CHART.resolve("dashboards/skep.json");

    /** The port names of one NetworkPolicy ingress rule. */
    private static List<String> policyPorts(Map<String, Object> rule) {
        return list(rule, "ports").stream().map(p -> p.get("port").toString()).toList();
    }

    /** The volume mounted at {@code path} in {@code container}, which must not be read-only. */
    private static Map<String, Object> writableMount(KubeManifests m, String container, String path) {
        Map<String, Object> mount = list(m.container(container), "volumeMounts").stream()
                .filter(v -> path.equals(v.get("mountPath"))).findFirst()
                .orElseThrow(() -> new AssertionError(container + " mounts nothing at " + path));
        assertThat(mount.get("readOnly")).as(container + " " + path).isNotEqualTo(true);
        return volume(m, mount.get("name").toString());
    }

    /** Where the chart mounts the TLS Secret. */
    private static final String TLS_DIR = "/etc/skep/tls";
    /** Where the chart mounts the password Secret, with auth.rotation.enabled. */
    private static final String AUTH_DIR = "/etc/skep/auth";

    /** {@code helm template skep <chart> args...}, parsed; fails with helm's output when it fails. */
    static KubeManifests render(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(helm(), "template", "skep", CHART.toString()));
        cmd.addAll(List.of(args));
        Result r = run(cmd, Map.of());
        assertThat(r.code).as("helm template " + List.of(args) + ":\n" + r.out).isZero();
        return KubeManifests.parse(r.out);
    }

    /**
     * Every SKEP_* variable of the pod is one the agent has, and {@code skep agent --check-config} accepts the pod's
     * environment and arguments; returns an assertion on its output.
     */
    private static org.assertj.core.api.AbstractStringAssert<?> assertAgentAccepts(KubeManifests m, String namespace)
            throws Exception {
        Map<String, String> env = new java.util.LinkedHashMap<>(m.environment(m.container("skep"), "10.1.2.3"));
        assertThat(agentVariables()).containsAll(env.keySet().stream().filter(k -> k.startsWith("SKEP_")).toList());
        // the chart's own Secrets, mounted as the kubelet would (a password file the agent reads at start)
        Path mounts = Files.createTempDirectory("skep-mounts-");
        try {
            for (Map.Entry<String, Path> mount : m.mountSecrets(m.container("skep"), mounts).entrySet()) {
                env.replaceAll((k, v) -> v.replace(mount.getKey(), mount.getValue().toString()));
            }
            List<String> cmd = new ArrayList<>(List.of(javaCommand(), "-cp", System.getProperty("java.class.path"), "dev.skep.Skep"));
            cmd.addAll(KubeManifests.commandLine(m.container("skep"), env));
            cmd.add("--check-config");
            Result check = run(cmd, env);
            assertThat(check.code).as("skep agent --check-config with the pod's environment:\n" + check.out).isZero();
            return assertThat(check.out).contains("configuration ok", "skep-peers." + namespace + ".svc.cluster.local");
        } finally {
            try (var files = Files.walk(mounts)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Every named targetPort of every Service is a port of the pod. */
    private static void assertNamedTargetPortsExist(KubeManifests m) {
        Set<String> podPorts = new HashSet<>(KubeManifests.ports(m.container("skep")).keySet());
        podPorts.addAll(KubeManifests.ports(m.container("redis")).keySet());
        for (Map<String, Object> svc : m.ofKind("Service")) {
            for (Map<String, Object> port : list(map(svc, "spec"), "ports")) {
                assertThat(podPorts).as("named targetPort of Service " + map(svc, "metadata").get("name"))
                        .contains(port.get("targetPort").toString());
            }
        }
    }

    private static int servicePort(KubeManifests m, String service, String name) {
        return list(map(m.get("Service", service), "spec"), "ports").stream().filter(p -> name.equals(p.get("name")))
                .map(p -> ((Number) p.get("port")).intValue()).findFirst()
                .orElseThrow(() -> new AssertionError("Service " + service + " has no port " + name));
    }

    /** The mount path of volume {@code volume} in container {@code container}, which must be read-only. */
    private static String mountOf(KubeManifests m, String container, String volume) {
        Map<String, Object> mount = list(m.container(container), "volumeMounts").stream()
                .filter(v -> volume.equals(v.get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError(container + " does not mount " + volume));
        assertThat(mount.get("readOnly")).as(container + " mounts " + volume + " read-only").isEqualTo(true);
        return mount.get("mountPath").toString();
    }

    private static List<String> strings(Object list) {
        return ((List<?>) list).stream().map(String::valueOf).toList();
    }

    private static Map<String, Object> volume(KubeManifests m, String name) {
        return list(m.podSpec(), "volumes").stream().filter(v -> name.equals(v.get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + name));
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
        for (Field f : agentOptions()) {
            CommandLine.Option o = f.getAnnotation(CommandLine.Option.class);
            if (o != null) {
                Matcher matcher = ENV_DEFAULT.matcher(o.defaultValue());
                if (matcher.find()) {
                    names.add(matcher.group(1));
                }
            }
        }
        assertThat(names).as("AgentCommand's variables").contains("SKEP_PEERS_DNS", "SKEP_REDIS_PASSWORD",
                "SKEP_TLS_CERT_FILE");
        return names;
    }

    /** The fields of {@code skep agent}'s options: AgentCommand's own and those of its mixins (the TLS flags). */
    private static List<Field> agentOptions() {
        List<Field> fields = new ArrayList<>(List.of(AgentCommand.class.getDeclaredFields()));
        for (Field f : AgentCommand.class.getDeclaredFields()) {
            if (f.isAnnotationPresent(CommandLine.Mixin.class)) {
                fields.addAll(List.of(f.getType().getDeclaredFields()));
            }
        }
        return fields;
    }

    /** The agent's numeric defaults by variable. */
    private static Map<String, Integer> agentDefaults() {
        Map<String, Integer> d = new java.util.HashMap<>();
        for (Field f : agentOptions()) {
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
