package dev.skep.resp;

import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.skep.resp.Frames.bytes;
import static org.assertj.core.api.Assertions.assertThat;

class CommandTableTest {

    @Test
    void everyRedis70CommandHasALine() {
        List<CommandSpec> all = CommandTable.all();
        // Redis 7.0's 240 commands and their subcommands, with Skep's DEBUG subcommand lines (the refused ones), then
        // the later servers' (Redis 8.0, Valkey 8.1: 26 commands, 11 subcommands; RespRedisCompatIT checks them)
        assertThat(all.stream().filter(c -> !c.name().contains("|"))).hasSize(240 + 26);
        assertThat(all).hasSize(374 + 26 + 11);
        Set<String> names = new HashSet<>();
        all.forEach(c -> assertThat(names.add(c.name())).as("unique " + c.name()).isTrue());
        all.forEach(c -> assertThat(CommandTable.lookup(c.name())).isSameAs(c));
    }

    @ParameterizedTest
    @ValueSource(strings = {"get", "GET", "Get", "gEt"})
    void lookupIgnoresCase(String name) {
        CommandSpec get = CommandTable.lookup(name);
        assertThat(get.name()).isEqualTo("get");
        assertThat(CommandTable.lookup(Unpooled.wrappedBuffer(bytes("xx" + name + "yy")), 2, 3)).isSameAs(get);
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET", "SET", "INCR", "HGET", "MGET", "DEL", "EXPIRE", "LPUSH", "ZADD", "EVAL", "EVALSHA",
            "EVAL_RO", "FCALL", "PING", "ECHO", "EXISTS", "TTL", "TYPE", "SCAN", "HSCAN", "SSCAN", "ZSCAN", "PUBLISH",
            "INFO", "DBSIZE", "FLUSHDB", "LPOP", "RPOPLPUSH", "LMOVE", "XADD", "XRANGE", "GEOSEARCH", "PFADD", "SORT"})
    void plainDataCommandsAreShared(String name) {
        assertThat(CommandTable.lookup(name).route()).isEqualTo(Route.SHARED);
    }

    @ParameterizedTest
    @ValueSource(strings = {"SELECT", "AUTH", "HELLO", "CLIENT", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
            "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR", "BLPOP",
            "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX", "BLMPOP", "BZMPOP", "XREAD", "XREADGROUP",
            "WAIT", "RESET", "READONLY", "READWRITE", "ASKING", "QUIT", "DEBUG"})
    void statefulAndBlockingCommandsAreDedicated(String name) {
        assertThat(CommandTable.lookup(name).route()).isEqualTo(Route.DEDICATED);
    }

    @ParameterizedTest
    @ValueSource(strings = {"REPLICAOF", "SLAVEOF", "FAILOVER", "SHUTDOWN", "PSYNC", "REPLCONF"})
    void commandsThatWouldBreakTheHiveAreRefused(String name) {
        CommandSpec spec = CommandTable.lookup(name);
        assertThat(spec.route()).isEqualTo(Route.REFUSED);
        assertThat(spec.refusal()).startsWith(name + " is not allowed through the Skep proxy: the hive manages ");
    }

    @Test
    void refusalTexts() {
        assertThat(CommandTable.lookup("replicaof").refusal())
                .isEqualTo("REPLICAOF is not allowed through the Skep proxy: the hive manages replication");
        assertThat(CommandTable.lookup("shutdown").refusal())
                .isEqualTo("SHUTDOWN is not allowed through the Skep proxy: the hive manages the redis-server process");
        assertThat(CommandTable.lookup("debug", "segfault").refusal()).isEqualTo("DEBUG SEGFAULT is not allowed "
                + "through the Skep proxy: it would crash or restart redis-server under the hive");
        assertThat(CommandTable.lookup("debug", "change-repl-id").refusal()).isEqualTo("DEBUG CHANGE-REPL-ID is not "
                + "allowed through the Skep proxy: the hive manages replication");
        for (CommandSpec spec : CommandTable.all()) {
            assertThat(spec.refusal() != null).as(spec.name()).isEqualTo(spec.route() == Route.REFUSED);
        }
    }

    @Test
    void subcommands() {
        assertThat(CommandTable.lookup("CLIENT", "SETNAME").name()).isEqualTo("client|setname");
        assertThat(CommandTable.lookup("client", "setname").route()).isEqualTo(Route.DEDICATED);
        assertThat(CommandTable.lookup("CLIENT", "NOSUCH").name()).as("unknown subcommand: the container")
                .isEqualTo("client");
        assertThat(CommandTable.lookup("CONFIG", "GET").route()).isEqualTo(Route.SHARED);
        assertThat(CommandTable.lookup("CONFIG", "SET").route()).as("parameters are checked per request")
                .isEqualTo(Route.SHARED);
        assertThat(CommandTable.lookup("DEBUG", "SEGFAULT").route()).isEqualTo(Route.REFUSED);
        for (String sub : List.of("RESTART", "CRASH-AND-RECOVER", "PANIC", "SEGFAULT", "ASSERT", "OOM",
                "CHANGE-REPL-ID", "REPLICATE")) {
            assertThat(CommandTable.lookup("debug", sub).route()).as(sub).isEqualTo(Route.REFUSED);
        }
        // a stall or a reload is the user's choice: busy is not dead for the agent (--busy-grace-ms)
        for (String sub : List.of("SLEEP", "RELOAD", "LOADAOF", "PAUSE-CRON", "AOF-FLUSH-SLEEP")) {
            assertThat(CommandTable.lookup("debug", sub).route()).as(sub).isEqualTo(Route.DEDICATED);
            assertThat(CommandTable.lookup("debug", sub).refusal()).as(sub).isNull();
        }
        assertThat(CommandTable.lookup("DEBUG", "OBJECT").route()).isEqualTo(Route.DEDICATED);
        assertThat(CommandTable.lookup("DEBUG", "OBJECT").name()).isEqualTo("debug");
        assertThat(CommandTable.lookup("SCRIPT", "LOAD").route()).isEqualTo(Route.SHARED);
        assertThat(CommandTable.lookup("SCRIPT", "KILL").route()).isEqualTo(Route.DEDICATED);
        assertThat(CommandTable.lookup("FUNCTION", "KILL").route()).isEqualTo(Route.DEDICATED);
        assertThat(CommandTable.lookup("ACL", "WHOAMI").route()).isEqualTo(Route.DEDICATED);
        assertThat(CommandTable.lookup("GET", "x").name()).as("not a container").isEqualTo("get");
        assertThat(CommandTable.lookup("config").container()).isTrue();
        assertThat(CommandTable.lookup("get").container()).isFalse();
    }

    @Test
    void unknownCommandsAreDedicated() {
        assertThat(CommandTable.lookup("NOSUCHCOMMAND")).isSameAs(CommandTable.UNKNOWN);
        assertThat(CommandTable.lookup("")).isSameAs(CommandTable.UNKNOWN);
        assertThat(CommandTable.lookup("get|x")).isSameAs(CommandTable.UNKNOWN);
        assertThat(CommandTable.UNKNOWN.route()).isEqualTo(Route.DEDICATED);
        assertThat(CommandTable.UNKNOWN.known()).isFalse();
        assertThat(CommandTable.lookup("get").known()).isTrue();
    }

    @Test
    void redisFlags() {
        assertThat(CommandTable.lookup("SET").write()).isTrue();
        assertThat(CommandTable.lookup("SET").readOnly()).isFalse();
        assertThat(CommandTable.lookup("GET").write()).isFalse();
        assertThat(CommandTable.lookup("GET").readOnly()).isTrue();
        assertThat(CommandTable.lookup("EVAL").write()).as("Redis 7.0 leaves it to the script").isFalse();
        assertThat(CommandTable.lookup("FUNCTION", "LOAD").write()).isTrue();
        assertThat(CommandTable.lookup("FUNCTION", "LIST").write()).isFalse();
        assertThat(CommandTable.lookup("XGROUP", "CREATE").write()).isTrue();
        assertThat(CommandTable.lookup("BLPOP").blocking()).isTrue();
        assertThat(CommandTable.lookup("WAIT").blocking()).isTrue();
        for (CommandSpec spec : CommandTable.all()) {
            if (spec.blocking()) {
                assertThat(spec.route()).as(spec.name()).isEqualTo(Route.DEDICATED);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"replicaof", "SLAVEOF", "masterauth", "masteruser", "primaryauth", "PrimaryUser", "tls-replication"})
    void replicationParametersAreRefused(String parameter) {
        String refusal = CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"), bytes(parameter),
                bytes("x")));
        assertThat(refusal).isEqualTo("CONFIG SET " + parameter.toLowerCase() + " is not allowed through the Skep "
                + "proxy: the hive manages replication");
    }

    @ParameterizedTest
    @ValueSource(strings = {"min-replicas-to-write", "min-slaves-to-write", "repl-diskless-sync-delay", "replica-serve-stale-data", "slave-serve-stale-data",
            "replica-read-only", "slave-read-only", "replica-announce-ip", "slave-announce-port"})
    void parametersTheAgentOwnsAreRefused(String parameter) {
        String refusal = CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"), bytes("maxmemory"),
                bytes("1gb"), bytes(parameter), bytes("7")));
        assertThat(refusal).startsWith("CONFIG SET " + parameter.toLowerCase() + " is not allowed through the Skep "
                + "proxy: the Skep agent owns this setting (it keeps it ");
    }

    /** Writing back what CONFIG GET gave (Redis's "CONFIG sanity" test does it for every parameter) changes nothing. */
    @Test
    void theValueTheHiveKeepsPasses() {
        Map<String, String> hive = CommandTable.hiveValues("s3cret");
        for (String[] pair : new String[][] {{"min-replicas-to-write", "0"}, {"repl-diskless-sync-delay", "0"},
                {"replica-read-only", "YES"}, {"slave-serve-stale-data", "yes"}, {"replica-announce-ip", ""},
                {"replica-announce-port", "0"}, {"min-replicas-max-lag", "10"}, {"masterauth", "s3cret"},
                {"masteruser", ""}, {"tls-replication", "no"}, {"primaryauth", "s3cret"}, {"primaryuser", ""}}) {
            assertThat(CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"), bytes(pair[0]),
                    bytes(pair[1])), hive)).as(pair[0] + " " + pair[1]).isNull();
        }
        assertThat(CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"), bytes("min-replicas-to-write"),
                bytes("1000000")), hive)).isEqualTo("CONFIG SET min-replicas-to-write is not allowed through the Skep "
                + "proxy: the Skep agent owns this setting (it keeps it at \"0\")");
        assertThat(CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"), bytes("min-replicas-max-lag"),
                bytes("0")), hive)).endsWith("(it keeps it above 0)");
        assertThat(CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"), bytes("masterauth"),
                bytes("S3CRET")), hive)).as("the password is compared exactly, and not echoed")
                .isEqualTo("CONFIG SET masterauth is not allowed through the Skep proxy: the hive manages replication");
        assertThat(CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"), bytes("replicaof"),
                bytes("no one")), hive)).isNotNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"maxmemory", "appendonly", "save", "replica", "repl", "cluster-replica-no-failover",
            "repl-ping-replica-period", "repl-diskless-sync", "repl-backlog-size", "repl-timeout", "replica-priority",
            "slave-priority", "repl-diskless-load", "replica-lazy-flush"})
    void otherParametersAreNot(String parameter) {
        assertThat(CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"), bytes(parameter),
                bytes("x")))).isNull();
    }

    @Test
    void onlyExactNamesAreRefused() {
        // redis answers a parameter it does not know itself ("Unknown option"): the proxy refuses names, not shapes
        assertThat(CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"),
                bytes("min-replicas-to-write\r\n" + "x".repeat(100)), bytes("x")))).isNull();
        assertThat(CommandTable.configSetRefusal(List.of(bytes("config"), bytes("set"), bytes("min-replicas-to-writ"),
                bytes("x")))).isNull();
    }
}
