package dev.skep.deploy;

import dev.skep.support.FreePorts;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import dev.skep.support.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.util.SafeEncoder;

import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Redis started exactly as the chart starts it with TLS and an agent ACL user (the redis container's command and
 * arguments, from {@code helm template}, with its environment; only the port, the bind address and the Secret's
 * mount point are moved for a shared machine): it listens on TLS only, the agent's user can send every command the
 * agent sends ({@code RedisController}) and nothing else, two such servers replicate over TLS as that user
 * ({@code masteruser}), clients keep the default user's password and get their ACL users, and a renewed
 * certificate in the mounted files is served without a restart (the loop beside redis, using the agent's user). With
 * {@code auth.rotation.enabled}, redis takes its passwords from the mounted Secret's files at each start, so that a
 * container restarted after a rotation comes back with the rotated password.
 */
@Needs(Need.HELM)
class ChartRedisIT {
    private static final String TLS_DIR = "/etc/skep/tls";
    private static final String AUTH_DIR = "/etc/skep/auth";
    private static final Duration START = Duration.ofSeconds(20);
    private static final String AGENT = "skep";
    private static final String AGENT_PASSWORD = "agent-secret";
    private static final String CLIENTS_PASSWORD = "clients-secret";

    @TempDir
    Path dir;
    private final List<Process> started = new ArrayList<>();
    private TestCertificates certs;
    private TestCertificates.Pair client;

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : started) {
            // the certificate loop runs beside redis: in a pod it ends with the container, here with its process tree
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Ends redis as a container restart does: with everything beside it (the certificate loop, which ending redis alone
     * would leave running, orphaned).
     */
    private static void restartLikeAContainer(Process redis) throws InterruptedException {
        redis.descendants().forEach(ProcessHandle::destroyForcibly);
        redis.destroyForcibly();
        assertThat(redis.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void redisAsTheChartStartsItServesTheAgentsUserOnlyWhatItNeedsReplicatesAsItAndReloadsItsCertificate()
            throws Exception {
        certs = TestCertificates.create(dir);
        client = certs.issue("agent");
        Path tls = Files.createDirectories(dir.resolve("tls"));
        install(certs.issue("redis"), tls);
        KubeManifests m = ManifestsTest.render("--set", "tls.enabled=true", "--set", "tls.existingSecret=mine-tls",
                "--set", "tls.reloadSeconds=1", "--set", "auth.agentUser=" + AGENT, "--set",
                "auth.agentPassword=" + AGENT_PASSWORD, "--set", "auth.password=" + CLIENTS_PASSWORD, "--set",
                "auth.aclUsers[0]=app on >app-secret ~app:* +@read +@write");
        int[] ports = {FreePorts.freePort(), FreePorts.freePort()};
        for (int port : ports) {
            started.add(startRedis(m, port, Map.of(TLS_DIR, tls)));
        }
        int master = ports[0];
        int replica = ports[1];
        try (Jedis a = connectWhenUp(master); Jedis b = connectWhenUp(replica)) {
            // every command RedisController sends its local redis (and a successor's, and an orphan's)
            for (Jedis j : List.of(a, b)) {
                assertThat(call(j, "PING")).isEqualTo("PONG");
                assertThat(call(j, "INFO")).contains("redis_version:", "process_id:");
                assertThat(call(j, "INFO", "replication")).contains("role:");
                assertThat(call(j, "INFO", "server")).contains("run_id:");
                for (String[] setting : List.of(new String[] {"repl-diskless-sync-delay", "0"},
                        new String[] {"replica-serve-stale-data", "yes"}, new String[] {"replica-read-only", "yes"},
                        new String[] {"masterauth", AGENT_PASSWORD}, new String[] {"masteruser", AGENT},
                        new String[] {"tls-replication", "yes"}, new String[] {"min-replicas-to-write", "1000000"})) {
                    assertThat(call(j, "CONFIG", "SET", setting[0], setting[1])).as(setting[0]).isEqualTo("OK");
                }
                assertThat(call(j, "CLIENT", "PAUSE", "50", "WRITE")).isEqualTo("OK");
                assertThat(call(j, "CLIENT", "PAUSE", "50")).isEqualTo("OK");
                assertThat(call(j, "CLIENT", "UNPAUSE")).isEqualTo("OK");
            }
            assertThat(call(a, "CONFIG", "SET", "min-replicas-to-write", "0")).isEqualTo("OK");
            assertThat(call(a, "REPLICAOF", "NO", "ONE")).isEqualTo("OK");
            assertThat(call(b, "REPLICAOF", "127.0.0.1", Integer.toString(master))).isEqualTo("OK");

            // nothing more: no keys, no reading the configuration, no granting itself more
            for (String[] refused : List.of(new String[] {"GET", "app:k"}, new String[] {"SET", "k", "v"},
                    new String[] {"FLUSHALL"}, new String[] {"KEYS", "*"}, new String[] {"CONFIG", "GET", "*"},
                    new String[] {"ACL", "SETUSER", AGENT, "+@all"}, new String[] {"CLIENT", "LIST"},
                    new String[] {"MODULE", "LIST"}, new String[] {"EVAL", "return 1", "0"})) {
                assertThatThrownBy(() -> call(a, refused)).as(String.join(" ", refused))
                        .isInstanceOf(JedisDataException.class).hasMessageContaining("NOPERM");
            }

            // replication over TLS, authenticated as the agent's user; clients write as their own users
            await().atMost(START).untilAsserted(() -> assertThat(call(b, "INFO", "replication"))
                    .contains("master_link_status:up"));
            try (Jedis app = connect(master, "app", "app-secret"); Jedis appOnReplica = connect(replica, "app", "app-secret");
                    Jedis admin = connect(master, null, CLIENTS_PASSWORD)) {
                assertThat(app.set("app:k", "v")).isEqualTo("OK");
                assertThatThrownBy(() -> app.set("other", "v")).hasMessageContaining("NOPERM");
                await().atMost(START).untilAsserted(() -> assertThat(appOnReplica.get("app:k")).isEqualTo("v"));
                assertThat(call(admin, "CLIENT", "LIST", "TYPE", "replica")).contains("user=" + AGENT);
            }

            // a renewed certificate (cert-manager writes new files into the Secret): served without a restart, the
            // link and the agent's connections kept
            TestCertificates.Pair renewed = certs.issue("redis-renewed");
            BigInteger serial = serial(renewed.cert());
            assertThat(servedSerial(master)).isNotEqualTo(serial);
            install(renewed, tls);
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                assertThat(servedSerial(master)).isEqualTo(serial);
                assertThat(servedSerial(replica)).isEqualTo(serial);
            });
            assertThat(call(a, "PING")).isEqualTo("PONG");
            assertThat(call(b, "INFO", "replication")).contains("master_link_status:up");
        }
        // a plain client finds no port: redis listens on TLS only
        assertThat(speaksPlain(master)).isFalse();
    }

    /**
     * Redis as the chart starts it with auth.rotation (default user, plain): it takes requirepass and masterauth from
     * the mounted Secret's file, with the white space around it left out as the agent does, and after a rotation (the
     * kubelet rewrites the file, the agents have every redis accept the new password, switch masterauth, retire the
     * old one) a restarted container comes back with the new password, and a replica restarted so reconnects to its
     * master with it. The environment variable the chart used before holds the pod's first password for its life.
     */
    @Test
    void withRotationRedisTakesItsPasswordsFromTheMountedSecretAtEachStart() throws Exception {
        KubeManifests m = ManifestsTest.render("--set", "auth.rotation.enabled=true", "--set", "auth.password=old-pw");
        Map<String, Path> mounts = m.mountSecrets(m.container("redis"), dir.resolve("mounts"));
        Path passwordFile = mounts.get(AUTH_DIR).resolve("password");
        assertThat(passwordFile).hasContent("old-pw");
        int master = FreePorts.freePort();
        int replica = FreePorts.freePort();
        started.add(startRedis(m, master, mounts));
        Process replicaProcess = startRedis(m, replica, mounts);
        started.add(replicaProcess);
        try (Jedis a = plainWhenUp(master, "old-pw"); Jedis b = plainWhenUp(replica, "old-pw")) {
            assertThat(a.configGet("masterauth")).containsEntry("masterauth", "old-pw");
            assertThat(call(a, "CONFIG", "SET", "min-replicas-to-write", "0")).isEqualTo("OK");
            assertThat(call(a, "REPLICAOF", "NO", "ONE")).isEqualTo("OK");
            assertThat(call(b, "REPLICAOF", "127.0.0.1", Integer.toString(master))).isEqualTo("OK");
            awaitLinkUp(b);

            // the rotation: the kubelet rewrites the file (here with the final newline a file-made Secret keeps),
            // each agent has its redis accept the new password, switches masterauth, then retires the old one
            Files.writeString(passwordFile, "new-pw\n");
            for (Jedis j : List.of(a, b)) {
                assertThat(call(j, "ACL", "SETUSER", "default", ">new-pw")).isEqualTo("OK");
                assertThat(call(j, "CONFIG", "SET", "masterauth", "new-pw")).isEqualTo("OK");
                assertThat(call(j, "ACL", "SETUSER", "default", "<old-pw")).isEqualTo("OK");
            }
        }
        // the replica's container restarts (a crash, an OOM kill): the same command line, the file as it is now
        restartLikeAContainer(replicaProcess);
        started.add(startRedis(m, replica, mounts));
        try (Jedis b = plainWhenUp(replica, "new-pw")) {
            assertThat(b.configGet("masterauth")).containsEntry("masterauth", "new-pw");
            try (Jedis old = new Jedis("127.0.0.1", replica)) {
                assertThatThrownBy(() -> old.auth("old-pw")).hasMessageStartingWith("WRONGPASS");
            }
            // its agent points it at the master again: it authenticates there with the new password
            assertThat(call(b, "REPLICAOF", "127.0.0.1", Integer.toString(master))).isEqualTo("OK");
            awaitLinkUp(b);
        }
    }

    /**
     * With auth.agentUser and TLS: the agent's user, given +acl|setuser as the chart asks, can rotate its own password
     * (the agent's ACL SETUSER); the certificate loop beside redis authenticates with the password the file holds at
     * the time, so a certificate renewed after a rotation is still loaded; a restarted container defines the agent's
     * user and masterauth with the new password, the clients' password unchanged.
     */
    @Test
    void withRotationAndTheAgentsUserTheCertificateLoopAndARestartUseTheRotatedPassword() throws Exception {
        certs = TestCertificates.create(dir);
        client = certs.issue("agent");
        Path tls = Files.createDirectories(dir.resolve("tls"));
        install(certs.issue("redis"), tls);
        KubeManifests m = ManifestsTest.render("--set", "auth.rotation.enabled=true", "--set", "tls.enabled=true",
                "--set", "tls.existingSecret=mine-tls", "--set", "tls.reloadSeconds=1", "--set", "auth.agentUser=" + AGENT,
                "--set", "auth.agentPassword=" + AGENT_PASSWORD, "--set", "auth.password=" + CLIENTS_PASSWORD, "--set",
                "auth.agentRules=-@all +ping +info +config|set +replicaof +client|pause +client|unpause +acl|setuser "
                        + "+psync +replconf");
        Map<String, Path> mounts = new java.util.HashMap<>(m.mountSecrets(m.container("redis"), dir.resolve("mounts")));
        mounts.put(TLS_DIR, tls);
        Path agentPasswordFile = mounts.get(AUTH_DIR).resolve("agent-password");
        int port = FreePorts.freePort();
        Process redis = startRedis(m, port, mounts);
        started.add(redis);
        try (Jedis agent = connectWhenUp(port)) {
            // what the agent sends for its own user's rotation, allowed by the rule
            Files.writeString(agentPasswordFile, "rotated-agent-pw");
            assertThat(call(agent, "ACL", "SETUSER", AGENT, ">rotated-agent-pw")).isEqualTo("OK");
            assertThat(call(agent, "CONFIG", "SET", "masterauth", "rotated-agent-pw")).isEqualTo("OK");
            assertThat(call(agent, "ACL", "SETUSER", AGENT, "<" + AGENT_PASSWORD)).isEqualTo("OK");
        }
        assertThatThrownBy(() -> {
            try (Jedis old = connect(port, AGENT, AGENT_PASSWORD)) {
                old.ping();
            }
        }).hasMessageContaining("WRONGPASS");

        // a certificate renewed after the rotation: the loop authenticates with the file's password, not the pod's first
        TestCertificates.Pair renewed = certs.issue("redis-renewed");
        install(renewed, tls);
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(servedSerial(port))
                .isEqualTo(serial(renewed.cert())));

        restartLikeAContainer(redis);
        started.add(startRedis(m, port, mounts));
        try (Jedis agent = connectWhenUp(port, "rotated-agent-pw"); Jedis admin = connect(port, null, CLIENTS_PASSWORD)) {
            assertThat(call(agent, "PING")).isEqualTo("PONG");
            assertThat(admin.configGet("masterauth")).containsEntry("masterauth", "rotated-agent-pw");
            assertThat(admin.configGet("masteruser")).containsEntry("masteruser", AGENT);
        }
        assertThatThrownBy(() -> {
            try (Jedis old = connect(port, AGENT, AGENT_PASSWORD)) {
                old.ping();
            }
        }).hasMessageContaining("WRONGPASS");
    }

    /**
     * The redis container's command line as the kubelet runs it, moved to {@code port} and with each mount path of
     * {@code mounts} (the Secrets' files) moved to its directory.
     */
    private Process startRedis(KubeManifests m, int port, Map<String, Path> mounts) throws IOException {
        Map<String, Object> c = m.container("redis");
        Map<String, String> env = m.environment(c, "127.0.0.1");
        List<String> cmd = new ArrayList<>();
        for (String a : KubeManifests.commandLine(c, env)) {
            for (Map.Entry<String, Path> mount : mounts.entrySet()) {
                a = a.replace(mount.getKey(), mount.getValue().toString());
            }
            a = a.replace("-p 6379 ", "-p " + port + " ");
            cmd.add(a.equals("6379") ? Integer.toString(port) : a.equals("0.0.0.0") ? "127.0.0.1" : a);
        }
        assertThat(String.join(" ", cmd)).containsPattern("--(tls-)?port " + port).contains("--bind 127.0.0.1")
                .doesNotContain("/etc/skep");
        Path data = Files.createDirectories(dir.resolve("data-" + port)); // the image's WORKDIR /data, an emptyDir
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(data.toFile()).redirectErrorStream(true)
                .redirectOutput(data.resolve("redis.log").toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    /** A plain connection as the default user, once redis answers. */
    private static Jedis plainWhenUp(int port, String password) {
        return whenUp(() -> new Jedis(new HostAndPort("127.0.0.1", port), DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(2000).socketTimeoutMillis(5000).password(password).build()));
    }

    /** The first connection {@code connect} makes that answers PING (the ones that do not are closed). */
    private static Jedis whenUp(java.util.function.Supplier<Jedis> connect) {
        return await().atMost(START).ignoreExceptions().until(() -> {
            Jedis j = connect.get();
            try {
                j.ping();
                return j;
            } catch (RuntimeException e) {
                j.close();
                throw e;
            }
        }, j -> true);
    }

    private static void awaitLinkUp(Jedis replica) {
        await().atMost(START).untilAsserted(() -> assertThat(call(replica, "INFO", "replication"))
                .contains("master_link_status:up"));
    }

    /** A connection as the agent's user, once redis answers. */
    private Jedis connectWhenUp(int port) {
        return connectWhenUp(port, AGENT_PASSWORD);
    }

    private Jedis connectWhenUp(int port, String agentPassword) {
        return whenUp(() -> connect(port, AGENT, agentPassword));
    }

    private Jedis connect(int port, String user, String password) {
        DefaultJedisClientConfig.Builder config = DefaultJedisClientConfig.builder().ssl(true)
                .sslSocketFactory(certs.clientContext(client).getSocketFactory()).connectionTimeoutMillis(2000)
                .socketTimeoutMillis(5000).password(password);
        if (user != null) {
            config.user(user);
        }
        return new Jedis(new HostAndPort("127.0.0.1", port), config.build());
    }

    /** Sends {@code args} as they are, as the agent does; bulk replies as text. */
    private static String call(Jedis j, String... args) {
        ProtocolCommand command = () -> SafeEncoder.encode(args[0]);
        Object reply = j.sendCommand(command, Arrays.copyOfRange(args, 1, args.length));
        return reply instanceof byte[] bytes ? SafeEncoder.encode(bytes) : String.valueOf(reply);
    }

    /** What the mounted Secret holds after the kubelet's swap: the certificate, its key and the CA. */
    private void install(TestCertificates.Pair pair, Path tls) throws IOException {
        copy(pair.cert(), tls.resolve("tls.crt"));
        copy(pair.key(), tls.resolve("tls.key"));
        copy(certs.caFile(), tls.resolve("ca.crt"));
    }

    private static void copy(Path from, Path to) throws IOException {
        Path tmp = to.resolveSibling(to.getFileName() + ".new");
        Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static BigInteger serial(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return ((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in)).getSerialNumber();
        }
    }

    /** The serial of the certificate redis presents to a new connection. */
    private BigInteger servedSerial(int port) throws IOException {
        try (SSLSocket s = (SSLSocket) certs.clientContext(client).getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(2000);
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private static boolean speaksPlain(int port) {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.setSoTimeout(1000);
            s.getOutputStream().write("PING\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            byte[] reply = new byte[5];
            int n = s.getInputStream().read(reply);
            return n > 0 && reply[0] == '+';
        } catch (IOException e) {
            return false;
        }
    }
}
