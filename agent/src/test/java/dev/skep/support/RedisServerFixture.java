package dev.skep.support;

import dev.skep.redis.InfoParser;
import dev.skep.topology.Endpoint;
import org.awaitility.core.ConditionTimeoutException;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import javax.net.ssl.SSLContext;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.awaitility.Awaitility.await;

/**
 * A real {@code redis-server} process for integration tests, on a free 127.0.0.1 port, with its own temporary
 * directory, no persistence ({@code --save "" --appendonly no}), in the foreground ({@code --daemonize no}) so
 * that this JVM owns the process and knows its PID.
 *
 * <pre>{@code
 * try (RedisServerFixture a = RedisServerFixture.start();
 *      RedisServerFixture b = RedisServerFixture.start("--requirepass", "s3cret")) {
 *     a.jedis().set("k", "v");
 *     a.kill9();          // SIGKILL, like a crash
 *     a.restartEmpty();   // same port, empty dataset, new run_id
 * }
 * }</pre>
 *
 * <p>Every wait has a deadline and polls (no fixed sleeps). Only the processes this fixture started are ever
 * signalled, by PID; a JVM shutdown hook kills those still running if a test forgot to close its fixture.
 * When {@code redis-server} is not on the PATH, {@link #start} fails (it never skips the test): a test run
 * that silently skips its integration tests looks green and proves nothing.
 *
 * <p>Not thread-safe: use one fixture from the test thread (and Awaitility's poll thread, which runs after it).
 */
public final class RedisServerFixture implements AutoCloseable {
    public static final String NOT_FOUND_MESSAGE = "redis-server not found on PATH: install it with "
            + "'apt-get install -y redis-server' (Debian/Ubuntu) and run the tests again";

    /**
     * The environment variable naming a directory whose server the tests run instead of the PATH's redis-server
     * (e.g. a {@code .ci/build-servers} build): its {@code redis-server}, else its {@code valkey-server}.
     */
    public static final String SERVER_BIN_ENV = "SKEP_SERVER_BIN";

    private static final String HOST = "127.0.0.1";
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    /** Attempts at a new port when another process takes the chosen one between the check and the bind. */
    private static final int PORT_ATTEMPTS = 3;

    /** Processes started by any fixture and not yet reaped: killed by the shutdown hook. */
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
                "redis-fixture-reaper"));
    }

    private final Path executable;
    private final List<String> extraArgs;
    private volatile String password;
    private final Path baseDir;
    private int port;
    private Process process;
    private int incarnation;
    private Path runDir;
    private Jedis jedis;
    private boolean frozen;
    /** TLS only (no plain port): the context this fixture's own connections use; null for plain redis. */
    private final SSLContext tls;

    private RedisServerFixture(Path executable, List<String> extraArgs, Path baseDir) {
        this(executable, extraArgs, baseDir, null);
    }

    private RedisServerFixture(Path executable, List<String> extraArgs, Path baseDir, SSLContext tls) {
        this.tls = tls;
        this.executable = executable;
        this.extraArgs = List.copyOf(extraArgs);
        this.password = passwordOf(extraArgs);
        this.baseDir = baseDir;
    }

    /**
     * Starts a redis-server and waits until it answers PING.
     *
     * @param extraArgs more {@code redis-server} arguments, e.g. {@code "--requirepass", "secret"}; a
     *                  {@code --requirepass} is picked up by {@link #jedis()} and {@link #password()}
     * @throws IllegalStateException when redis-server is not on the PATH, or does not come up in time (the
     *                               message then carries the end of its log)
     */
    public static RedisServerFixture start(String... extraArgs) {
        return start(null, extraArgs);
    }

    /**
     * Starts a redis-server that listens only on a TLS port ({@code --port 0 --tls-port P}), presenting {@code pair}
     * and asking clients for a certificate the CA signed; this fixture's own connections present {@code pair} too.
     * It is not told to replicate over TLS ({@code tls-replication}): that is the agent's to set.
     */
    public static RedisServerFixture startTls(TestCertificates certs, TestCertificates.Pair pair, String... extraArgs) {
        List<String> args = new ArrayList<>(List.of("--tls-cert-file", pair.cert().toString(),
                "--tls-key-file", pair.key().toString(), "--tls-ca-cert-file", certs.caFile().toString(),
                "--tls-auth-clients", "yes"));
        args.addAll(List.of(extraArgs));
        return start(certs.clientContext(pair), args.toArray(String[]::new));
    }

    /**
     * Starts the server {@code executable} (one of {@link #pathServer()}, {@link #builtServer}), whatever
     * {@value #SERVER_BIN_ENV} says: for a hive whose nodes run different servers. Null: the default server.
     */
    public static RedisServerFixture startServer(Path executable, String... extraArgs) {
        return start(executable, null, extraArgs);
    }

    /** The PATH's {@code redis-server} (Debian bookworm's 7.0.15 on the build machines), or fails with the advice. */
    public static Path pathServer() {
        return findOnPath("redis-server", System.getenv("PATH"));
    }

    /**
     * The server {@code .ci/build-servers} built and cached, e.g. {@code builtServer("valkey-8.1.1")}; fails, saying
     * how to build it, when it is not there.
     */
    public static Path builtServer(String nameAndVersion) {
        Path dir = builtServerDir(nameAndVersion);
        try {
            return serverExecutable(dir.toString(), null);
        } catch (IllegalStateException e) {
            throw new IllegalStateException(dir + " holds no " + nameAndVersion + " server: build it with bash "
                    + ".ci/build-servers", e);
        }
    }

    /** Where {@code .ci/build-servers} puts the binaries of {@code nameAndVersion} ({@code redis-8.0.2}). */
    public static Path builtServerDir(String nameAndVersion) {
        return Path.of(System.getProperty("user.home"), ".cache/skep-tools/servers", nameAndVersion, "bin");
    }

    private static RedisServerFixture start(SSLContext tls, String... extraArgs) {
        return start(null, tls, extraArgs);
    }

    private static RedisServerFixture start(Path chosen, SSLContext tls, String... extraArgs) {
        Path executable = chosen != null ? chosen
                : serverExecutable(System.getenv(SERVER_BIN_ENV), System.getenv("PATH"));
        Path baseDir;
        try {
            baseDir = Files.createTempDirectory("skep-redis-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory for redis-server", e);
        }
        RedisServerFixture f = new RedisServerFixture(executable, List.of(extraArgs), baseDir, tls);
        try {
            f.startOnFreePort();
            return f;
        } catch (RuntimeException | Error e) {
            f.close();
            throw e;
        }
    }

    private void startOnFreePort() {
        IllegalStateException last = null;
        for (int attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
            port = FreePorts.freePort();
            try {
                launchAndAwait();
                return;
            } catch (PortTakenException e) {
                last = e; // someone else bound the port first: pick another one
            }
        }
        throw last;
    }

    /**
     * The server every fixture starts: with {@code serverBin} set (the {@value #SERVER_BIN_ENV} variable), that
     * directory's {@code redis-server}, else its {@code valkey-server}, failing when it has neither; unset or
     * empty, {@code redis-server} on {@code path}.
     */
    static Path serverExecutable(String serverBin, String path) {
        if (serverBin == null || serverBin.isBlank()) {
            return findOnPath("redis-server", path);
        }
        for (String name : List.of("redis-server", "valkey-server")) {
            Path candidate = Path.of(serverBin, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException(SERVER_BIN_ENV + "=" + serverBin + " holds no executable redis-server or "
                + "valkey-server (build one with .ci/build-servers)");
    }

    /** The executable {@code name} in a directory of {@code path} (PATH syntax), or fails with the install hint. */
    static Path findOnPath(String name, String path) {
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                if (dir.isEmpty()) {
                    continue;
                }
                Path candidate = Path.of(dir, name);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        throw new IllegalStateException(NOT_FOUND_MESSAGE);
    }

    private static String passwordOf(List<String> args) {
        for (int i = 0; i < args.size() - 1; i++) {
            if (args.get(i).equals("--requirepass")) {
                return args.get(i + 1);
            }
        }
        return "";
    }

    private void launchAndAwait() {
        launchAndAwait(List.of());
    }

    private void launchAndAwait(List<String> moreArgs) {
        incarnation++;
        runDir = baseDir.resolve("run-" + incarnation);
        List<String> cmd = new ArrayList<>(List.of(executable.toString(),
                "--port", tls == null ? Integer.toString(port) : "0",
                "--bind", HOST,
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--dir", runDir.toString()));
        if (tls != null) {
            cmd.addAll(List.of("--tls-port", Integer.toString(port)));
        }
        cmd.addAll(extraArgs);
        cmd.addAll(moreArgs);
        try {
            Files.createDirectories(runDir);
            process = new ProcessBuilder(cmd)
                    .directory(runDir.toFile())
                    .redirectErrorStream(true)
                    // to a file, not a pipe: a pipe nobody reads would fill up and block redis
                    .redirectOutput(runDir.resolve("redis.log").toFile())
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        }
        LIVE.add(process);
        frozen = false;
        try {
            await("redis-server on port " + port + " answers PING")
                    .atMost(STARTUP_TIMEOUT)
                    .pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(20))
                    .until(this::answersPing);
        } catch (ConditionTimeoutException e) {
            kill9();
            throw new IllegalStateException("redis-server on port " + port + " did not answer PING within "
                    + STARTUP_TIMEOUT.toSeconds() + " s; its log:\n" + log(), e);
        } catch (ExitedException e) {
            reap();
            String log = log();
            if (log.contains("Address already in use")) {
                throw new PortTakenException("port " + port + " was taken before redis-server bound it");
            }
            throw new IllegalStateException("redis-server exited at start (" + String.join(" ", cmd)
                    + "); its log:\n" + log);
        }
    }

    /** Up when redis answers PING with PONG, or with NOAUTH when it has a password: either way it serves. */
    private boolean answersPing() {
        if (!process.isAlive()) {
            throw new ExitedException();
        }
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress(HOST, port), 500);
            plain.setSoTimeout(1000);
            Socket s = tls == null ? plain : tls.getSocketFactory().createSocket(plain, HOST, port, true);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0 && c != '\r' && line.length() < 200) {
                line.append((char) c);
            }
            String reply = line.toString();
            return reply.equals("+PONG") || reply.startsWith("-NOAUTH");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The server's name and version as the agent reads them from INFO server ({@link InfoParser}), e.g.
     * {@code redis 7.0.15} or {@code valkey 8.1.1} (Valkey 8 also reports {@code redis_version:7.2.4}, for clients).
     */
    public String version() {
        return InfoParser.parse(jedis().info("server")).version();
    }

    /** The address of this redis: 127.0.0.1 and its port. */
    public Endpoint endpoint() {
        return new Endpoint(HOST, port);
    }

    /** Its port; the same across {@link #restartEmpty()}. */
    public int port() {
        return port;
    }

    /** Its {@code --requirepass}, or empty. */
    public String password() {
        return password;
    }

    /** The PID of the current redis-server process (a new one after {@link #restartEmpty()}). */
    public long pid() {
        return requireProcess().pid();
    }

    /** True while the current redis-server process is alive (frozen counts as alive). */
    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /**
     * A Jedis connection to this redis, authenticated when it has a password, owned by the fixture (do not
     * close it): the same one on each call, replaced after the process changed or the connection broke.
     */
    public Jedis jedis() {
        if (jedis == null || jedis.isBroken() || !jedis.isConnected()) {
            closeJedis();
            jedis = newJedis();
        }
        return jedis;
    }

    /** The fixture's connections authenticate with {@code newPassword} from now on (after a rotation). */
    public void usePassword(String newPassword) {
        password = newPassword;
        closeJedis();
    }

    /** A new Jedis connection to this redis, authenticated when it has a password; the caller closes it. */
    public Jedis newJedis() {
        return newJedis(Duration.ofSeconds(5));
    }

    /**
     * As {@link #newJedis()}, waiting up to {@code socketTimeout} for a reply: for a long script, which on Redis 8 and
     * Valkey 8 lasts at least until the busy threshold (5 s) when it waits on {@code TIME}, frozen meanwhile.
     */
    public Jedis newJedis(Duration socketTimeout) {
        DefaultJedisClientConfig.Builder config = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(2000)
                .socketTimeoutMillis((int) socketTimeout.toMillis());
        if (!password.isEmpty()) {
            config.password(password);
        }
        if (tls != null) {
            config.ssl(true).sslSocketFactory(tls.getSocketFactory());
        }
        return new Jedis(new HostAndPort(HOST, port), config.build());
    }

    /** SIGKILL to the process, like a crash or an OOM kill, and waits until it is gone. No-op when not running. */
    public void kill9() {
        closeJedis();
        if (process == null) {
            return;
        }
        process.destroyForcibly(); // SIGKILL on Linux; works on a stopped (frozen) process too
        reap();
    }

    /**
     * Stops the process if it runs (SIGKILL), then starts a new redis-server on the same port with an empty
     * dataset and a new {@code run_id}, and waits until it answers PING.
     */
    public void restartEmpty() {
        kill9();
        launchAndAwait();
    }

    /**
     * As {@link #restartEmpty()}, with {@code moreArgs} added for this start only (a later {@code --requirepass} wins:
     * a container restarted with the password its mounted Secret holds now).
     */
    public void restartEmpty(String... moreArgs) {
        kill9();
        launchAndAwait(List.of(moreArgs));
    }

    /**
     * Stops the process if it runs (SIGKILL), then starts a new redis-server on the same port in a new directory holding
     * the RDB file the last one saved ({@code SAVE}, into its {@code dump.rdb}), with {@code moreArgs} added for this
     * start only (e.g. the chart's fence at birth): a restart with persistence, a new {@code run_id} and the data, the
     * replication id and the offset of that snapshot. Waits until it answers PING.
     */
    public void restartFromDisk(String... moreArgs) {
        Path saved = runDir.resolve("dump.rdb");
        if (!Files.exists(saved)) {
            throw new IllegalStateException("redis-server on port " + port + " saved no dump.rdb in " + runDir);
        }
        kill9();
        try {
            Path next = baseDir.resolve("run-" + (incarnation + 1));
            Files.createDirectories(next);
            Files.copy(saved, next.resolve("dump.rdb"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + saved, e);
        }
        launchAndAwait(List.of(moreArgs));
    }

    /** SIGSTOP: the process hangs (accepts TCP connections in the kernel, answers nothing), like a stalled host. */
    public void freeze() {
        signal("STOP");
        frozen = true;
    }

    /** SIGCONT after {@link #freeze()}. */
    public void thaw() {
        signal("CONT");
        frozen = false;
    }

    private void signal(String name) {
        long pid = pid();
        if (!process.isAlive()) {
            throw new IllegalStateException("redis-server " + pid + " is not running");
        }
        try {
            // Java has no API for SIGSTOP/SIGCONT: kill(1), aimed at our own child's PID only
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).redirectErrorStream(true).start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + name + " " + pid + " failed: "
                        + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("kill -" + name + " " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending SIG" + name, e);
        }
    }

    /** Stops redis gracefully (SIGTERM; SIGKILL if it is still there after 10 s). No-op when not running. */
    public void stop() {
        closeJedis();
        if (process == null) {
            return;
        }
        if (process.isAlive()) {
            if (frozen) {
                thaw(); // a stopped process would keep SIGTERM pending forever
            }
            process.destroy();
            try {
                if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
        reap();
    }

    /** Stops redis and deletes its directory. */
    @Override
    public void close() {
        try {
            stop();
        } finally {
            deleteRecursively(baseDir);
        }
    }

    /** The output of the current (or last) redis-server process: for failure messages. */
    public String log() {
        if (runDir == null) {
            return "";
        }
        try {
            String text = Files.readString(runDir.resolve("redis.log"), StandardCharsets.UTF_8);
            return text.length() > 4000 ? "..." + text.substring(text.length() - 4000) : text;
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private Process requireProcess() {
        if (process == null) {
            throw new IllegalStateException("redis-server not started");
        }
        return process;
    }

    /** Waits (bounded) until the process is gone, so that its port is free again. */
    private void reap() {
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("redis-server " + process.pid() + " still running after SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for redis-server to exit", e);
        }
        LIVE.remove(process);
        frozen = false;
    }

    private void closeJedis() {
        if (jedis != null) {
            try {
                jedis.close();
            } catch (RuntimeException ignored) {
                // a connection to a dead redis may fail to close cleanly: it is being dropped anyway
            }
            jedis = null;
        }
    }

    private static void deleteRecursively(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a leftover file in /tmp is not worth failing a test for
                }
            });
        } catch (IOException ignored) {
            // same
        }
    }

    @Override
    public String toString() {
        return "redis-server[" + HOST + ":" + port + (process != null ? ", pid " + process.pid() : "") + "]";
    }

    /** The process exited while we waited for it to answer. */
    private static final class ExitedException extends RuntimeException {
        ExitedException() {
            super("redis-server exited", null, false, false);
        }
    }

    private static final class PortTakenException extends IllegalStateException {
        PortTakenException(String message) {
            super(message);
        }
    }
}
