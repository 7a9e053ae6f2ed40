package dev.skep.up;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The supervisor on a real redis-server: kill -9, restart empty on the same port, nothing left on close. */
class SupervisorIT {
    @TempDir Path dir;
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final Supervisor supervisor = new Supervisor(new PrintStream(printed, true, StandardCharsets.UTF_8),
            Duration.ofSeconds(1), Duration.ofSeconds(5));

    @AfterEach
    void stop() {
        supervisor.close();
    }

    private static int freeLoopbackPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private static boolean answersPing(int port) {
        try (Jedis j = new Jedis("127.0.0.1", port, 500)) {
            return "PONG".equals(j.ping());
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Test
    void killedRedisComesBackEmptyOnTheSamePortAndCloseLeavesNothing() throws Exception {
        int port = freeLoopbackPort();
        LocalHive.NodePorts ports = new LocalHive.NodePorts(0, port, 0, 0, 0, 0, 0);
        Path data = dir.resolve("data");
        Supervisor.Child redis = supervisor.start(new ChildSpec("node 0", "redis-server",
                LocalHive.redisCommand("redis-server", ports, data), dir.resolve("redis.log"), Map.of(),
                () -> LocalHive.emptyDirectory(data), "empty"));
        List<Long> pids = new ArrayList<>();
        long first = redis.pid();
        pids.add(first);

        await().atMost(Duration.ofSeconds(10)).until(() -> answersPing(port));
        try (Jedis j = new Jedis("127.0.0.1", port, 2000)) {
            // started fenced, a replica of nowhere: no write until an agent promotes it (here, the test does)
            assertThatThrownBy(() -> j.set("k", "v")).hasMessageStartingWith("READONLY");
            j.replicaofNoOne();
            assertThatThrownBy(() -> j.set("k", "v")).hasMessageStartingWith("NOREPLICAS");
            j.configSet("min-replicas-to-write", "0");
            j.set("k", "v");
            // SAVE writes dump.rdb although `save ""`: the restart must still come back empty, as a replica's
            // full sync leaves such a file behind too.
            j.save();
            assertThat(j.dbSize()).isEqualTo(1);
        }
        assertThat(Files.exists(data.resolve("dump.rdb"))).isTrue();

        new ProcessBuilder("kill", "-9", Long.toString(first)).inheritIO().start().waitFor();

        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> {
            if (redis.pid() == first || !answersPing(port)) {
                return false;
            }
            try (Jedis j = new Jedis("127.0.0.1", port, 500)) {
                return j.dbSize() == 0;
            }
        });
        long second = redis.pid();
        pids.add(second);
        assertThat(second).isNotEqualTo(first);
        try (Jedis j = new Jedis("127.0.0.1", port, 2000)) {
            assertThatThrownBy(() -> j.set("k", "v")).as("restarted empty, and fenced again from birth")
                    .hasMessageStartingWith("READONLY");
        }
        assertThat(ProcessHandle.of(first).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        String out = printed.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("node 0: redis-server (pid " + first + ") exited")
                .contains("restarting empty in 1 s")
                .contains("node 0: redis-server restarted (pid " + second + ")");

        supervisor.close();
        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                    .as("pid %d alive after close", pid).isFalse();
        }
        assertThat(answersPing(port)).isFalse();
        // closed for good: an exit after close restarts nothing
        assertThat(redis.pid()).isEqualTo(second);
    }

    @Test
    void stopsKindsInReverseOrderOfAdding() throws Exception {
        Supervisor.Child first = supervisor.start(new ChildSpec("node 0", "first",
                List.of("sleep", "600"), dir.resolve("first.log"), Map.of(), null, ""));
        Supervisor.Child second = supervisor.start(new ChildSpec("node 0", "second",
                List.of("sleep", "600"), dir.resolve("second.log"), Map.of(), null, ""));
        // exit callbacks may run in any order on the JDK's reaper threads: what the order of stopping
        // guarantees is that when the first one exits, the second one is already gone
        java.util.concurrent.CompletableFuture<Boolean> secondAliveWhenFirstExited =
                first.process().onExit().thenApply(p -> second.process().isAlive());

        supervisor.close();

        assertThat(first.process().isAlive()).isFalse();
        assertThat(second.process().isAlive()).isFalse();
        assertThat(secondAliveWhenFirstExited.get(2, java.util.concurrent.TimeUnit.SECONDS)).isFalse();
        // stopping is not dying: no restart
        assertThat(printed.toString(StandardCharsets.UTF_8)).doesNotContain("restarting");
    }

    @Test
    void killsWhatIgnoresSigtermAfterTheGrace() throws Exception {
        Supervisor quick = new Supervisor(new PrintStream(printed, true, StandardCharsets.UTF_8),
                Duration.ofSeconds(1), Duration.ofMillis(300));
        Supervisor.Child stubborn = quick.start(new ChildSpec("node 0", "stubborn",
                List.of("sh", "-c", "trap '' TERM; while true; do sleep 1; done"), dir.resolve("s.log"),
                Map.of(), null, ""));
        long pid = stubborn.pid();
        // the trap is set once the shell runs its loop, i.e. once it has a child
        await().atMost(Duration.ofSeconds(5)).until(() -> stubborn.process().descendants().findAny().isPresent());

        quick.close();

        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(printed.toString(StandardCharsets.UTF_8)).contains("ignored SIGTERM for 300 ms: SIGKILL");
    }
}
