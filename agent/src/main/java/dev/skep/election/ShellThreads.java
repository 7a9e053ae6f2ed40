package dev.skep.election;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** The threads of the {@link ElectionLoop} and its I/O shells: each a single named daemon thread. */
final class ShellThreads {
    private static final Logger log = LoggerFactory.getLogger(ShellThreads.class);

    private ShellThreads() {}

    /** A single daemon thread called {@code name}, for tasks now and later. */
    static ScheduledExecutorService single(String name) {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** {@code task}, logging what it throws rather than letting it stop a periodic task for good. */
    static Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("unexpected error in {} (continuing)", Thread.currentThread().getName(), e);
            }
        };
    }
}
