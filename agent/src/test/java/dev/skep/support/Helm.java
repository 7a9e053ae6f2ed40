package dev.skep.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * helm 3 for the tests that render the chart: {@code $HELM}, on the PATH, or where {@code .ci/install-helm}
 * puts it (Debian has no helm). When none is found the caller fails saying how to get it: a chart check that
 * silently skips proves nothing.
 */
public final class Helm {
    /** The chart, relative to the project directory the tests run in. */
    public static final Path CHART = Paths.get("deploy/helm/skep");
    public static final String NOT_FOUND_MESSAGE = "helm 3 is needed to check the chart (Debian has none): run "
            + ".ci/install-helm, which fetches it with npm, or put helm on the PATH";

    private Helm() {
    }

    /** The helm executable; fails with {@link #NOT_FOUND_MESSAGE} when there is none. */
    public static String executable() {
        Optional<String> env = Optional.ofNullable(System.getenv("HELM")).filter(p -> Files.isExecutable(Paths.get(p)));
        if (env.isPresent()) {
            return env.get();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Paths.get(dir, "helm"))) {
                return Paths.get(dir, "helm").toString();
            }
        }
        Path cached = Paths.get(System.getProperty("user.home"), ".cache/skep-tools/helm");
        if (!Files.isExecutable(cached)) {
            throw new IllegalStateException(NOT_FOUND_MESSAGE + " (looked at $HELM, the PATH and " + cached + ")");
        }
        return cached.toString();
    }

    /**
     * {@code helm template skep deploy/helm/skep --namespace namespace args...}: the rendered YAML.
     *
     * @throws IllegalStateException when helm fails (the message carries its output)
     */
    public static String template(String namespace, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(executable(), "template", "skep", CHART.toString(),
                "--namespace", namespace));
        cmd.addAll(List.of(args));
        // helm writes its cache and config under HOME; error merged into the output for the failure message
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + cmd);
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IllegalStateException(cmd + " exited with " + p.exitValue() + ":\n" + text);
        }
        return text;
    }
}
