package dev.skep.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * What a test needs beyond a JDK and {@code redis-server} (DESIGN.md, Tests): each with how to tell whether this
 * machine has it and how to get it. {@code redis-server} itself is not here: every test that needs it fails, never
 * skips, without it. Presence is checked once per JVM.
 */
public enum Need {
    ROOT("root, for network namespaces", "run the tests as root (sudo ./mvnw verify), or bash .ci/run") {
        @Override
        boolean check() {
            return "root".equals(System.getProperty("user.name")) && onPath("ip") && (onPath("dnsmasq")
                    || Files.isExecutable(Path.of("/usr/sbin/dnsmasq")));
        }
    },
    HELM("helm 3, to render the chart", "bash .ci/install-helm") {
        @Override
        boolean check() {
            try {
                Helm.executable();
                return true;
            } catch (IllegalStateException e) {
                return false;
            }
        }
    },
    PROMTOOL("promtool, to check the chart's alerts (Debian's prometheus)",
            "sudo apt-get install -y --no-install-recommends prometheus") {
        @Override
        boolean check() {
            return onPath("promtool");
        }
    },
    CHROMIUM("Debian's chromium and chromium-driver", "sudo apt-get install -y chromium chromium-driver") {
        @Override
        boolean check() {
            return Files.isExecutable(Path.of("/usr/bin/chromium")) && Files.isExecutable(Path.of("/usr/bin/chromedriver"));
        }
    },
    PYTHON_CLIENTS("Debian's python3-celery and python3-redis", "sudo apt-get install -y python3-celery python3-redis") {
        @Override
        boolean check() {
            return runs("/usr/bin/python3", "-c", "import celery, kombu, redis");
        }
    },
    NODE_CLIENTS("Node.js with ioredis and node-redis", "sudo apt-get install -y nodejs npm && bash .ci/install-node-clients") {
        @Override
        boolean check() {
            return onPath("node") && Files.isDirectory(Path.of(System.getProperty("user.home"),
                    ".cache/skep-tools/node/node_modules/ioredis"));
        }
    },
    PODMAN("root with podman, nsenter and the images of .ci/build-images", ContainerImages.BUILD
            + " (installs podman and builds the images from Debian's packages, about 3 minutes)") {
        @Override
        boolean check() {
            return ROOT.present() && onPath("podman") && onPath("nsenter")
                    && runs("podman", "image", "exists", ContainerImages.BASE_JRE)
                    && runs("podman", "image", "exists", ContainerImages.REDIS_REPOSITORY + ":" + ContainerImages.REDIS_TAG);
        }
    },
    REDIS_SUITE("Redis 7.0.15's own test suite and tclsh",
            "sudo apt-get install -y tcl && bash .ci/fetch-redis-tests (or keep it in ../shared/redis-tests)") {
        @Override
        boolean check() {
            Path shared = Path.of("").toAbsolutePath().resolve("../shared/redis-tests/redis-7.0.15-tests.tar.gz");
            Path cache = Path.of(System.getProperty("user.home"), ".cache/skep-tools/redis-7.0.15-tests.tar.gz");
            return onPath("tclsh") && (Files.exists(shared.normalize()) || Files.exists(cache));
        }
    },
    OTHER_SERVERS("Redis 8.0.2 and Valkey 8.1.1 built from Debian trixie's sources", "bash .ci/build-servers") {
        @Override
        boolean check() {
            return java.util.stream.Stream.of("redis-8.0.2/bin/redis-server", "valkey-8.1.1/bin/valkey-server")
                    .allMatch(s -> Files.isExecutable(Path.of(System.getProperty("user.home"),
                            ".cache/skep-tools/servers", s)));
        }
    },
    PREVIOUS_RELEASE("the previous release's jar, built from this checkout's history", "bash .ci/build-previous-release") {
        @Override
        boolean check() {
            return Files.isRegularFile(previousReleaseJar());
        }
    };

    /**
     * Where {@code .ci/build-previous-release} puts the jar of the release named in {@code .ci/previous-release}
     * (read from the checkout's top directory, where the tests run).
     */
    public static Path previousReleaseJar() {
        return Path.of(System.getProperty("user.home"), ".cache/skep-tools/releases",
                "skep-" + previousReleaseVersion() + ".jar");
    }

    /** The version of the release before this one, from {@code .ci/previous-release}. */
    public static String previousReleaseVersion() {
        try {
            return Files.readAllLines(Path.of(".ci/previous-release")).stream()
                    .filter(l -> !l.isBlank() && !l.startsWith("#"))
                    .map(l -> l.trim().split("\\s+")[0])
                    .findFirst().orElseThrow(() -> new IllegalStateException(".ci/previous-release names no release"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("reading .ci/previous-release (the tests run from the checkout's top)", e);
        }
    }

    /**
     * Set (to anything) by {@code .ci/run}: every tier must run, so a missing part is the test's own failure (with
     * the message saying what to install), never a skip.
     */
    public static final String ALL_TIERS = "SKEP_TEST_ALL_TIERS";

    private static final Map<Need, Boolean> PRESENT = new ConcurrentHashMap<>();
    private final String what;
    private final String how;

    Need(String what, String how) {
        this.what = what;
        this.how = how;
    }

    abstract boolean check();

    public boolean present() {
        return PRESENT.computeIfAbsent(this, Need::check);
    }

    public String what() {
        return what;
    }

    public String how() {
        return how;
    }

    /** True when the run must include every tier (CI). */
    public static boolean allTiersRequired() {
        return System.getenv(ALL_TIERS) != null || System.getProperty("skep.allTiers") != null;
    }

    static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    private static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
