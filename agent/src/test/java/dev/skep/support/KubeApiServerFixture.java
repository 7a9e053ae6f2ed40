package dev.skep.support;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.awaitility.Awaitility.await;

/**
 * A real Kubernetes API server for integration tests: Debian's {@code etcd} and a {@code kube-apiserver} 1.20.2
 * built from Debian's source package by {@code .ci/build-kube-apiserver}, as child processes of this JVM on free
 * 127.0.0.1 ports, with a temporary directory for etcd's data, the serving certificate (self-signed by the API
 * server), the service-account keys and the static token file.
 *
 * <p>Authorization is {@code RBAC}, as in a cluster. Two bearer tokens authenticate: {@link #adminToken()}
 * (group {@code system:masters}, allowed everything) and {@link #serviceAccountToken()}, a static token for the
 * user {@code system:serviceaccount:default:skep} with the groups a service account's token carries, so a
 * RoleBinding whose subject is the ServiceAccount {@code skep} in {@code default} applies to it exactly as to a
 * pod's token. {@link #applyChartLeaseRbac()} creates the chart's lease-mode ServiceAccount, Role and RoleBinding.
 *
 * <p>The API server can be stopped and started again on the same port with etcd kept running
 * ({@link #stopApiServer()}, {@link #startApiServer()}), so its objects survive, as after an API server restart.
 * Every wait has a deadline. Only the processes this fixture started are ever signalled, by their PID; a JVM
 * shutdown hook kills those still running if a test forgot to close the fixture. When the binaries are missing
 * {@link #start()} fails (it never skips): a real-server test that silently skips proves nothing.
 *
 * <p>Not thread-safe: used from the test thread.
 */
public final class KubeApiServerFixture implements AutoCloseable {
    /** The system property that names the kube-apiserver binary, overriding the cached build. */
    public static final String BINARY_PROPERTY = "skep.kubeApiServer";
    /** Where {@code .ci/build-kube-apiserver} caches the binary. */
    public static final Path CACHED_BINARY = Paths.get(System.getProperty("user.home"),
            ".cache/skep-tools/kube-apiserver-1.20.2/kube-apiserver");
    /** The namespace, service account and user the service-account token stands for. */
    public static final String NAMESPACE = "default";
    public static final String SERVICE_ACCOUNT = "skep";
    public static final String SERVICE_ACCOUNT_USER = "system:serviceaccount:" + NAMESPACE + ":" + SERVICE_ACCOUNT;

    private static final String HOST = "127.0.0.1";
    /** A cold start on a loaded 2-core machine took ~10 s (etcd) + ~15 s (the API server's post-start hooks). */
    private static final Duration ETCD_STARTUP = Duration.ofSeconds(30);
    private static final Duration API_STARTUP = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
    private static final int PORT_ATTEMPTS = 3;

    /** Processes started by any fixture and not yet reaped: killed by the shutdown hook. */
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
                "kube-fixture-reaper"));
    }

    private final Path apiServerBinary;
    private final Path etcdBinary;
    private final Path dir;
    private final String adminToken = randomToken();
    private final String serviceAccountToken = randomToken();
    private int etcdClientPort;
    private int etcdPeerPort;
    private int apiPort;
    private Process etcd;
    private Process apiServer;

    private KubeApiServerFixture(Path apiServerBinary, Path etcdBinary, Path dir) {
        this.apiServerBinary = apiServerBinary;
        this.etcdBinary = etcdBinary;
        this.dir = dir;
    }

    /** The kube-apiserver binary: {@code -Dskep.kubeApiServer=PATH}, else the cached build; empty if neither is there. */
    public static Optional<Path> findApiServerBinary() {
        String configured = System.getProperty(BINARY_PROPERTY, "").trim();
        Path p = configured.isEmpty() ? CACHED_BINARY : Paths.get(configured);
        return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
    }

    /**
     * Starts etcd and the API server and waits until {@code /readyz} answers ok.
     *
     * @throws IllegalStateException when a binary is missing (the message says to run
     *                               {@code .ci/build-kube-apiserver}), or a process does not come up in time (the
     *                               message carries the end of its log)
     */
    public static KubeApiServerFixture start() {
        String configured = System.getProperty(BINARY_PROPERTY, "").trim();
        Path binary = findApiServerBinary().orElseThrow(() -> new IllegalStateException("no kube-apiserver at "
                + (configured.isEmpty() ? CACHED_BINARY : configured) + ": run .ci/build-kube-apiserver (builds "
                + "1.20.2 from Debian's source package, ~11 min on 2 cores, and installs etcd-server), or pass "
                + "-D" + BINARY_PROPERTY + "=PATH"));
        Path etcd = Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                .filter(d -> !d.isEmpty()).map(d -> Paths.get(d, "etcd")).filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> new IllegalStateException("etcd not found on PATH: run .ci/build-kube-apiserver "
                        + "(installs Debian's etcd-server) or apt-get install -y etcd-server"));
        Path dir;
        try {
            dir = Files.createTempDirectory("skep-kube-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory for etcd and the API server", e);
        }
        KubeApiServerFixture f = new KubeApiServerFixture(binary, etcd, dir);
        try {
            f.writeCredentials();
            f.startEtcd();
            f.apiPort = FreePorts.freePort();
            f.startApiServer();
            return f;
        } catch (RuntimeException | Error e) {
            f.close();
            throw e;
        }
    }

    /** {@code https://127.0.0.1:PORT}: the API server's URL (self-signed certificate: trust it). */
    public String url() {
        return "https://" + HOST + ":" + apiPort;
    }

    /** A bearer token of group {@code system:masters}. */
    public String adminToken() {
        return adminToken;
    }

    /** A bearer token for {@link #SERVICE_ACCOUNT_USER}, with the groups of a service account's token. */
    public String serviceAccountToken() {
        return serviceAccountToken;
    }

    /** A new fabric8 client with the admin token, configured explicitly (no system property or kubeconfig read). */
    public KubernetesClient adminClient() {
        return clientWithToken(adminToken);
    }

    /** A new fabric8 client authenticating with {@code token}, configured explicitly. */
    public KubernetesClient clientWithToken(String token) {
        Config config = new ConfigBuilder(Config.empty()).withMasterUrl(url()).withOauthToken(token)
                .withTrustCerts(true).withNamespace(NAMESPACE).withRequestRetryBackoffLimit(0).build();
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /**
     * Creates, with the admin client, the ServiceAccount, Role and RoleBinding that the chart renders with
     * {@code --set agent.election=lease} in namespace {@value #NAMESPACE}: the service-account token then has
     * exactly the rights a pod of the chart would have.
     *
     * @return the objects created
     */
    public List<HasMetadata> applyChartLeaseRbac() throws IOException, InterruptedException {
        String yaml = Helm.template(NAMESPACE, "--set", "agent.election=lease");
        Set<String> kinds = Set.of("ServiceAccount", "Role", "RoleBinding");
        List<HasMetadata> created = new ArrayList<>();
        try (KubernetesClient admin = adminClient()) {
            for (HasMetadata o : admin.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items()) {
                if (kinds.contains(o.getKind())) {
                    created.add(admin.resource(o).inNamespace(NAMESPACE).create());
                }
            }
        }
        if (created.size() != kinds.size()) {
            throw new IllegalStateException("the chart rendered with agent.election=lease should hold one each of "
                    + kinds + "; created " + created.stream().map(HasMetadata::getKind).toList());
        }
        return created;
    }

    /** Stops the API server (SIGTERM to its PID, SIGKILL if it lingers); etcd and its data stay. */
    public void stopApiServer() {
        stop(apiServer);
        apiServer = null;
    }

    /** Starts the API server again, on the same port, and waits until it is ready. */
    public void startApiServer() {
        if (apiServer != null && apiServer.isAlive()) {
            throw new IllegalStateException("the API server is running");
        }
        List<String> cmd = List.of(apiServerBinary.toString(),
                "--etcd-servers=http://" + HOST + ":" + etcdClientPort,
                "--bind-address=" + HOST, "--secure-port=" + apiPort, "--insecure-port=0",
                "--cert-dir=" + dir.resolve("certs"),
                "--token-auth-file=" + dir.resolve("tokens.csv"),
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--service-account-key-file=" + dir.resolve("sa.pub"),
                "--service-account-signing-key-file=" + dir.resolve("sa.key"),
                "--service-cluster-ip-range=10.0.0.0/24",
                // no controller manager creates the default ServiceAccount, which this plug-in would wait for
                "--disable-admission-plugins=ServiceAccount",
                "--profiling=false");
        Path log = dir.resolve("kube-apiserver.log");
        apiServer = launch(cmd, log);
        try {
            await().atMost(API_STARTUP).pollInterval(Duration.ofMillis(200)).until(() -> {
                if (!apiServer.isAlive()) {
                    throw new IllegalStateException("kube-apiserver exited with " + apiServer.exitValue() + ":\n"
                            + tail(log));
                }
                return ready();
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new IllegalStateException("kube-apiserver not ready at " + url() + "/readyz within " + API_STARTUP
                    + ":\n" + tail(log), e);
        }
    }

    /** True when {@code /readyz} answers 200 to the admin token now. */
    public boolean ready() {
        try {
            HttpsURLConnection c = (HttpsURLConnection) URI.create(url() + "/readyz").toURL().openConnection();
            // the API server's certificate is self-signed for this run: trust it, on this connection only
            c.setSSLSocketFactory(TRUST_ALL.getSocketFactory());
            c.setHostnameVerifier((host, session) -> true);
            c.setConnectTimeout(1000);
            c.setReadTimeout(2000);
            c.setRequestProperty("Authorization", "Bearer " + adminToken);
            try {
                return c.getResponseCode() == HttpURLConnection.HTTP_OK;
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    private void writeCredentials() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            KeyPair pair = g.generateKeyPair();
            Files.writeString(dir.resolve("sa.key"), pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
            Files.writeString(dir.resolve("sa.pub"), pem("PUBLIC KEY", pair.getPublic().getEncoded()));
            // token,user,uid,"groups": the service account's groups are those the API server gives its real tokens
            Files.writeString(dir.resolve("tokens.csv"), adminToken + ",admin,admin,system:masters\n"
                    + serviceAccountToken + "," + SERVICE_ACCOUNT_USER + ",skep-sa-uid,"
                    + "\"system:serviceaccounts,system:serviceaccounts:" + NAMESPACE + ",system:authenticated\"\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    private void startEtcd() {
        Path log = dir.resolve("etcd.log");
        for (int attempt = 1; ; attempt++) {
            etcdClientPort = FreePorts.freePort();
            etcdPeerPort = FreePorts.freePort();
            String client = "http://" + HOST + ":" + etcdClientPort;
            String peer = "http://" + HOST + ":" + etcdPeerPort;
            etcd = launch(List.of(etcdBinary.toString(), "--name", "skep-test",
                    "--data-dir", dir.resolve("etcd").toString(),
                    "--listen-client-urls", client, "--advertise-client-urls", client,
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                    "--initial-cluster", "skep-test=" + peer), log);
            try {
                await().atMost(ETCD_STARTUP).pollInterval(Duration.ofMillis(100))
                        .until(() -> !etcd.isAlive() || etcdHealthy());
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new IllegalStateException("etcd not healthy on " + client + " within " + ETCD_STARTUP + ":\n"
                        + tail(log), e);
            }
            if (etcd.isAlive()) {
                return;
            }
            // another process took a port between the check and etcd's bind: new ports, a bounded number of times
            LIVE.remove(etcd);
            if (attempt == PORT_ATTEMPTS) {
                throw new IllegalStateException("etcd exited with " + etcd.exitValue() + ":\n" + tail(log));
            }
            deleteTree(dir.resolve("etcd"));
        }
    }

    private boolean etcdHealthy() {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://" + HOST + ":" + etcdClientPort + "/health")
                    .toURL().openConnection();
            c.setConnectTimeout(1000);
            c.setReadTimeout(2000);
            try {
                return c.getResponseCode() == 200
                        && new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8).contains("true");
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    private static Process launch(List<String> cmd, Path log) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            LIVE.add(p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + cmd.get(0), e);
        }
    }

    /** SIGTERM to the process's own PID, then SIGKILL if it has not exited by the deadline. */
    private static void stop(Process p) {
        if (p == null) {
            return;
        }
        try {
            p.destroy();
            if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            LIVE.remove(p);
        }
    }

    /** The last lines of a log, for failure messages. */
    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log at " + log + ": " + e + ")";
        }
    }

    private static String randomToken() {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a leftover temporary file is no reason to fail a test
        }
    }

    /** Stops the API server, then etcd (by their PIDs), and deletes the temporary directory. */
    @Override
    public void close() {
        stop(apiServer);
        apiServer = null;
        stop(etcd);
        etcd = null;
        deleteTree(dir);
    }

    private static final SSLContext TRUST_ALL = trustAll();

    private static SSLContext trustAll() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
