package dev.skep.redis;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ServerVersionTest {
    @Test
    void infoNamesValkeyByItsOwnVersionNotTheRedisVersionItReportsForClients() {
        assertThat(ServerVersion.describe("7.2.4", "8.1.1")).isEqualTo("valkey 8.1.1");
        assertThat(ServerVersion.describe("7.0.15", null)).isEqualTo("redis 7.0.15");
        assertThat(ServerVersion.describe(null, null)).isNull();
        assertThat(ServerVersion.parse("valkey 8.1.1")).contains(new ServerVersion("valkey", 8, 1, 1));
        assertThat(ServerVersion.parse("redis 8.0")).contains(new ServerVersion("redis", 8, 0, 0));
        assertThat(ServerVersion.parse("7.0.15")).isEmpty();
        assertThat(ServerVersion.parse("")).isEmpty();
    }

    @Test
    void theFullSyncsMeasuredHereAreTheOnesAllowed() {
        // each pair was synced for real (redis-server 7.0.15 and 8.0.2, valkey-server 8.1.1): see the class comment
        assertThat(ServerVersion.cannotReplicateFrom("valkey 8.1.1", "redis 7.0.15")).isEmpty();
        assertThat(ServerVersion.cannotReplicateFrom("redis 8.0.2", "valkey 8.1.1")).isEmpty();
        assertThat(ServerVersion.cannotReplicateFrom("redis 8.0.2", "redis 7.0.15")).isEmpty();
        assertThat(ServerVersion.cannotReplicateFrom("valkey 8.1.1", "redis 8.0.2")).isPresent();
        assertThat(ServerVersion.cannotReplicateFrom("redis 7.0.15", "valkey 8.1.1")).isPresent();
        assertThat(ServerVersion.cannotReplicateFrom("redis 7.0.15", "redis 8.0.2")).isPresent();
    }

    @Test
    void sameServerSameVersionAlwaysReplicatesAndUnknownVersionsAreNotRefused() {
        for (String v : new String[] {"redis 6.2.14", "redis 7.0.15", "redis 7.2.5", "redis 7.4.2", "redis 8.2.1",
                "valkey 7.2.8", "valkey 8.0.2", "valkey 9.0.0"}) {
            assertThat(ServerVersion.cannotReplicateFrom(v, v)).as(v).isEmpty();
        }
        assertThat(ServerVersion.cannotReplicateFrom("", "redis 8.0.2")).isEmpty();
        assertThat(ServerVersion.cannotReplicateFrom("valkey 8.1.1", null)).isEmpty();
        assertThat(ServerVersion.cannotReplicateFrom("redis 7.2.4", "redis 7.4.0")).contains("local redis 7.2.4 cannot "
                + "replicate the master's redis 7.4.0: a full sync sends RDB format 12 and redis 7.2.4 loads up to 11 (run "
                + "the same server on every node, or upgrade the replicas first)");
    }

    @Test
    void severalInfoSectionsAtOnceAreAskedOfRedis7AndEveryValkeyOnly() {
        assertThat(RedisController.takesSeveralSections("redis 7.0.15")).isTrue();
        assertThat(RedisController.takesSeveralSections("redis 8.0.2")).isTrue();
        assertThat(RedisController.takesSeveralSections("valkey 7.2.5")).isTrue();
        assertThat(RedisController.takesSeveralSections("redis 6.2.14")).isFalse();
        assertThat(RedisController.takesSeveralSections(null)).isFalse();
        assertThat(RedisController.takesSeveralSections("something 9")).isFalse();
    }
}
