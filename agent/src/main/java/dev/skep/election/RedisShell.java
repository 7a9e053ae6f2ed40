package dev.skep.election;

import dev.skep.redis.ProbeFailure;
import dev.skep.redis.RedisController;
import dev.skep.redis.RedisProcess;
import dev.skep.redis.RedisSnapshot;
import dev.skep.redis.RespClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The I/O shell around the local redis: the periodic probe (PING + INFO every heartbeat, every third of a heartbeat
 * after a failure), a probe at once when redis closes the connection a watching thread keeps open to it
 * ({@code skep-redis-watch}: a crashed redis's sockets are closed by the kernel the moment it dies, and the probe
 * that follows is refused), and the election's effects on its redis
 * ({@code REPLICAOF}, promotion, the pause of a handover, the fence), all on one thread, {@code skep-redis}, in the
 * order they were asked for, so that a probe never races a role change. What it finds goes to the
 * {@link ControlThread}. The effect methods are called on the control thread and only queue the work; a failed
 * command is logged, and the next probe tells the election the state redis is really in.
 */
final class RedisShell {
    private static final Logger log = LoggerFactory.getLogger(RedisShell.class);
    /** A paused redis resumes by itself this long after a handover's deadline, should this agent die meanwhile. */
    private static final long PAUSE_MARGIN_MS = 1_000;

    private final ElectionSettings settings;
    private final RedisController redis;
    private final ControlThread control;
    private final LongSupplier clock;
    private final ScheduledExecutorService thread = ShellThreads.single("skep-redis");
    /** The local redis process, when the agent can see it (busy or stopped?); redis thread only. */
    private final RedisProcess redisProcess = new RedisProcess();
    /** Told of each probe (metrics); set once at start. */
    private volatile ElectionLoop.ProbeObserver probeObserver = ElectionLoop.ProbeObserver.NONE;
    private volatile boolean closing;
    /** A connection that asks nothing of the local redis, only to learn the moment it ends; watch thread only. */
    private final RespClient watch;
    private final Thread watcher;

    /** A command to the local redis, run on the redis thread. */
    interface RedisAction {
        void run() throws Exception;
    }

    RedisShell(ElectionSettings settings, RedisController redis, ControlThread control, LongSupplier clock) {
        this.settings = settings;
        this.redis = redis;
        this.control = control;
        this.clock = clock;
        this.watch = redis.watchClient();
        this.watcher = new Thread(this::watch, "skep-redis-watch");
        this.watcher.setDaemon(true);
    }

    /** Reports every probe from now on to {@code observer}. */
    void observeProbes(ElectionLoop.ProbeObserver observer) {
        this.probeObserver = Objects.requireNonNull(observer, "observer");
    }

    /** Applies the settings the agent owns on its redis, then probes it every heartbeat. */
    void start() {
        thread.execute(this::prepareRedis);
        thread.execute(this::probe);
        watcher.start();
    }

    // ---- effects (called on the control thread, run on the redis thread) ----

    void promote(Effect.Promote p) {
        queue(() -> promoteNow(p));
    }

    void follow(Effect.Follow f) {
        queue(() -> {
            RedisSnapshot snap = redis.follow(f.master(), f.reason());
            control.handle(now -> new ElectionEvent.ProbeSucceeded(snap, now));
        });
    }

    void probeNow() {
        queue(this::probeOnce);
    }

    void detach(Effect.Detach d) {
        queue(() -> redis.detach(d.reason()));
    }

    void prepareHandover(Effect.PrepareHandover h) {
        queue(() -> prepareHandoverNow(h));
    }

    void resumeWrites(Effect.ResumeWrites r) {
        queue(() -> redis.resumeWrites(r.reason()));
    }

    void fenceWrites(Effect.FenceWrites f) {
        queue(() -> redis.setMinReplicasToWrite(f.minReplicas(), f.reason()));
    }

    /** Runs {@code action} on the redis thread once every command queued before it is done. */
    void queue(RedisAction action) {
        try {
            thread.execute(() -> {
                try {
                    action.run();
                } catch (Exception e) {
                    // the next probe reports the state redis is really in; the election acts on that
                    log.warn("local redis {}: {}", settings.redis(), e.getMessage());
                }
            });
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    // ---- redis thread ----

    private void prepareRedis() {
        try {
            redis.prepare();
        } catch (Exception e) {
            // applied on the first connection that works (RedisController re-applies after every reconnect)
            log.warn("local redis {} not reachable to apply its settings yet: {}", settings.redis(), e.getMessage());
        }
    }

    /** The periodic probe: reschedules itself, sooner after a failure. */
    private void probe() {
        if (closing) {
            return;
        }
        boolean ok = probeOnce();
        long delay = ok ? settings.heartbeatMs() : Math.max(10, settings.heartbeatMs() / 3);
        try {
            thread.schedule(this::probe, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    // ---- watch thread ----

    /**
     * Keeps a connection open to the local redis and probes at once when it ends: a redis killed or crashed is
     * declared by the probe that follows (refused: nothing listens any more) within milliseconds rather than after
     * failed probes. A connection ended for another reason (a {@code CLIENT KILL}, redis's {@code timeout}) costs one
     * probe that succeeds. Reconnects no more often than the heartbeat.
     */
    private void watch() {
        while (!closing) {
            if (watch.awaitClosed() && !closing) {
                queue(this::probeOnce);
            }
            try {
                Thread.sleep(settings.heartbeatMs());
            } catch (InterruptedException e) {
                return; // closing
            }
        }
    }

    /** Probes once and reports the result to the control thread; true when redis answered. */
    private boolean probeOnce() {
        long start = System.nanoTime();
        try {
            RedisSnapshot snap = redis.probe();
            probeObserver.probed(System.nanoTime() - start, true);
            redisProcess.identify(snap, clock.getAsLong());
            control.handle(now -> new ElectionEvent.ProbeSucceeded(snap, now));
            return true;
        } catch (Exception e) {
            probeObserver.probed(System.nanoTime() - start, false);
            ProbeFailure failure = ProbeFailure.classify(e, redisProcess::observe);
            control.handle(now -> new ElectionEvent.ProbeFailed(failure.reason(), failure.kind(), now));
            return false;
        }
    }

    /**
     * Promotes the local redis, unless it is no longer the redis that won: a different {@code run_id} (it
     * restarted, probably empty) or a lower offset (a full sync replaced its data) since it proposed.
     */
    private void promoteNow(Effect.Promote p) {
        boolean ok;
        String detail;
        RedisSnapshot confirmed = null;
        try {
            RedisSnapshot now = redis.probe();
            if (!now.runId().equals(p.runId())) {
                ok = false;
                detail = "local redis restarted since the election (run_id " + now.runId() + ", was " + p.runId() + ")";
            } else if (now.replOffset() < p.minOffset()) {
                ok = false;
                detail = "local redis offset " + now.replOffset() + " fell below the proposed " + p.minOffset();
            } else {
                confirmed = redis.promote(p.reason());
                ok = true;
                detail = "role:master confirmed";
            }
        } catch (Exception e) {
            ok = false;
            detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        boolean result = ok;
        String why = detail;
        RedisSnapshot snap = confirmed;
        control.handleAll(now -> {
            ElectionEvent finished = new ElectionEvent.PromotionFinished(p.epoch(), result, why, now);
            return snap == null ? List.of(finished) : List.of(finished, new ElectionEvent.ProbeSucceeded(snap, now));
        });
    }

    /** Drains, pauses writes and waits for the successor; reports to the control thread. */
    private void prepareHandoverNow(Effect.PrepareHandover h) {
        boolean ok;
        long offset = 0;
        String detail;
        try {
            Thread.sleep(h.drainMs()); // requests already sent to us are answered meanwhile; new ones are held
            long remainingMs = Math.max(1, h.deadlineMillis() - clock.getAsLong());
            offset = redis.pauseAndAwait(h.successorRedis(), h.runId(), remainingMs + PAUSE_MARGIN_MS,
                    System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(remainingMs));
            ok = true;
            detail = "caught up";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ok = false;
            detail = "interrupted";
        } catch (Exception e) {
            ok = false;
            detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        boolean result = ok;
        long at = offset;
        String why = detail;
        control.handle(now -> new ElectionEvent.HandoverCaughtUp(result, at, why, now));
    }

    // ---- closing ----

    /** No probe starts from now on (the first step of closing the loop). */
    void closing() {
        closing = true;
        watcher.interrupt();
        watch.close();
    }

    /** Lets a command in progress finish (2 s at most), then stops the thread. */
    void close() throws InterruptedException {
        thread.shutdown();
        if (!thread.awaitTermination(2, TimeUnit.SECONDS)) {
            thread.shutdownNow();
        }
    }
}
