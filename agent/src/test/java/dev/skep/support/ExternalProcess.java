package dev.skep.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A client program in another language (a Python or Node.js script under {@code src/test/resources/clients}),
 * run as a child process of the test with its output (stdout and stderr together) in a file. Ended by its own
 * PID only ({@link #close}: SIGTERM, then SIGKILL if it does not exit).
 */
public final class ExternalProcess implements AutoCloseable {
    private final Process process;
    private final Path output;
    private final String name;

    private ExternalProcess(String name, Process process, Path output) {
        this.name = name;
        this.process = process;
        this.output = output;
    }

    /**
     * Runs {@code command} (a short one: {@code redis-cli ...}) to its end and returns what it printed, stdout and
     * stderr together; fails the test when it has not ended within 10 s after its output closed.
     */
    public static String outputOf(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (java.io.InputStream in = p.getInputStream()) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            in.transferTo(out);
            org.assertj.core.api.Assertions.assertThat(p.waitFor(10, TimeUnit.SECONDS))
                    .as("%s finished", command[0]).isTrue();
            return out.toString(StandardCharsets.UTF_8);
        } finally {
            p.destroyForcibly();
        }
    }

    /** The directory of the client scripts (test resources). */
    public static Path clientsDir() {
        try {
            return Paths.get(ExternalProcess.class.getResource("/clients").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Fails with how to install {@code what} unless {@code check} (a command) exits 0: a test that needs a client
     * library says so rather than skip.
     */
    public static void require(String install, String... check) {
        try {
            Process p = new ProcessBuilder(check).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError(String.join(" ", check) + " failed: install it with '" + install
                        + "' and run the tests again\n" + out);
            }
        } catch (IOException e) {
            throw new AssertionError(check[0] + " not found: install it with '" + install + "' and run the tests again", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Starts {@code command} in {@link #clientsDir()} with {@code env} added to this JVM's environment. */
    public static ExternalProcess start(String name, Map<String, String> env, String... command) {
        try {
            Path out = Files.createTempFile("skep-" + name + "-", ".log");
            ProcessBuilder pb = new ProcessBuilder(command).directory(clientsDir().toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile());
            pb.environment().putAll(env);
            return new ExternalProcess(name, pb.start(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every line written so far. */
    public List<String> lines() {
        try {
            return new ArrayList<>(Files.readAllLines(output, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The lines so far that start with {@code prefix}. */
    public List<String> lines(String prefix) {
        return lines().stream().filter(l -> l.startsWith(prefix)).toList();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the process to exit by itself; returns its exit code. */
    public int await(long seconds) {
        try {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                throw new AssertionError(name + " still running after " + seconds + " s; its output:\n" + tail(40));
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The last {@code n} lines, for failure messages. */
    public String tail(int n) {
        List<String> all = lines();
        return String.join("\n", all.subList(Math.max(0, all.size() - n), all.size()));
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ", output " + output + ")";
    }
}
