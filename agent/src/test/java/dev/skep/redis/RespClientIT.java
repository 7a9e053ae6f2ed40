package dev.skep.redis;

import dev.skep.support.RedisServerFixture;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The admin client's replies, errors and reconnects against a real redis-server. */
class RespClientIT {
    private static final Duration TIMEOUT = Duration.ofSeconds(1);

    @Test
    void repliesMapToJavaTypes() throws IOException {
        try (RedisServerFixture redis = RedisServerFixture.start();
             RespClient client = new RespClient(redis.endpoint(), "", TIMEOUT, TIMEOUT)) {
            assertThat(client.call("SET", "k", "välue with spaces\r\nand a line break")).isEqualTo("OK");
            assertThat(client.call("GET", "k")).isEqualTo("välue with spaces\r\nand a line break");
            assertThat(client.call("GET", "missing")).isNull();
            assertThat(client.call("INCR", "n")).isEqualTo(1L);
            client.call("RPUSH", "list", "a", "", "c");
            assertThat(client.call("LRANGE", "list", "0", "-1")).isEqualTo(List.of("a", "", "c"));
            assertThat(client.call("EXISTS", "k", "missing")).isEqualTo(1L);
        }
    }

    @Test
    void anErrorReplyThrowsAndTheConnectionStaysUsable() throws IOException {
        try (RedisServerFixture redis = RedisServerFixture.start();
             RespClient client = new RespClient(redis.endpoint(), "", TIMEOUT, TIMEOUT)) {
            client.call("SET", "k", "not a number");

            assertThatThrownBy(() -> client.call("INCR", "k"))
                    .isInstanceOfSatisfying(RedisErrorReply.class, e -> {
                        assertThat(e.code()).isEqualTo("ERR");
                        assertThat(e.error()).contains("not an integer");
                    });
            assertThat(client.call("PING")).isEqualTo("PONG");
            assertThat(client.connects()).isEqualTo(1);
        }
    }

    @Test
    void authenticatesWithThePasswordAndReconnectsAfterARestart() throws IOException {
        try (RedisServerFixture redis = RedisServerFixture.start("--requirepass", "pw");
             RespClient client = new RespClient(redis.endpoint(), "pw", TIMEOUT, TIMEOUT)) {
            assertThat(client.call("PING")).isEqualTo("PONG");

            redis.restartEmpty();
            // the old connection is dead: the first call may fail, and closes it; the next one reconnects
            try {
                client.call("PING");
            } catch (IOException expected) {
                assertThat(client.isConnected()).isFalse();
            }

            assertThat(client.call("PING")).isEqualTo("PONG");
            assertThat(client.connects()).isEqualTo(2);
        }
    }

    /**
     * Watching a redis that refuses the password (restarted with another one) says it could not open a connection,
     * as when nothing listens, rather than throw: the agent's watch thread would end with the exception.
     */
    @Test
    void awaitClosedOnARedisThatRefusesThePasswordReturnsFalse() {
        try (RedisServerFixture redis = RedisServerFixture.start("--requirepass", "new-pw");
             RespClient watch = new RespClient(redis.endpoint(), "old-pw", TIMEOUT, TIMEOUT)) {
            assertThat(watch.awaitClosed()).isFalse();
        }
    }

    @Test
    void withoutThePasswordRedisRefusesCommands() throws IOException {
        try (RedisServerFixture redis = RedisServerFixture.start("--requirepass", "pw");
             RespClient client = new RespClient(redis.endpoint(), "", TIMEOUT, TIMEOUT)) {
            assertThatThrownBy(() -> client.call("GET", "k"))
                    .isInstanceOfSatisfying(RedisErrorReply.class, e -> assertThat(e.code()).isEqualTo("NOAUTH"));
        }
    }
}
