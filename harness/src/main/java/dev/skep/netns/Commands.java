package dev.skep.netns;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs short external commands ({@code ip}, {@code redis-cli}) to completion, each bounded in time, and
 * returns what they printed. A command that outlives its bound is killed (SIGKILL, by PID: it is our child).
 * Stateless; safe from any thread.
 */
public final class Commands {
    private Commands() {}

    /** What a finished command printed, and its exit status. */
    public record Result(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /** Runs {@code command}; never throws for a non-zero exit (see {@link Result#exitCode()}). */
    public static Result run(List<String> command, Duration bound) throws IOException {
        Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        // Both streams drained concurrently: a chatty command must not block on a full pipe before it exits.
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try {
            if (!p.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new IOException("'" + String.join(" ", command) + "' did not finish in " + bound.toMillis() + " ms");
            }
            return new Result(p.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.get(0), e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("cannot read the output of " + command.get(0) + ": " + e.getMessage(), e);
        }
    }

    /** Runs {@code command} (10 s bound) and returns its output; a non-zero exit throws with its stderr. */
    public static String check(String... command) throws IOException {
        Result r = run(List.of(command), Duration.ofSeconds(10));
        if (!r.ok()) {
            throw new IOException("'" + String.join(" ", command) + "' failed (exit " + r.exitCode() + "): "
                    + r.stderr().strip());
        }
        return r.stdout();
    }

    private static CompletableFuture<String> drain(InputStream in) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (in) {
                f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                f.complete("");
            }
        }, "command-output");
        t.setDaemon(true);
        t.start();
        return f;
    }
}
