package dev.skep.app;

import dev.skep.support.FreePorts;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A fast part of Redis's own test suite, run by {@code bench/redis-suite.sh} against a plain redis-server and
 * through the write port of a {@code skep up} hive: every test that passes direct passes through Skep, or is in
 * {@code bench/redis-suite-known.txt} with its reason. The files are the ones that exercise what the proxy
 * does itself (QUIT, the protocol, transactions, tracking, pub/sub, blocking commands, scripts, CLIENT, SYNC,
 * redis-cli); the whole suite (84 files, about 20 minutes) is the on-demand tier. Needs tcl (and the suite:
 * {@code ../shared/redis-tests}, or {@code .ci/fetch-redis-tests}); fails saying so when either is missing.
 */
@Needs(Need.REDIS_SUITE)
class RedisSuiteIT {
    static final String FILES = String.join(",", "unit/quit", "unit/protocol", "unit/multi", "unit/tracking",
            "unit/pubsub", "unit/introspection", "unit/scripting", "unit/type/stream-cgroups", "unit/type/list",
            "unit/info", "unit/keyspace", "integration/redis-cli");

    @Test
    void theProxyPassesRedisOwnTestsOfWhatItDoesItselfOrTheyAreListedWithTheirReason() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        Path cache = Path.of(System.getProperty("user.home"), ".cache/skep-tools/redis-7.0.15-tests.tar.gz");
        Path shared = root.resolve("../shared/redis-tests/redis-7.0.15-tests.tar.gz").normalize();
        assertThat(Files.exists(shared) || Files.exists(cache))
                .as("Redis's test suite: in ../shared/redis-tests, or fetch it with 'bash .ci/fetch-redis-tests'")
                .isTrue();
        assertThat(onPath("tclsh")).as("tclsh: install it with 'apt-get install -y tcl'").isTrue();

        int base = FreePorts.freeBlock(100);
        Path log = Files.createTempFile("skep-redis-suite-", ".log");
        Process p = new ProcessBuilder("bash", "bench/redis-suite.sh", "--files", FILES, "--base-port",
                Integer.toString(base)).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(15, TimeUnit.MINUTES);
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        System.out.println(out);
        assertThat(done).as("the suite finished within 15 minutes").isTrue();
        assertThat(out).contains("| all |");
        assertThat(p.exitValue()).as("tests that passed direct but not through the write port, unlisted:%n%s", out)
                .isZero();
    }

    private static boolean onPath(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "-c", "command -v " + command).start();
        return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
}
