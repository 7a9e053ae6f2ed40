package dev.skep.cli;

import dev.skep.http.StatusJson;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code java -jar agent/target/skep.jar up --nodes 3}: the hive elects one leader, two follow, and SIGTERM to
 * {@code skep up} leaves no redis-server or agent behind.
 */
class UpCommandIT {
    private static final Pattern PID = Pattern.compile("\\(pid (\\d+)\\)|=(\\d+)");

    @TempDir Path dir;
    private Process up;
    private final List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void killLeftovers() {
        if (up != null && up.isAlive()) {
            // a failed test must not leave a hive running: its children first, then skep up itself
            up.descendants().forEach(ProcessHandle::destroyForcibly);
            up.destroyForcibly();
        }
    }

    @Test
    void upElectsOneLeaderAndSigtermLeavesNothingBehind() throws Exception {
        int base = freeBlockOfPorts(30);
        Path jar = Paths.get(System.getProperty("skep.jar", "agent/target/skep.jar"));
        assertThat(jar).as("built jar (run with mvn verify)").exists();
        String java = ProcessHandle.current().info().command().orElse("java");
        // extra arguments reach every agent and every redis-server (what the Redis test suite's run needs)
        up = new ProcessBuilder(java, "-jar", jar.toString(), "up", "--nodes", "3", "--base-port",
                Integer.toString(base), "--dir", dir.toString(), "--agent-arg=--max-lag-ms",
                "--agent-arg=2500", "--redis-arg=--enable-debug-command", "--redis-arg=yes")
                .redirectErrorStream(true)
                .start();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(up.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the process is gone
            }
        }, "skep-up-output");
        reader.setDaemon(true);
        reader.start();

        // the table is printed once every node reports a master (skep up gives it 30 s)
        await().atMost(Duration.ofSeconds(60)).until(() -> output().contains("skep status --http") || !up.isAlive());
        assertThat(output()).as("skep up output").contains("hint: skep status --http 127.0.0.1:" + (base + 5));
        assertThat(output()).contains("waiting for a leader...").doesNotContain("(soon)");

        StatusClient client = new StatusClient(Duration.ofSeconds(1));
        AtomicReference<HiveStatus> seen = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
            HiveStatus s = StatusJson.read(client.fetch(StatusClient.statusUri("127.0.0.1:" + (base + 5))));
            seen.set(s);
            long leading = s.members().stream().filter(m -> m.state() == NodeState.LEADING).count();
            long following = s.members().stream().filter(m -> m.state() == NodeState.FOLLOWING).count();
            return s.master() != null && s.members().size() == 3 && leading == 1 && following == 2;
        });

        // node 1's status, asked for the first time by an operator: every live member's traffic is in it (the agents
        // ask each other only while someone looks, and the first look waits for the answers)
        HiveStatus first = StatusJson.read(client.fetch(StatusClient.statusUri("127.0.0.1:" + (base + 15))));
        assertThat(first.members()).filteredOn(HiveStatus.Member::alive).hasSize(3)
                .allSatisfy(m -> assertThat(m.clients()).as("clients of %s", m.node()).isNotNull());

        for (int i = 0; i < 3; i++) {
            try (Jedis redis = new Jedis("127.0.0.1", base + 10 * i)) {
                assertThat(redis.configGet("enable-debug-command")).containsEntry("enable-debug-command", "yes");
            }
            // the agent logs its settings once it has started everything: a moment after its status is served
            Path log = dir.resolve("node-" + i).resolve("agent.log");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(Files.readString(log)).contains("maxLagMs=2500"));
        }

        // every agent's Sentinel-compatible endpoint is on its B+10i+3 port and points at the master
        for (int i = 0; i < 3; i++) {
            int sentinelPort = base + 10 * i + 3;
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
                try (Jedis sentinel = new Jedis("127.0.0.1", sentinelPort)) {
                    assertThat(sentinel.sentinelGetMasterAddrByName("mymaster"))
                            .containsExactly(seen.get().master().host(), Integer.toString(seen.get().master().port()));
                }
            });
        }

        // every node's write port reaches the master, every read port a replica that has the write
        for (int i = 0; i < 3; i++) {
            int writePort = base + 10 * i + 1;
            int readPort = base + 10 * i + 2;
            String value = "from-node-" + i;
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
                try (Jedis w = new Jedis("127.0.0.1", writePort)) {
                    assertThat(w.set("up-key", value)).isEqualTo("OK");
                }
            });
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
                try (Jedis r = new Jedis("127.0.0.1", readPort)) {
                    assertThat(r.get("up-key")).isEqualTo(value);
                    assertThat(r.role().get(0)).isEqualTo("slave");
                }
            });
        }

        Set<Long> pids = new TreeSet<>();
        for (HiveStatus.Member m : seen.get().members()) {
            if (m.redisProcessId() > 0) {
                pids.add(m.redisProcessId());
            }
        }
        Matcher matcher = PID.matcher(output());
        while (matcher.find()) {
            pids.add(Long.parseLong(matcher.group(1) != null ? matcher.group(1) : matcher.group(2)));
        }
        up.descendants().forEach(p -> pids.add(p.pid()));
        assertThat(pids).as("3 redis-servers and 3 agents at least").hasSizeGreaterThanOrEqualTo(6);

        // SIGTERM through the handle: Process.destroy() would also close our end of its output pipe, and
        // the lines skep up prints while stopping would be lost.
        up.toHandle().destroy();
        assertThat(up.waitFor(30, TimeUnit.SECONDS)).as("skep up exits after SIGTERM").isTrue();
        reader.join(5_000); // its last lines may still be in the pipe
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            for (long pid : pids) {
                assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                        .as("pid %d alive after skep up stopped; output:%n%s", pid, output()).isFalse();
            }
        });
        assertThat(output()).contains("stopped;");
        // every agent stops at once: the leader hands over to a follower that is stopping too, and must not wait
        // for its whole handover timeout (and be killed) once that follower has gone silent
        assertThat(output()).as("no agent had to be killed").doesNotContain("ignored SIGTERM");
        assertThat(Files.exists(dir.resolve("node-0").resolve("agent.log"))).isTrue();
    }

    private String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    /** A base port whose next {@code size} ports are all free on 127.0.0.1 (below the ephemeral range). */
    private static int freeBlockOfPorts(int size) throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int base = 20000 + 10 * ThreadLocalRandom.current().nextInt(1000);
            boolean free = true;
            for (int p = base; p < base + size && free; p++) {
                try (ServerSocket s = new ServerSocket()) {
                    s.setReuseAddress(true);
                    s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), p));
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IOException("no free block of " + size + " ports on 127.0.0.1");
    }
}
