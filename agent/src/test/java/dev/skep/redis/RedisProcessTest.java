package dev.skep.redis;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Reading {@code /proc/<pid>/stat} (canned lines as Linux writes them) and classifying failed probes: the
 * evidence that tells a busy redis from a stopped or crashed one. The real /proc is exercised by
 * {@code RedisControllerIT} against a running redis-server.
 */
class RedisProcessTest {
    /** A real line of a redis-server (pid 5021, sleeping, 3 + 1 ticks of CPU, started 37009 ticks after boot). */
    private static final String REDIS_STAT = "5021 (redis-server) S 1 5021 5021 0 -1 4194560 329 0 0 0 3 1 0 0 20 0 "
            + "5 0 37009 76435456 2463 18446744073709551615 1 1 0 0 0 0 0 4097 17610 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";

    @Test
    void statFieldsAreCountedFromTheLastParenthesisSoACommWithSpacesOrParenthesesParses() {
        RedisProcess.Stat plain = RedisProcess.parseStat(REDIS_STAT);
        assertThat(plain).isEqualTo(new RedisProcess.Stat('S', 4, 37009));
        RedisProcess.Stat odd = RedisProcess.parseStat(REDIS_STAT.replace("(redis-server)", "(redis) (x y)"));
        assertThat(odd).isEqualTo(plain);
        assertThatThrownBy(() -> RedisProcess.parseStat("garbage")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void onlyStoppedTracedAndDeadStatesMeanTheProcessServesNothing() {
        assertThat(RedisProcess.stateOf('R')).isEqualTo(RedisProcess.State.ALIVE);
        assertThat(RedisProcess.stateOf('S')).as("DEBUG SLEEP, or idle").isEqualTo(RedisProcess.State.ALIVE);
        assertThat(RedisProcess.stateOf('D')).as("waiting on the disk (a fork, a big write)").isEqualTo(RedisProcess.State.ALIVE);
        assertThat(RedisProcess.stateOf('T')).as("SIGSTOP").isEqualTo(RedisProcess.State.STOPPED);
        assertThat(RedisProcess.stateOf('t')).isEqualTo(RedisProcess.State.STOPPED);
        assertThat(RedisProcess.stateOf('Z')).isEqualTo(RedisProcess.State.GONE);
    }

    @Test
    void aProcessIsWatchedOnlyWhenItsStartTimeMatchesTheUptimeRedisReports(@org.junit.jupiter.api.io.TempDir Path proc)
            throws IOException {
        long boot = 1_796_585_191L;
        Files.writeString(proc.resolve("stat"), "cpu  1 2 3\nbtime " + boot + "\nprocesses 9\n");
        Files.createDirectories(proc.resolve("5021"));
        Files.writeString(proc.resolve("5021/stat"), REDIS_STAT);
        long startedMillis = boot * 1000 + 370_090; // 37009 ticks of 10 ms after boot
        RedisProcess watch = new RedisProcess(proc);

        // a process with this PID that started an hour before the redis INFO describes: another PID namespace
        watch.identify(snapshot(5021, 60), startedMillis + 3_660_000);
        assertThat(watch.visible()).isFalse();
        assertThat(watch.observe().state()).isEqualTo(RedisProcess.State.NOT_VISIBLE);

        watch.identify(snapshot(5021, 60), startedMillis + 60_400);
        assertThat(watch.visible()).isTrue();
        assertThat(watch.observe().state()).isEqualTo(RedisProcess.State.ALIVE);

        Files.writeString(proc.resolve("5021/stat"), REDIS_STAT.replace(" S 1 ", " T 1 "));
        assertThat(watch.observe().state()).isEqualTo(RedisProcess.State.STOPPED);
        Files.writeString(proc.resolve("5021/stat"), REDIS_STAT.replace(" 37009 ", " 99999 "));
        assertThat(watch.observe().state()).as("the PID now belongs to a newer process").isEqualTo(RedisProcess.State.GONE);
        Files.delete(proc.resolve("5021/stat"));
        assertThat(watch.observe().state()).isEqualTo(RedisProcess.State.GONE);
    }

    @Test
    void aTimeoutIsBusyWhenTheProcessIsAliveOrUnseenAndDownWhenItIsStoppedOrGone() {
        SocketTimeoutException timeout = new SocketTimeoutException("127.0.0.1:6379: no reply to PING in time");
        assertThat(ProbeFailure.classify(timeout, () -> seen(RedisProcess.State.ALIVE)).busy()).isTrue();
        assertThat(ProbeFailure.classify(timeout, () -> seen(RedisProcess.State.NOT_VISIBLE)).busy()).isTrue();
        assertThat(ProbeFailure.classify(timeout, () -> seen(RedisProcess.State.STOPPED)).busy()).isFalse();
        assertThat(ProbeFailure.classify(timeout, () -> seen(RedisProcess.State.GONE)).busy()).isFalse();
        assertThat(ProbeFailure.classify(timeout, () -> seen(RedisProcess.State.STOPPED)).reason())
                .isEqualTo("127.0.0.1:6379: no reply to PING in time (state T: stopped)");
    }

    @Test
    void aBusyReplyIsBusyAndACrashIsDownWithoutLookingAtTheProcess() {
        RedisProcess.Observation never = null;
        assertThat(ProbeFailure.classify(new RedisErrorReply("BUSY Redis is busy running a script."), () -> never)
                .busy()).isTrue();
        assertThat(ProbeFailure.classify(new SocketException("Connection reset"), () -> never).busy()).isFalse();
        assertThat(ProbeFailure.classify(new IOException("127.0.0.1:6379: connect failed: Connection refused",
                new ConnectException("Connection refused")), () -> never)).as("nothing listens: the process is gone")
                .isEqualTo(new ProbeFailure(ProbeFailure.Kind.GONE, "127.0.0.1:6379: connect failed: Connection refused"));
        assertThat(ProbeFailure.classify(new SocketException("Connection reset"), () -> never).kind())
                .as("a reset alone may be a CLIENT KILL: the next connect tells").isEqualTo(ProbeFailure.Kind.FAILED);
        assertThat(ProbeFailure.classify(new RedisErrorReply("LOADING Redis is loading the dataset in memory"),
                () -> never).busy()).as("a redis loading its data restarted: not the one that was elected").isFalse();
    }

    private static RedisProcess.Observation seen(RedisProcess.State state) {
        return new RedisProcess.Observation(state, -1, "state " + (state == RedisProcess.State.STOPPED ? "T" : "R"));
    }

    private static RedisSnapshot snapshot(long pid, long uptimeSeconds) {
        return new RedisSnapshot("run", pid, "7.0.15", RedisRole.MASTER, null, 0, false, false, 0, 0, 0, false,
                uptimeSeconds);
    }
}
