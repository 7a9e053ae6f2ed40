package dev.skep.election;

import dev.skep.lease.LeaseConflictException;
import dev.skep.lease.LeaseRecord;
import dev.skep.lease.LeaseStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * {@code --election lease}: the I/O shell around the Lease. On one thread, {@code skep-lease}, it reads the Lease every
 * heartbeat and carries out the election's writes to it in the order they were asked for, so that each write is based
 * on the version the one before it left; what it reads and what each write returns go to the {@link ControlThread}.
 * A failing API server is logged once per distinct error, and once when it answers again. {@link #write} and
 * {@link #queue} are called on the control thread; the store is closed with this shell.
 */
final class LeaseShell {
    private static final Logger log = LoggerFactory.getLogger(LeaseShell.class);

    private final LeaseStore store;
    private final ControlThread control;
    private final LongSupplier clock;
    private final ScheduledExecutorService thread = ShellThreads.single("skep-lease");
    /** The last error logged, so that a failing API server is not logged every heartbeat; lease thread only. */
    private String lastError = "";

    LeaseShell(LeaseStore store, ControlThread control, LongSupplier clock) {
        this.store = store;
        this.control = control;
        this.clock = clock;
    }

    /** Reads the Lease now and every {@code heartbeatMs}. */
    void start(long heartbeatMs, int durationSeconds) {
        thread.scheduleWithFixedDelay(ShellThreads.guarded(this::read), 0, heartbeatMs, TimeUnit.MILLISECONDS);
        log.info("election through the Lease {} (duration {} s)", store.describe(), durationSeconds);
    }

    /** Writes {@code w} once the reads and writes queued before it are done. */
    void write(Effect.WriteLease w) {
        queue(() -> writeNow(w));
    }

    /** Runs {@code action} on the lease thread once the reads and writes queued before it are done. */
    void queue(Runnable action) {
        try {
            thread.execute(ShellThreads.guarded(action));
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    // ---- lease thread ----

    private void read() {
        try {
            LeaseRecord lease = store.read().orElse(null);
            readOk();
            control.handle(now -> new ElectionEvent.LeaseObserved(lease, now));
        } catch (IOException | RuntimeException e) {
            error(e);
        }
    }

    private void writeNow(Effect.WriteLease w) {
        long sentAt = clock.getAsLong();
        LeaseRecord stored = null;
        boolean ok;
        String detail;
        try {
            stored = store.write(w.next());
            ok = true;
            detail = "stored";
            readOk();
        } catch (LeaseConflictException e) {
            ok = false;
            detail = "changed meanwhile";
            try {
                stored = store.read().orElse(null);
            } catch (IOException | RuntimeException again) {
                error(again);
            }
        } catch (IOException | RuntimeException e) {
            ok = false;
            detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            error(e);
        }
        if (!ok || w.kind() != Effect.LeaseWrite.RENEW) {
            log.info("Lease {} ({}): {}", w.kind(), w.reason(), detail);
        }
        boolean written = ok;
        LeaseRecord after = stored;
        String why = detail;
        control.handle(now -> new ElectionEvent.LeaseWritten(w.kind(), written, after, sentAt, why, now));
    }

    private void readOk() {
        if (!lastError.isEmpty()) {
            log.info("Lease {} reachable again", store.describe());
            lastError = "";
        }
    }

    private void error(Exception e) {
        String error = String.valueOf(e.getMessage());
        if (!error.equals(lastError)) {
            log.warn("{}", error);
            lastError = error;
        }
    }

    /** Stops the thread (a request under way is interrupted) and closes the store. */
    void close() {
        thread.shutdownNow();
        store.close();
    }
}
