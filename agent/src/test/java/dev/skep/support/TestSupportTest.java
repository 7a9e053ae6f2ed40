package dev.skep.support;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The test support itself: what every integration test relies on. */
class TestSupportTest {

    @Test
    void withoutRedisServerOnThePathTheFixtureFailsWithTheInstallHint() {
        assertThatThrownBy(() -> RedisServerFixture.findOnPath("redis-server", "/nonexistent-dir:/another-missing-dir"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("redis-server not found on PATH: install it with 'apt-get install -y redis-server' "
                        + "(Debian/Ubuntu) and run the tests again");
    }

    @Test
    void skepServerBinPicksItsDirectorysServerRedisFirstThenValkey(@TempDir Path dir) throws IOException {
        Path valkey = executable(dir.resolve("valkey-server"));
        assertThat(RedisServerFixture.serverExecutable(dir.toString(), "/nonexistent-dir")).isEqualTo(valkey);
        Path redis = executable(dir.resolve("redis-server"));
        assertThat(RedisServerFixture.serverExecutable(dir.toString(), "/nonexistent-dir")).isEqualTo(redis);
    }

    @Test
    void skepServerBinUnsetOrEmptyMeansThePathsRedisServer(@TempDir Path dir) throws IOException {
        Path onPath = executable(dir.resolve("redis-server"));
        assertThat(RedisServerFixture.serverExecutable(null, "/nonexistent-dir:" + dir)).isEqualTo(onPath);
        assertThat(RedisServerFixture.serverExecutable("", "/nonexistent-dir:" + dir)).isEqualTo(onPath);
    }

    @Test
    void skepServerBinWithoutAServerFailsRatherThanFallingBackToThePath(@TempDir Path dir) throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        executable(dir.resolve("redis-server"));
        assertThatThrownBy(() -> RedisServerFixture.serverExecutable(empty.toString(), dir.toString()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("SKEP_SERVER_BIN=" + empty + " holds no executable redis-server or valkey-server "
                        + "(build one with .ci/build-servers)");
    }

    private static Path executable(Path file) throws IOException {
        Files.writeString(file, "#!/bin/sh\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    @Test
    void aBlockOfPortsCanAllBeBoundAndIsNeverHandedOutTwice() throws IOException {
        int first = FreePorts.freeBlock(3);
        int single = FreePorts.freePort();
        assertThat(single).isNotIn(first, first + 1, first + 2);

        List<ServerSocket> bound = new ArrayList<>();
        try {
            for (int p = first; p < first + 3; p++) {
                ServerSocket s = new ServerSocket();
                bound.add(s);
                s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), p));
            }
            assertThat(FreePorts.isFree(first)).as("a bound port is not free").isFalse();
        } finally {
            for (ServerSocket s : bound) {
                s.close();
            }
        }
    }
}
