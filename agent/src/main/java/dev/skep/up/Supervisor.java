package dev.skep.up;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps local child processes running the way Kubernetes keeps a pod's containers running: a process that
 * exits, for whatever reason, is started again after a delay ({@code restartDelay}, 1 s for {@code skep up})
 * with the same command; a {@link ChildSpec#beforeStart()} hook runs before every start, which is how a
 * redis-server comes back with an empty dataset (a pod restart without a volume).
 *
 * <p>A child that keeps dying within {@link #QUICK_EXIT} of its start is restarted with a doubling delay,
 * capped at {@link #MAX_BACKOFF} (Kubernetes' CrashLoopBackOff), after the third quick exit in a row: a
 * broken command must not spin a JVM start per second on a small machine, while a single kill is still
 * answered after exactly {@code restartDelay}.
 *
 * <p>{@link #close()} stops children by kind, in the reverse order kinds were first added (for
 * {@code skep up}: agents first, then redis servers, so agents never see their redis vanish and react), all
 * of one kind at once: SIGTERM, then SIGKILL after {@code stopGrace}; it only signals processes it started
 * (by PID, through their {@link Process}) and their descendants, and returns when all have exited.
 *
 * <p>Threads: {@link #start} and {@link #close} are called by the owner (the CLI's main thread, or a
 * shutdown hook for {@code close}); exits are noticed on JDK process-reaper threads and restarts run on the
 * supervisor's own daemon thread. Each child's state is guarded by the child's lock. Every line printed
 * goes to {@code out}, timestamped.
 */
public final class Supervisor implements AutoCloseable {
    /** A child that exits sooner than this after its start counts as a quick exit (crash loop). */
    public static final Duration QUICK_EXIT = Duration.ofSeconds(5);
    /** Longest delay between restarts of a crash-looping child. */
    public static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private final PrintStream out;
    private final Duration restartDelay;
    private final Duration stopGrace;
    private final ScheduledExecutorService restarts;
    private final Map<String, List<Child>> byKind = new LinkedHashMap<>();
    private boolean closed;

    /**
     * @param out          where restart and stop lines are printed
     * @param restartDelay wait between an exit and the restart
     * @param stopGrace    how long {@link #close()} waits after SIGTERM before SIGKILL, per kind
     */
    public Supervisor(PrintStream out, Duration restartDelay, Duration stopGrace) {
        this.out = out;
        this.restartDelay = restartDelay;
        this.stopGrace = stopGrace;
        this.restarts = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "skep-supervisor");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts a child and supervises it from now on.
     *
     * @return a handle to read its current PID
     * @throws IOException when it cannot be started the first time (then it is not supervised)
     */
    public Child start(ChildSpec spec) throws IOException {
        Child child = new Child(spec);
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("supervisor closed");
            }
            child.launch();
            byKind.computeIfAbsent(spec.kind(), k -> new ArrayList<>()).add(child);
        }
        return child;
    }

    /** Every child, in the order they were added. */
    public synchronized List<Child> children() {
        List<Child> all = new ArrayList<>();
        byKind.values().forEach(all::addAll);
        return all;
    }

    /** Stops every child (see the class comment) and waits for them; idempotent, safe from a shutdown hook. */
    @Override
    public void close() {
        List<List<Child>> kinds;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            kinds = new ArrayList<>(byKind.values());
        }
        restarts.shutdownNow();
        for (int i = kinds.size() - 1; i >= 0; i--) {
            stopAll(kinds.get(i));
        }
    }

    private void stopAll(List<Child> children) {
        List<ProcessHandle> targets = new ArrayList<>();
        for (Child c : children) {
            targets.addAll(c.stopAndGetProcesses());
        }
        targets.forEach(ProcessHandle::destroy); // SIGTERM
        long deadline = System.nanoTime() + stopGrace.toNanos();
        for (ProcessHandle p : targets) {
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) {
                    p.onExit().get(left, TimeUnit.NANOSECONDS);
                }
            } catch (java.util.concurrent.TimeoutException e) {
                // handled below: SIGKILL
            } catch (java.util.concurrent.ExecutionException e) {
                // onExit never fails; nothing to do
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (ProcessHandle p : targets) {
            if (p.isAlive()) {
                say(children.get(0).spec().kind() + " pid " + p.pid() + " ignored SIGTERM for "
                        + stopGrace.toMillis() + " ms: SIGKILL");
                p.destroyForcibly();
            }
        }
        for (ProcessHandle p : targets) {
            try {
                // SIGKILL cannot be ignored; the bound only guards against a process stuck in the kernel.
                p.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                say("pid " + p.pid() + " still alive after SIGKILL");
            }
        }
    }

    private void say(String line) {
        synchronized (out) {
            out.println(LocalTime.now().format(CLOCK) + " " + line);
            out.flush();
        }
    }

    /** One supervised child: its spec and its current process. */
    public final class Child {
        private ChildSpec spec; // guarded by this
        private Process process;
        private long startedNanos;
        private int quickExits;
        private boolean stopping;

        private Child(ChildSpec spec) {
            this.spec = spec;
        }

        public synchronized ChildSpec spec() {
            return spec;
        }

        /**
         * Makes the next start (after this process exits) run {@code next} instead: what a rolling upgrade does
         * to a container, whose next start runs the new image. The running process is left alone.
         */
        public synchronized void startNextWith(ChildSpec next) {
            if (!next.node().equals(spec.node()) || !next.kind().equals(spec.kind())) {
                throw new IllegalArgumentException("another child: " + next.node() + " " + next.kind()
                        + " (this one: " + spec.node() + " " + spec.kind() + ")");
            }
            spec = next;
        }

        /** PID of the current process (the last one started; it may have exited since). */
        public synchronized long pid() {
            return process.pid();
        }

        /** The current process (the last one started). */
        public synchronized Process process() {
            return process;
        }

        private synchronized void launch() throws IOException {
            if (spec.beforeStart() != null) {
                spec.beforeStart().run();
            }
            Files.createDirectories(spec.log().toAbsolutePath().getParent());
            ProcessBuilder pb = new ProcessBuilder(spec.command())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(spec.log().toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            spec.environment().forEach((k, v) -> {
                if (v == null) {
                    pb.environment().remove(k);
                } else {
                    pb.environment().put(k, v);
                }
            });
            Process p = pb.start();
            process = p;
            startedNanos = System.nanoTime();
            p.onExit().thenAccept(this::exited);
        }

        private void exited(Process p) {
            Duration delay;
            synchronized (this) {
                if (stopping || p != process) {
                    return;
                }
                boolean quick = System.nanoTime() - startedNanos < QUICK_EXIT.toNanos();
                quickExits = quick ? quickExits + 1 : 0;
                delay = restartDelay;
                if (quickExits > 3) {
                    long factor = 1L << Math.min(quickExits - 3, 10);
                    delay = restartDelay.multipliedBy(factor);
                    if (delay.compareTo(MAX_BACKOFF) > 0) {
                        delay = MAX_BACKOFF;
                    }
                }
            }
            String note = spec().restartNote().isEmpty() ? "" : " " + spec().restartNote();
            say(spec().node() + ": " + spec().kind() + " (pid " + p.pid() + ") exited with code " + p.exitValue()
                    + ", restarting" + note + " in " + seconds(delay));
            try {
                restarts.schedule(this::restart, delay.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // the supervisor is closing: no restart
            }
        }

        private void restart() {
            synchronized (this) {
                if (stopping) {
                    return;
                }
                try {
                    launch();
                } catch (IOException | UncheckedIOException e) {
                    say(spec.node() + ": cannot restart " + spec.kind() + ": " + e.getMessage()
                            + "; trying again in " + seconds(restartDelay));
                    try {
                        restarts.schedule(this::restart, restartDelay.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (java.util.concurrent.RejectedExecutionException closing) {
                        // the supervisor is closing
                    }
                    return;
                }
            }
            say(spec().node() + ": " + spec().kind() + " restarted (pid " + pid() + ")");
        }

        /** Marks the child stopping (no more restarts) and returns its live process and descendants. */
        private synchronized List<ProcessHandle> stopAndGetProcesses() {
            stopping = true;
            List<ProcessHandle> handles = new ArrayList<>();
            if (process != null && process.isAlive()) {
                // Descendants first collected while the parent lives: e.g. a redis fork for a full sync.
                process.descendants().forEach(handles::add);
                handles.add(0, process.toHandle());
            }
            return handles;
        }

        private String seconds(Duration d) {
            return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
        }
    }
}
