package dev.skep.netns;

import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.topology.Endpoint;
import dev.skep.up.LocalHive;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Test side of {@link NetnsHive}: starts one with the built jar ({@code skep.jar}, set by failsafe) and
 * answers what a user would check from inside the nodes: each redis's {@code INFO replication}, each agent's
 * Sentinel-compatible answer, keys read and written with {@code redis-cli}.
 *
 * <p>Fails (never skips) when not root or a program is missing: the message says what to do. Used from the
 * test thread and Awaitility's poll thread.
 */
final class NetnsHiveFixture implements AutoCloseable {
    /** Agents beat faster than the default 250 ms so the tests stay short; failure detection scales with it. */
    static final int HEARTBEAT_MS = 200;

    final NetnsHive hive;

    private NetnsHiveFixture(NetnsHive hive) {
        this.hive = hive;
    }

    /** A hive of {@code nodes} nodes; {@code extraFlags} are added to node i's agent (e.g. a quorum mode). */
    static NetnsHiveFixture start(int nodes, IntFunction<List<String>> extraFlags, Path runDir) throws IOException {
        NetnsHive.requirePrerequisites();
        Path jar = Paths.get(System.getProperty("skep.jar", "agent/target/skep.jar")).toAbsolutePath();
        assertThat(jar).as("the shaded jar (built by `mvn package`, before failsafe runs)").exists();
        List<String> javaCmd = LocalHive.javaCommand(jar.toString(), "dev.skep.Skep");
        Files.createDirectories(runDir);
        NetnsHive hive = NetnsHive.start(new NetnsHive.Options(nodes, javaCmd, runDir, i -> {
            List<String> flags = new ArrayList<>(List.of("--heartbeat-ms", Integer.toString(HEARTBEAT_MS)));
            flags.addAll(extraFlags.apply(i));
            return flags;
        }, false, System.out));
        return new NetnsHiveFixture(hive);
    }

    /** What every node reports at one moment. */
    record View(List<Optional<RedisSnapshot>> redis, List<Optional<Endpoint>> sentinel) {
        /** Indexes of nodes whose redis says role:master. */
        List<Integer> masters() {
            List<Integer> m = new ArrayList<>();
            for (int i = 0; i < redis.size(); i++) {
                if (redis.get(i).map(s -> s.role() == RedisRole.MASTER).orElse(false)) {
                    m.add(i);
                }
            }
            return m;
        }

        /** True when node {@code r}'s redis replicates node {@code m}'s with its link up. */
        boolean linked(int r, int m) {
            return redis.get(r).map(s -> s.inSyncWith(NetnsHive.address(m), NetnsHive.REDIS_PORT)).orElse(false);
        }

        /** True when node {@code i}'s agent names node {@code m}'s redis as the master. */
        boolean names(int i, int m) {
            return sentinel.get(i).map(e -> e.host().equals(NetnsHive.address(m))).orElse(false);
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < redis.size(); i++) {
                b.append("\n  node ").append(i).append(": redis ").append(redis.get(i).map(s -> s.role()
                        + (s.role() == RedisRole.REPLICA ? " of " + s.masterHost() + " link " + (s.linkUp() ? "up" : "down") : "")
                        + " offset " + s.replOffset() + " keys " + s.keys()).orElse("not answering"))
                        .append("; agent names ").append(sentinel.get(i).map(Endpoint::toString).orElse("no master"));
            }
            return b.toString();
        }
    }

    View view() {
        List<Optional<RedisSnapshot>> redis = new ArrayList<>();
        List<Optional<Endpoint>> sentinel = new ArrayList<>();
        for (int i = 0; i < hive.size(); i++) {
            redis.add(hive.redis(i));
            sentinel.add(hive.sentinelMaster(i));
        }
        return new View(redis, sentinel);
    }

    /** True when {@code m} is the only master, every other redis replicates it with the link up, and every agent names it. */
    boolean convergedOn(View v, int m) {
        if (!v.masters().equals(List.of(m))) {
            return false;
        }
        for (int i = 0; i < hive.size(); i++) {
            if ((i != m && !v.linked(i, m)) || !v.names(i, m)) {
                return false;
            }
        }
        return true;
    }

    /** Like {@link #convergedOn} for every node but {@code excluded} (a node cut off, whatever it believes). */
    boolean convergedOnExcept(View v, int m, int excluded) {
        for (int i = 0; i < hive.size(); i++) {
            if (i == excluded) {
                continue;
            }
            boolean ok = i == m ? v.masters().contains(m) : v.linked(i, m);
            if (!ok || !v.names(i, m)) {
                return false;
            }
        }
        return true;
    }

    /** Waits until the hive has one master that everybody replicates and names; returns its index. */
    int awaitConverged(Duration atMost) {
        int[] master = {-1};
        View[] last = {null};
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(200)).until(() -> {
                View v = view();
                last[0] = v;
                List<Integer> m = v.masters();
                if (m.size() == 1 && convergedOn(v, m.get(0))) {
                    master[0] = m.get(0);
                    return true;
                }
                return false;
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("no single master replicated by every node within " + atMost.toSeconds()
                    + " s; last seen:" + last[0] + "\nlogs: " + hive.runDir(), e);
        }
        return master[0];
    }

    /** {@code redis-cli} against node {@code i}'s {@code port}; the reply text (trimmed) or the failure. */
    String cli(int i, int port, String... args) throws IOException {
        Commands.Result r = hive.cli(i, port, args);
        return (r.stdout() + r.stderr()).strip();
    }

    /** GET of {@code key} on node {@code i}'s own redis (replicas serve reads). */
    /** Waits until every node's redis answers {@code value} for {@code key} (replication reached it). */
    void awaitOnEveryNode(String key, String value) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            for (int i = 0; i < hive.size(); i++) {
                assertThat(get(i, key)).as("GET %s on node %d", key, i).isEqualTo(value);
            }
        });
    }

    /** Heals every node's link (a test may have left one cut) and waits for one master everybody follows. */
    int healAllAndConverge(Duration atMost) throws IOException {
        for (int i = 0; i < hive.size(); i++) {
            hive.heal(i);
        }
        return awaitConverged(atMost);
    }

    String get(int i, String key) throws IOException {
        return cli(i, NetnsHive.REDIS_PORT, "GET", key);
    }

    @Override
    public void close() {
        hive.close();
    }
}
