package dev.skep.election;

import dev.skep.redis.RedisController;
import dev.skep.status.EventLog;
import dev.skep.status.HiveEvent;
import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * The I/O shell that fences other nodes' orphaned redis servers (masters whose agent is silent) when the election
 * asks for it ({@link Effect.FenceOrphans}), on a thread of its own, {@code skep-fence}, so that a dead host never
 * delays the probes of the local redis. A request that arrives while one waits replaces it: only the latest list
 * matters. Each fence is recorded as a {@code fenced-orphan} event. {@link #fence} is called on the control thread.
 */
final class FenceShell {
    private static final Logger log = LoggerFactory.getLogger(FenceShell.class);

    private final ElectionSettings settings;
    private final RedisController redis;
    private final EventLog events;
    private final LongSupplier clock;
    private final ScheduledExecutorService thread = ShellThreads.single("skep-fence");
    /** The request waiting for the fence thread; control and fence threads. */
    private final AtomicReference<Effect.FenceOrphans> waiting = new AtomicReference<>();
    /** What each check last found, to record an event only when it changes; fence thread only. */
    private final Map<Endpoint, RedisController.OrphanCheck> lastChecks = new HashMap<>();

    FenceShell(ElectionSettings settings, RedisController redis, EventLog events, LongSupplier clock) {
        this.settings = settings;
        this.redis = redis;
        this.events = events;
        this.clock = clock;
    }

    /** Fences the redis servers {@code f} names, after the request under way if any. */
    void fence(Effect.FenceOrphans f) {
        if (waiting.getAndSet(f) == null) {
            try {
                thread.execute(ShellThreads.guarded(this::fenceWaiting));
            } catch (RejectedExecutionException e) {
                // closing
            }
        }
    }

    private void fenceWaiting() {
        Effect.FenceOrphans f = waiting.getAndSet(null);
        if (f == null) {
            return;
        }
        Duration timeout = Duration.ofMillis(Math.max(100, settings.heartbeatMs()));
        lastChecks.keySet().retainAll(f.redis());
        for (Endpoint target : f.redis()) {
            RedisController.OrphanCheck outcome = redis.fenceIfMaster(target, timeout, f.reason());
            RedisController.OrphanCheck before = lastChecks.put(target, outcome);
            if (outcome == RedisController.OrphanCheck.FENCED) {
                String message = "fenced redis " + target + ", a master whose agent is silent (" + f.reason() + ")";
                log.atInfo().addKeyValue("event", "fenced-orphan").log("[fenced-orphan] {}", message);
                events.add(new HiveEvent(clock.getAsLong(), settings.self().toString(), "fenced-orphan", message));
            } else if (outcome != before && outcome == RedisController.OrphanCheck.UNREACHABLE) {
                log.debug("redis {} (agent silent) not reachable to check for a fence", target);
            }
        }
    }

    /** Stops the thread; a check under way is interrupted. */
    void close() {
        thread.shutdownNow();
    }
}
