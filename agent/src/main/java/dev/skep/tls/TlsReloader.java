package dev.skep.tls;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The agent's current {@link TlsMaterial}, reloaded when its files change (a Kubernetes Secret mounted as a volume,
 * rotated by cert-manager: the kubelet swaps the files under the mount). New connections get the new material;
 * established ones keep the one they were opened with, so a rotation drops no connection. A change that cannot be
 * used (a bad, expired or unreadable file, or a key and certificate written a moment apart) keeps the old material
 * and is reported once, until the files change again.
 *
 * <p>{@link #current} is read by any thread (event loops opening connections); {@link #check} runs on the one
 * scheduler thread given to {@link #start}, or on the caller's in tests.
 */
public final class TlsReloader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TlsReloader.class);

    /** What a check found. */
    public sealed interface Outcome {
        /** The files are what is loaded (or what was refused last time). */
        record Unchanged() implements Outcome {}

        /** New material is in use. */
        record Reloaded(TlsMaterial material) implements Outcome {}

        /** The files changed but cannot be used; the old material stays. */
        record Refused(String reason) implements Outcome {}
    }

    private final Clock clock;
    private final Consumer<Outcome> listener;
    private volatile TlsMaterial current;
    /** The digest of files last refused: reported once, not at every check. */
    private String refusedDigest;
    private ScheduledFuture<?> task;

    /** {@code listener} hears every reload and refusal (events, logs, metrics), on the checking thread. */
    public TlsReloader(TlsMaterial initial, Clock clock, Consumer<Outcome> listener) {
        this.current = initial;
        this.clock = clock;
        this.listener = listener;
    }

    public TlsMaterial current() {
        return current;
    }

    /** Checks the files every {@code reloadMs} of the settings (not at all when 0). */
    public void start(ScheduledExecutorService scheduler) {
        long period = current.settings().reloadMs();
        if (period > 0) {
            task = scheduler.scheduleWithFixedDelay(this::checkQuietly, period, period, TimeUnit.MILLISECONDS);
        }
    }

    private void checkQuietly() {
        try {
            check();
        } catch (RuntimeException e) {
            log.warn("TLS reload check failed: {}", e.toString()); // the next check tries again
        }
    }

    /** Reads the files; loads them if they differ from what is in use. */
    public Outcome check() {
        TlsSettings s = current.settings();
        String digest;
        try {
            digest = TlsMaterial.digest(read(s.certFile()), read(s.keyFile()), s.caFile() == null ? null : read(s.caFile()));
        } catch (IOException e) {
            return refused("cannot read the TLS files: " + e, "unreadable:" + e.getMessage());
        }
        if (digest.equals(current.digest()) || digest.equals(refusedDigest)) {
            return new Outcome.Unchanged();
        }
        TlsMaterial next;
        try {
            next = TlsMaterial.load(s, clock.instant());
        } catch (TlsException e) {
            return refused(e.getMessage(), digest);
        }
        current = next;
        refusedDigest = null;
        log.info("TLS certificate reloaded: {} (valid until {})", next.certificate().getSubjectX500Principal().getName(),
                next.notAfter());
        Outcome o = new Outcome.Reloaded(next);
        listener.accept(o);
        return o;
    }

    private Outcome refused(String reason, String digest) {
        if (digest.equals(refusedDigest)) {
            return new Outcome.Unchanged();
        }
        refusedDigest = digest;
        log.warn("TLS files changed but were not loaded, the previous certificate stays in use: {}", reason);
        Outcome o = new Outcome.Refused(reason);
        listener.accept(o);
        return o;
    }

    private static byte[] read(Path p) throws IOException {
        return Files.readAllBytes(p);
    }

    @Override
    public void close() {
        if (task != null) {
            task.cancel(false);
        }
    }
}
