package dev.skep.redis;

import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Carries out the election's decisions on the local redis: the settings Skep relies on, probes, following a
 * master, promotion. The I/O shell around the pure election: it decides nothing itself.
 *
 * <p><b>Threading:</b> every method blocks on the network and must be called from one thread only, Skep's
 * redis I/O thread (never from the control thread nor a Netty event loop, which must not block). Not
 * thread-safe.
 *
 * <p><b>Failures:</b> methods throw {@link IOException} when redis cannot be reached or does not answer within
 * the I/O timeout, and {@link RedisErrorReply} when redis refuses a command. Either way the caller counts a
 * failure; the next call reconnects.
 *
 * <p><b>Settings survive restarts:</b> {@code CONFIG SET} is not persisted, so a restarted redis comes back
 * with its defaults (no {@code masterauth}, a 5 s diskless sync delay). Once {@link #prepare()} has been
 * called, the settings are applied again on every new connection, which is how a restart shows up here.
 */
public final class RedisController implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(RedisController.class);

    /**
     * The {@code min-replicas-to-write} that fences a redis: more replicas than any hive has, so that it refuses
     * every write ({@code -NOREPLICAS}) whoever connects to it. Every redis of a hive but the leader's carries it.
     */
    public static final int FENCED_MIN_REPLICAS = 1_000_000;

    /**
     * Where a redis born fenced replicates from ({@code --replicaof 127.0.0.1 1}): a port nothing listens on, so that
     * it is a replica that never links, refusing writes and refusing to serve a sync ({@code -NOMASTERLINK}) to the
     * replicas of the redis it replaces, until an agent promotes it or points it at the leader.
     */
    public static final Endpoint NOWHERE = new Endpoint("127.0.0.1", 1);

    /** How many times {@link #promote} reads INFO to see {@code role:master} before giving up. */
    private static final int PROMOTE_CHECKS = 5;

    /**
     * The sections a probe asks for: what {@link InfoParser} reads, a quarter of INFO's text (the clients, memory,
     * stats, CPU and error sections are the rest, and redis computes them for nothing).
     */
    private static final String[] PROBE_INFO = {"INFO", "server", "replication", "keyspace"};
    private static final String[] FULL_INFO = {"INFO"};

    private final java.util.function.Supplier<javax.net.ssl.SSLContext> tls;
    /** The agent's ACL user ({@code --redis-user}), also every replica's {@code masteruser}; empty: default. */
    private final String user;
    private final Endpoint redis;
    /** The local redis as its replicas name it (their {@code master_host}): the announced address. */
    private final Endpoint announced;
    /** The hive password in use; changed by a rotation ({@link #usePassword}), read at each new connection. */
    private volatile String password;
    private final Duration ioTimeout;
    private final RespClient client;

    /** What {@link #prepare()} sets on the local redis, and why. */
    private final ServerSettings settings;
    /**
     * Why the local redis cannot do what {@code --dual-channel-replication} asked (it refused the setting); empty
     * when it took it or nothing was asked. Every probe fails with it meanwhile, so the node is not ready and says
     * why: the user asked for it explicitly, and a hive that quietly runs without it is not what was deployed.
     */
    private volatile String refusedRequired = "";

    /** Set by the first prepare(): from then on the settings are (re)applied on each new connection. */
    private boolean prepareWanted;
    /** {@link RespClient#connects()} when the settings were last applied. */
    private long preparedOnConnection = -1;

    /**
     * The connection ({@link RespClient#connects}) on which the server was found to take several INFO sections; a
     * new connection may be to another server (a restart, a downgrade), which must show its version again. Probing
     * thread only.
     */
    private long sectionsOnConnection = -1;

    /**
     * @param redis     the local redis
     * @param password  its {@code requirepass} (also the peers', used as {@code masterauth}); null or empty for none
     * @param ioTimeout bound on each operation's network I/O (connect, and each command's reply)
     */
    public RedisController(Endpoint redis, String password, Duration ioTimeout) {
        this(redis, redis, password, ioTimeout);
    }

    /**
     * @param announced the local redis as peers reach it (a pod IP), when the agent reaches it at another
     *                  address (a sidecar's {@code 127.0.0.1}): replicas of this redis name {@code announced}
     */
    public RedisController(Endpoint redis, Endpoint announced, String password, Duration ioTimeout) {
        this(redis, announced, "", password, ioTimeout, null);
    }

    /** @param tls the TLS context of every connection to a redis (the local one, a successor, an orphan); null: plain */
    public RedisController(Endpoint redis, Endpoint announced, String user, String password, Duration ioTimeout,
            java.util.function.Supplier<javax.net.ssl.SSLContext> tls) {
        this(redis, announced, user, password, ioTimeout, tls, dev.skep.config.ServerOptions.NONE);
    }

    /** @param options what the user asked of the server beyond the usual settings ({@code --dual-channel-replication}...) */
    public RedisController(Endpoint redis, Endpoint announced, String user, String password, Duration ioTimeout,
            java.util.function.Supplier<javax.net.ssl.SSLContext> tls, dev.skep.config.ServerOptions options) {
        this.tls = tls;
        this.user = user == null ? "" : user;
        this.redis = Objects.requireNonNull(redis, "redis");
        this.announced = Objects.requireNonNull(announced, "announced");
        this.password = password == null ? "" : password;
        this.ioTimeout = Objects.requireNonNull(ioTimeout, "ioTimeout");
        this.client = localClient();
        this.settings = new ServerSettings(this.user, () -> this.password, tls != null,
                Objects.requireNonNull(options, "options"));
    }

    /**
     * From now on the agent's new connections authenticate with {@code newPassword}, and the settings applied after
     * a reconnect carry it as {@code masterauth} (a rotation sets it on the running redis itself). Any thread.
     */
    public void usePassword(String newPassword) {
        this.password = newPassword;
    }

    /**
     * A new client of the local redis with this controller's credentials and TLS, for a thread that watches it
     * ({@link RespClient#awaitClosed}): its connection ends the moment redis dies.
     */
    public RespClient watchClient() {
        return localClient();
    }

    /** A client of the local redis: its credentials (the password read at each connect, as rotated) and TLS. */
    private RespClient localClient() {
        return new RespClient(redis, user, () -> password, ioTimeout, ioTimeout, tls);
    }

    /** The redis this controller drives. */
    public Endpoint redis() {
        return redis;
    }

    /**
     * Applies the settings that make failover and resync fast and safe (see {@link ServerSettings#pairs()}). A setting
     * that redis refuses is logged at WARN and skipped: an older or restricted redis still gets the others.
     * Called once at start; applied again automatically after a reconnect (see the class comment).
     *
     * @throws IOException when redis cannot be reached
     */
    public void prepare() throws IOException {
        prepareWanted = true;
        applySettings();
    }

    /** Why the local redis cannot do what was asked of it ({@code --dual-channel-replication}); empty when it can. */
    public String refusedRequired() {
        return refusedRequired;
    }

    private void applySettings() throws IOException {
        refusedRequired = settings.apply(client, redis);
        preparedOnConnection = client.connects();
    }

    /** Applies the settings again when the connection is new (redis may have restarted with its defaults). */
    private void reapplyIfReconnected() throws IOException {
        if (prepareWanted && client.connects() != preparedOnConnection) {
            log.info("redis {}: new connection, applying settings again", redis);
            applySettings();
        }
    }

    /**
     * PING, then INFO (the sections {@link InfoParser} reads, once the server is known to take several), parsed.
     * Bounded as a whole by the I/O timeout: a hung redis (SIGSTOP, a long blocking script) or a gone one makes it
     * throw within that time.
     *
     * <p>When a connection opened before this probe turns out to be dead (redis restarted, or closed an idle
     * client), the probe is retried once on a new connection within the same time bound, so that a restart is
     * reported by a new {@code runId} rather than by a failure.
     *
     * @throws IOException when redis is gone, hangs, or answers PING with something other than PONG
     */
    public RedisSnapshot probe() throws IOException {
        long deadline = System.nanoTime() + ioTimeout.toNanos();
        boolean reused = client.isConnected();
        try {
            return probeOnce(deadline);
        } catch (SocketTimeoutException e) {
            throw e; // redis hangs: retrying would only wait again
        } catch (IOException e) {
            if (!reused || System.nanoTime() >= deadline) {
                throw e;
            }
            log.debug("redis {}: connection was dead ({}), probing again on a new one", redis, e.getMessage());
            return probeOnce(deadline);
        }
    }

    /**
     * Several sections in one INFO came with Redis 7.0 (and so are in every Valkey); an older server answers a
     * syntax error. Until the server on the connection is known, a probe asks for all of INFO.
     */
    static boolean takesSeveralSections(String version) {
        return ServerVersion.parse(version).map(v -> v.family().equals("valkey") || v.major() >= 7).orElse(false);
    }

    private RedisSnapshot probeOnce(long deadline) throws IOException {
        Object pong = client.callUntil(deadline, "PING");
        if (!"PONG".equals(pong)) {
            throw new IOException(redis + ": PING answered '" + pong + "' (expected PONG)");
        }
        reapplyIfReconnected();
        boolean sections = sectionsOnConnection == client.connects();
        RedisSnapshot snap = InfoParser.parse(infoText(client.callUntil(deadline, sections ? PROBE_INFO : FULL_INFO)));
        if (!sections && takesSeveralSections(snap.version())) {
            sectionsOnConnection = client.connects();
        }
        if (!refusedRequired.isEmpty()) {
            // answers, but not as asked: unhealthy, so that the node is not ready and says why (an error reply, not
            // an I/O failure: the connection is fine and stays)
            throw new RedisErrorReply(refusedRequired.replace("the local redis", snap.version() == null
                    ? "the local redis" : "the local " + snap.version()));
        }
        return snap;
    }

    /**
     * Makes the local redis a replica of {@code master}. Idempotent: when INFO replication already shows it
     * replicating that host:port (link up or not), nothing is sent, so an established link is never disturbed.
     * The host is compared as text, so pass the same spelling each time.
     *
     * @param reason why (logged with the REPLICAOF), e.g. "leader 10.0.0.3:7380 epoch 7"
     * @return the snapshot after (full INFO)
     */
    public RedisSnapshot follow(Endpoint master, String reason) throws IOException {
        Objects.requireNonNull(master, "master");
        RedisSnapshot before = InfoParser.parse(infoText(client.call("INFO", "replication")));
        reapplyIfReconnected(); // masterauth must be in place before the replica connects to its master
        if (before.replicates(master.host(), master.port())) {
            log.debug("redis {} already replicates {}", redis, master);
        } else {
            if (!before.fenced()) {
                // a replica refuses writes anyway; fenced, it also does if anything turns it master again
                fence("about to follow " + master);
            }
            log.info("redis {}: REPLICAOF {} {} (was {}; reason: {})", redis, master.host(), master.port(),
                    describe(before), reason);
            client.call("REPLICAOF", master.host(), Integer.toString(master.port()));
        }
        return InfoParser.parse(infoText(client.call("INFO")));
    }

    /**
     * Makes the local redis a master ({@code REPLICAOF NO ONE}), then reads INFO until it reports
     * {@code role:master} (a few checks within the I/O timeout). It keeps its data and its replication offset.
     *
     * @param reason why (logged with the REPLICAOF), e.g. "won election epoch 8"
     * @return the snapshot confirming {@code role:master}
     * @throws IOException when redis cannot be reached, or still does not report master after the checks
     */
    public RedisSnapshot promote(String reason) throws IOException {
        reapplyIfReconnectedAfterConnect();
        // lifted first: a replica refuses writes anyway, and the master must take them the moment it is one
        try {
            client.call("CONFIG", "SET", "min-replicas-to-write", "0");
        } catch (RedisErrorReply e) {
            log.warn("redis {}: could not lift the fence (CONFIG SET min-replicas-to-write 0): {}", redis, e.error());
        }
        log.info("redis {}: REPLICAOF NO ONE (promote; reason: {})", redis, reason);
        client.call("REPLICAOF", "NO", "ONE");
        // REPLICAOF NO ONE switches the role before it replies, so the first check normally succeeds; the
        // retries cover anything in between (e.g. a module or a proxy in front answering differently).
        long deadline = System.nanoTime() + ioTimeout.toNanos();
        long pauseNanos = ioTimeout.toNanos() / (PROMOTE_CHECKS * 2L);
        RedisSnapshot last = null;
        for (int check = 1; check <= PROMOTE_CHECKS; check++) {
            last = InfoParser.parse(infoText(client.call("INFO")));
            if (last.role() == RedisRole.MASTER) {
                return last;
            }
            if (check == PROMOTE_CHECKS || System.nanoTime() + pauseNanos >= deadline) {
                break;
            }
            LockSupport.parkNanos(pauseNanos);
        }
        throw new IOException(redis + ": still role " + (last == null ? "?" : last.role())
                + " after REPLICAOF NO ONE (" + PROMOTE_CHECKS + " checks within "
                + TimeUnit.NANOSECONDS.toMillis(ioTimeout.toNanos()) + " ms)");
    }

    /**
     * Stops replicating ({@code REPLICAOF NO ONE}) without checking the result: used when the master is gone and
     * the local redis should stop retrying it. It is fenced first ({@link #FENCED_MIN_REPLICAS}): a detached
     * redis is a master, and must take no write until this node leads it.
     *
     * @param reason why (logged with the REPLICAOF)
     */
    public void detach(String reason) throws IOException {
        reapplyIfReconnectedAfterConnect();
        fence("detaching: " + reason);
        log.info("redis {}: REPLICAOF NO ONE (detach; reason: {})", redis, reason);
        client.call("REPLICAOF", "NO", "ONE");
    }

    /**
     * The first half of a planned handover, on the leader's redis: pauses writes ({@code CLIENT PAUSE <ms>
     * WRITE}; plain {@code CLIENT PAUSE} on a redis older than 6.2), reads the final
     * {@code master_repl_offset}, then polls the successor's redis directly (its {@code INFO replication}; the
     * master's own view of a replica's offset is refreshed only once a second) until it has replicated all of
     * it. When it does not by {@code deadlineNanos}, or anything fails, writes are resumed before throwing.
     *
     * @param successor its redis, reached with the same password
     * @param runId     the local redis's {@code run_id} as last probed (empty: unknown); another one fails the handover
     * @param pauseMs   how long redis keeps writes paused by itself if nobody resumes them (this agent died)
     * @return the final offset, which the successor has reached; writes stay paused
     * @throws IOException when a redis cannot be reached, or the successor does not catch up in time
     */
    public long pauseAndAwait(Endpoint successor, String runId, long pauseMs, long deadlineNanos) throws IOException {
        String ms = Long.toString(Math.max(1, pauseMs));
        try {
            client.call("CLIENT", "PAUSE", ms, "WRITE");
        } catch (RedisErrorReply e) {
            log.info("redis {}: CLIENT PAUSE WRITE refused ({}), pausing all clients instead", redis, e.error());
            client.call("CLIENT", "PAUSE", ms);
        }
        try (RespClient other = new RespClient(successor, user, password, ioTimeout, ioTimeout, tls)) {
            requireRunId(runId);
            while (true) {
                long target = InfoParser.parse(infoText(client.call("INFO", "replication"))).replOffset();
                RedisSnapshot s = InfoParser.parse(infoText(other.callUntil(
                        Math.min(deadlineNanos, System.nanoTime() + ioTimeout.toNanos()), "INFO", "replication")));
                // the successor names this redis by its announced address, not by the one this agent uses (127.0.0.1 in a pod)
                if (s.replicates(announced.host(), announced.port()) && s.linkUp() && s.replOffset() >= target) {
                    requireRunId(runId); // (the same process throughout: the offsets compared are of one dataset)
                    log.info("redis {}: writes paused at offset {}, successor {} has it all", redis, target, successor);
                    return target;
                }
                if (System.nanoTime() >= deadlineNanos) {
                    throw new IOException("successor " + successor + " at offset " + s.replOffset() + " (link "
                            + (s.linkUp() ? "up" : "down") + "), master at " + target + " when the time was up");
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
            }
        } catch (IOException | RuntimeException e) {
            resumeWrites("handover failed: " + e.getMessage());
            throw e;
        }
    }

    /**
     * Fails unless the local redis is still the process the election last probed: one restarted since is empty,
     * most likely, and so is a successor that resynced from it; handing over would make that the hive's data.
     */
    private void requireRunId(String runId) throws IOException {
        if (runId.isEmpty()) {
            return; // not probed yet: nothing to compare with
        }
        String now = InfoParser.parse(infoText(client.call("INFO", "server"))).runId();
        if (!runId.equals(now)) {
            throw new IOException("local redis restarted (run_id " + runId + " -> " + now + ") since it was last probed");
        }
    }

    /** Resumes writes paused by {@link #pauseAndAwait} ({@code CLIENT UNPAUSE}); harmless when none are paused. */
    public void resumeWrites(String reason) {
        try {
            client.call("CLIENT", "UNPAUSE");
            log.info("redis {}: CLIENT UNPAUSE ({})", redis, reason);
        } catch (IOException e) {
            // a redis that cannot be reached holds no paused client of ours; its pause times out by itself
            log.warn("redis {}: CLIENT UNPAUSE failed ({}): {}", redis, reason, e.getMessage());
        }
    }

    /**
     * {@code CONFIG SET min-replicas-to-write n}: with more than the replicas there are, redis refuses every
     * write ({@code -NOREPLICAS}), which fences clients that write to it directly; 0 lifts it.
     */
    public void setMinReplicasToWrite(int n, String reason) throws IOException {
        reapplyIfReconnectedAfterConnect();
        client.call("CONFIG", "SET", "min-replicas-to-write", Integer.toString(n));
        log.info("redis {}: min-replicas-to-write {} ({})", redis, n, reason);
    }

    /** What {@link #fenceIfMaster} found and did. */
    public enum OrphanCheck {
        /** It reported {@code role:master} without the fence: fenced now. */
        FENCED,
        /** Already fenced, or not a master: nothing to do. */
        HARMLESS,
        /** It could not be reached or refused (the caller retries at its next check). */
        UNREACHABLE
    }

    /**
     * Fences another redis of the hive if it reports {@code role:master} without the fence: the leader does this
     * for redis servers whose agents are silent (killed, stuck, restarting), which nothing else keeps from taking
     * writes. Uses a connection of its own (same password, each step bounded by {@code timeout}), and none of
     * this controller's state: unlike the other methods, it may be called from any one thread other than the
     * redis I/O thread.
     */
    public OrphanCheck fenceIfMaster(Endpoint other, Duration timeout, String reason) {
        try (RespClient c = new RespClient(other, user, password, timeout, timeout, tls)) {
            RedisSnapshot s = InfoParser.parse(infoText(c.call("INFO", "replication")));
            if (s.role() != RedisRole.MASTER || s.fenced()) {
                return OrphanCheck.HARMLESS;
            }
            c.call("CONFIG", "SET", "min-replicas-to-write", Integer.toString(FENCED_MIN_REPLICAS));
            log.info("redis {}: fenced (min-replicas-to-write {}): {}", other, FENCED_MIN_REPLICAS, reason);
            return OrphanCheck.FENCED;
        } catch (IOException | RuntimeException e) {
            log.debug("redis {}: could not check or fence it: {}", other, e.getMessage());
            return OrphanCheck.UNREACHABLE;
        }
    }

    /** Fences the local redis; a redis that refuses CONFIG SET is logged, not fatal (the proxy still keeps clients off). */
    private void fence(String reason) throws IOException {
        try {
            setMinReplicasToWrite(FENCED_MIN_REPLICAS, reason);
        } catch (RedisErrorReply e) {
            log.warn("redis {}: could not fence it (CONFIG SET min-replicas-to-write): {}", redis, e.error());
        }
    }

    /** Opens the connection with a harmless PING when needed, so that settings are re-applied before acting. */
    private void reapplyIfReconnectedAfterConnect() throws IOException {
        if (prepareWanted && !client.isConnected()) {
            client.call("PING");
        }
        reapplyIfReconnected();
    }

    private static String describe(RedisSnapshot s) {
        return s.role() == RedisRole.REPLICA ? "replica of " + s.masterHost() + ":" + s.masterPort()
                : s.role().name().toLowerCase();
    }

    private String infoText(Object reply) throws IOException {
        if (reply instanceof String s) {
            return s;
        }
        throw new IOException(redis + ": INFO answered " + reply + " (expected a bulk string)");
    }

    /** Closes the connection. */
    @Override
    public void close() {
        client.close();
    }

    @Override
    public String toString() {
        return "RedisController[" + redis + "]";
    }
}
