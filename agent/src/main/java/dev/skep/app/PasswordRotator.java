package dev.skep.app;

import dev.skep.auth.PasswordRotation;
import dev.skep.auth.PasswordRotation.Step;
import dev.skep.proxy.HivePassword;
import dev.skep.redis.RedisController;
import dev.skep.redis.RedisErrorReply;
import dev.skep.redis.RespClient;
import dev.skep.status.EventLog;
import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Drives the rotation of the hive password ({@link PasswordRotation}) from {@code --redis-password-file}: a
 * Kubernetes Secret mounted as a volume, whose file the kubelet rewrites when the Secret changes, on each pod a
 * little apart. Each check reads the file, asks every live member's redis whether it accepts the incoming password
 * (an AUTH on a connection of its own, so nothing of the password crosses the peer protocol), and takes the step
 * the rotation says, on the local redis only ({@code ACL SETUSER <user> >new}, then {@code CONFIG SET masterauth},
 * then {@code ACL SETUSER <user> <old}). A step that fails is tried again at the next check.
 *
 * <p>Runs on one scheduler thread of its own; the proxy's {@link HivePassword} and the controller's password are
 * safe to set from it.
 */
final class PasswordRotator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PasswordRotator.class);

    private final Path file;
    private final String user;
    private final Endpoint redis;
    private final Supplier<SSLContext> tls;
    private final RedisController controller;
    private final HivePassword proxy;
    private final Supplier<HiveStatus> status;
    private final EventLog events;
    private final String self;
    private final long windowMs;
    private final Duration timeout;
    private final LongSupplier clock;
    private PasswordRotation rotation;
    private java.util.concurrent.ScheduledFuture<?> task;

    PasswordRotator(Path file, String initial, String user, Endpoint redis, Supplier<SSLContext> tls,
            RedisController controller, HivePassword proxy, Supplier<HiveStatus> status, EventLog events, String self,
            long windowMs, Duration timeout, LongSupplier clock) {
        this.file = file;
        this.user = user.isEmpty() ? "default" : user;
        this.redis = redis;
        this.tls = tls;
        this.controller = controller;
        this.proxy = proxy;
        this.status = status;
        this.events = events;
        this.self = self;
        this.windowMs = windowMs;
        this.timeout = timeout;
        this.clock = clock;
        this.rotation = PasswordRotation.steady(initial);
    }

    void start(ScheduledExecutorService scheduler, long periodMs) {
        task = scheduler.scheduleWithFixedDelay(this::checkQuietly, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    private void checkQuietly() {
        try {
            check();
        } catch (RuntimeException e) {
            log.warn("password rotation check failed (tried again at the next one): {}", e.toString());
        }
    }

    /** One check: read the file, take the next step if its condition holds. */
    void check() {
        String wanted;
        try {
            wanted = dev.skep.config.PasswordFiles.read(file);
        } catch (IOException e) {
            log.debug("cannot read --redis-password-file {}: {}", file, e.toString());
            return;
        }
        long now = clock.getAsLong();
        boolean hiveAccepts = rotation.incoming() != null && rotation.incoming().equals(wanted)
                && everyRedisAccepts(wanted);
        Step step = rotation.next(wanted, hiveAccepts, now, windowMs);
        if (step instanceof Step.Wait) {
            return;
        }
        try {
            apply(step, wanted);
        } catch (IOException | RedisErrorReply e) {
            log.warn("password rotation: {} failed on redis {} (tried again at the next check): {}", name(step), redis,
                    e.getMessage());
            return;
        }
        rotation = rotation.after(step, now);
        if (proxy != null) {
            proxy.set(rotation.inUse(), rotation.accepted());
        }
        String message = switch (name(step)) {
            case "password-accepted" -> "redis " + redis + " accepts the new password next to the old one";
            case "password-switched" -> "every redis of the hive accepts the new password: this agent, its proxy and "
                    + "its redis's replication use it now; the old one is removed in " + windowMs + " ms";
            default -> "the old password is removed from redis " + redis;
        };
        log.info("password rotation: {}", message);
        events.add(new HiveEvent(System.currentTimeMillis(), self, name(step), message));
    }

    private void apply(Step step, String wanted) throws IOException {
        try (RespClient local = openLocal(wanted)) {
            if (step instanceof Step.Accept a) {
                local.call("ACL", "SETUSER", user, ">" + a.password());
            } else if (step instanceof Step.Switch s) {
                local.call("CONFIG", "SET", "masterauth", s.password());
                controller.usePassword(s.password());
            } else if (step instanceof Step.Retire r) {
                try {
                    local.call("ACL", "SETUSER", user, "<" + r.old());
                } catch (RedisErrorReply e) {
                    // a redis restarted mid-rotation never had the old one (redis: "does not exist"): done if refused
                    if (localAccepts(r.old())) {
                        throw e;
                    }
                }
            }
        }
    }

    /**
     * A connection to the local redis, authenticated with the first password it takes: the one in use, else another
     * of the rotation's or the file's. A redis restarted mid-rotation knows only what its configuration gave it at
     * start (the chart's auth.rotation: the mounted file, already the new password).
     */
    private RespClient openLocal(String wanted) throws IOException {
        java.util.LinkedHashSet<String> candidates = new java.util.LinkedHashSet<>(rotation.accepted());
        candidates.add(wanted);
        RedisErrorReply refused = null;
        for (String password : candidates) {
            RespClient c = new RespClient(redis, userForAuth(), password, timeout, timeout, tls);
            try {
                c.call("PING");
                return c;
            } catch (RedisErrorReply e) {
                c.close();
                refused = e;
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
        }
        throw refused;
    }

    /** True when every live member's redis accepts {@code password} (this node's included). */
    private boolean everyRedisAccepts(String password) {
        HiveStatus s = status.get();
        if (s == null) {
            return false;
        }
        for (HiveStatus.Member m : s.members()) {
            if (m.alive() && m.redis() != null && !accepts(m.self() ? redis : m.redis(), password)) {
                return false;
            }
        }
        return true;
    }

    /** True when the local redis takes {@code password}, false when it refuses it; fails when it cannot be asked. */
    private boolean localAccepts(String password) throws IOException {
        try (RespClient c = new RespClient(redis, userForAuth(), password, timeout, timeout, tls)) {
            c.call("PING");
            return true;
        } catch (RedisErrorReply refused) {
            return false;
        }
    }

    /** True when the redis at {@code target} takes {@code password} (an AUTH on a connection of its own). */
    private boolean accepts(Endpoint target, String password) {
        try (RespClient c = new RespClient(target, userForAuth(), password, timeout, timeout, tls)) {
            c.call("PING");
            return true;
        } catch (IOException | RedisErrorReply e) {
            log.debug("redis {} does not accept that password: {}", target, e.getMessage());
            return false;
        }
    }

    /** AUTH with a user only when the agent has its own; the default user's is {@code AUTH password}. */
    private String userForAuth() {
        return user.equals("default") ? "" : user;
    }

    private static String name(Step step) {
        if (step instanceof Step.Accept) {
            return "password-accepted";
        }
        return step instanceof Step.Switch ? "password-switched" : "password-retired";
    }

    @Override
    public void close() {
        if (task != null) {
            task.cancel(false);
        }
    }
}
