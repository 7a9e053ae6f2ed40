package dev.skep.redis;

import dev.skep.support.RedisServerFixture;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The controller against real redis-server processes. */
class RedisControllerIT {
    private static final Duration IO_TIMEOUT = Duration.ofMillis(1000);
    private static final Duration SYNC_DEADLINE = Duration.ofSeconds(15);
    private static final String PASSWORD = "s3cret-Pa55";

    private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

    @AfterEach
    void closeAll() throws Exception {
        while (!toClose.isEmpty()) {
            toClose.pop().close();
        }
    }

    private RedisServerFixture redis(String... args) {
        RedisServerFixture f = RedisServerFixture.start(args);
        toClose.push(f);
        return f;
    }

    private RedisController controller(RedisServerFixture f) {
        RedisController c = new RedisController(f.endpoint(), f.password(), IO_TIMEOUT);
        toClose.push(c);
        return c;
    }

    /** A controller that has run prepare(), as every node of a hive does for its own redis at start. */
    private RedisController prepared(RedisServerFixture f) throws IOException {
        RedisController c = controller(f);
        c.prepare();
        return c;
    }

    @Test
    void followMakesTheLocalRedisAReplicaAndDataFlows() throws IOException {
        RedisServerFixture a = redis();
        prepared(a);
        RedisServerFixture b = redis();
        RedisController cb = prepared(b);

        RedisSnapshot after = cb.follow(a.endpoint(), "test: leader is a");

        assertThat(after.role()).isEqualTo(RedisRole.REPLICA);
        assertThat(after.replicates(a.endpoint().host(), a.port())).isTrue();
        a.jedis().set("greeting", "hello");
        await().atMost(SYNC_DEADLINE).untilAsserted(() -> assertThat(b.jedis().get("greeting")).isEqualTo("hello"));
        await().atMost(SYNC_DEADLINE).until(() -> cb.probe().inSyncWith(a.endpoint().host(), a.port()));
    }

    @Test
    void followingTheSameMasterAgainSendsNothing() throws IOException {
        RedisServerFixture a = redis();
        prepared(a);
        RedisServerFixture b = redis();
        RedisController cb = prepared(b);
        cb.follow(a.endpoint(), "test: first");
        await().atMost(SYNC_DEADLINE).until(() -> cb.probe().inSyncWith(a.endpoint().host(), a.port()));
        assertThat(replicaofCalls(b)).isEqualTo(1);

        RedisSnapshot again = cb.follow(a.endpoint(), "test: same leader again");

        assertThat(again.inSyncWith(a.endpoint().host(), a.port())).as("link still up").isTrue();
        assertThat(replicaofCalls(b)).as("no second REPLICAOF").isEqualTo(1);
        assertThat(infoField(a, "stats", "sync_full")).as("no new full sync on the master").isEqualTo("1");
    }

    @Test
    void followingAnotherMasterSwitches() throws IOException {
        RedisServerFixture a = redis();
        prepared(a);
        RedisServerFixture c = redis();
        prepared(c);
        RedisServerFixture b = redis();
        RedisController cb = prepared(b);
        cb.follow(a.endpoint(), "test: leader a");
        c.jedis().set("from-c", "yes");

        RedisSnapshot s = cb.follow(c.endpoint(), "test: leader c");

        assertThat(s.replicates(c.endpoint().host(), c.port())).isTrue();
        await().atMost(SYNC_DEADLINE).untilAsserted(() -> assertThat(b.jedis().get("from-c")).isEqualTo("yes"));
    }

    @Test
    void promoteMakesAReplicaMasterAndKeepsItsData() throws IOException {
        RedisServerFixture a = redis();
        prepared(a);
        RedisServerFixture b = redis();
        RedisController cb = prepared(b);
        cb.follow(a.endpoint(), "test");
        // written once the link is up, so that it reaches b through the stream (offset > 0), not in the first sync
        await().atMost(SYNC_DEADLINE).until(() -> cb.probe().linkUp());
        a.jedis().set("k", "v");
        await().atMost(SYNC_DEADLINE).untilAsserted(() -> assertThat(b.jedis().get("k")).isEqualTo("v"));

        RedisSnapshot promoted = cb.promote("test: won the election");

        assertThat(promoted.role()).isEqualTo(RedisRole.MASTER);
        assertThat(promoted.keys()).isEqualTo(1);
        assertThat(promoted.replOffset()).isPositive();
        assertThat(b.jedis().get("k")).isEqualTo("v");
        assertThat(b.jedis().set("written-on-b", "1")).as("accepts writes now").isEqualTo("OK");
    }

    @Test
    void aPreparedMasterSyncsANewReplicaWithoutRedisFiveSecondDelay() throws IOException {
        RedisServerFixture a = redis();
        prepared(a); // repl-diskless-sync-delay is the master's setting: it waits before each full sync
        RedisServerFixture b = redis();
        RedisController cb = prepared(b);
        a.jedis().set("k", "v");

        cb.follow(a.endpoint(), "test");

        // an empty full sync takes well under a second; Redis 7's default delay alone would take 5 s
        await().atMost(Duration.ofSeconds(3)).untilAsserted(() -> assertThat(b.jedis().get("k")).isEqualTo("v"));
    }

    @Test
    void detachStopsReplicating() throws IOException {
        RedisServerFixture a = redis();
        prepared(a);
        RedisServerFixture b = redis();
        RedisController cb = controller(b);
        cb.follow(a.endpoint(), "test");
        await().atMost(SYNC_DEADLINE).until(() -> cb.probe().linkUp());

        cb.detach("test: master is gone");

        assertThat(cb.probe().role()).isEqualTo(RedisRole.MASTER);
    }

    @Test
    void probeAfterARestartReportsANewRunIdAndAnEmptyDataset() throws IOException {
        RedisServerFixture a = redis();
        RedisController ca = controller(a);
        a.jedis().set("k", "v");
        RedisSnapshot before = ca.probe();
        assertThat(before.keys()).isEqualTo(1);
        assertThat(before.processId()).isEqualTo(a.pid());

        a.kill9();
        a.restartEmpty();
        RedisSnapshot after = ca.probe();

        assertThat(after.runId()).isNotNull().isNotEqualTo(before.runId());
        assertThat(after.keys()).isZero();
        assertThat(after.processId()).isEqualTo(a.pid()).isNotEqualTo(before.processId());
    }

    @Test
    void aProbeAskingOnlyForTheSectionsItReadsSeesWhatAFullInfoShows() throws IOException {
        RedisServerFixture a = redis();
        RedisController ca = prepared(a);
        try (RespClient c = new RespClient(a.endpoint(), a.password(), IO_TIMEOUT, IO_TIMEOUT)) {
            c.call("SET", "k1", "v");
            c.call("SELECT", "3");
            c.call("SET", "k2", "v");
        }

        RedisSnapshot full = ca.probe(); // the server is not known yet: all of INFO
        assertThat(RedisController.takesSeveralSections(full.version())).as(full.version()).isTrue();
        RedisSnapshot sections = ca.probe(); // server, replication and keyspace only

        // the uptime may tick between the two; the offset does not move on an idle master of no replica
        assertThat(sections).usingRecursiveComparison().ignoringFields("uptimeSeconds").isEqualTo(full);
        assertThat(sections.keys()).isEqualTo(2);
        assertThat(sections.runId()).isNotEmpty();
    }

    @Test
    void probeOfAKilledRedisFailsWithinTheTimeout() throws IOException {
        RedisServerFixture a = redis();
        RedisController ca = controller(a);
        ca.probe();
        a.kill9();

        long start = System.nanoTime();
        assertThatThrownBy(ca::probe).isInstanceOf(IOException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(IO_TIMEOUT.plusMillis(500));
    }

    @Test
    void probeOfAHungRedisFailsWithinTheTimeoutAndRecovers() throws IOException {
        RedisServerFixture a = redis();
        RedisController ca = controller(a);
        ca.probe();
        a.freeze();

        long start = System.nanoTime();
        assertThatThrownBy(ca::probe).isInstanceOf(IOException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(IO_TIMEOUT.plusMillis(500));

        // a fresh controller connects to a frozen redis (the kernel accepts) and must time out too
        RedisController fresh = controller(a);
        long start2 = System.nanoTime();
        assertThatThrownBy(fresh::probe).isInstanceOf(IOException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start2)).isLessThan(IO_TIMEOUT.plusMillis(500));

        a.thaw();
        assertThat(ca.probe().role()).isEqualTo(RedisRole.MASTER);
    }

    @Test
    void prepareAppliesTheSettings() throws IOException {
        RedisServerFixture b = redis();
        controller(b).prepare();

        assertThat(b.jedis().configGet("repl-diskless-sync-delay")).containsEntry("repl-diskless-sync-delay", "0");
        assertThat(b.jedis().configGet("replica-serve-stale-data")).containsEntry("replica-serve-stale-data", "yes");
        assertThat(b.jedis().configGet("replica-read-only")).containsEntry("replica-read-only", "yes");
    }

    @Test
    void settingsAreAppliedAgainAfterRedisRestarts() throws IOException {
        RedisServerFixture b = redis();
        RedisController cb = controller(b);
        cb.prepare();

        b.restartEmpty();
        assertThat(b.jedis().configGet("repl-diskless-sync-delay")).as("redis default after restart")
                .containsEntry("repl-diskless-sync-delay", "5");
        cb.probe();

        assertThat(b.jedis().configGet("repl-diskless-sync-delay")).containsEntry("repl-diskless-sync-delay", "0");
    }

    @Test
    void prepareToleratesARedisThatRefusesConfig() throws IOException {
        RedisServerFixture b = redis("--rename-command", "CONFIG", "");
        RedisController cb = controller(b);

        cb.prepare(); // logs a WARN per setting, does not throw

        assertThat(cb.probe().role()).isEqualTo(RedisRole.MASTER);
    }

    @Test
    void withAPasswordPrepareSetsMasterauthSoTheReplicaSyncs() throws IOException {
        RedisServerFixture a = redis("--requirepass", PASSWORD);
        RedisServerFixture b = redis("--requirepass", PASSWORD);
        prepared(a);
        RedisController cb = prepared(b);
        assertThat(b.jedis().configGet("masterauth")).containsEntry("masterauth", PASSWORD);

        cb.follow(a.endpoint(), "test");
        a.jedis().set("secret-key", "42");

        await().atMost(SYNC_DEADLINE).untilAsserted(() -> assertThat(b.jedis().get("secret-key")).isEqualTo("42"));
        assertThat(cb.probe().inSyncWith(a.endpoint().host(), a.port())).isTrue();
    }

    @Test
    void aWrongPasswordIsReportedAsRedisRefusingIt() {
        RedisServerFixture a = redis("--requirepass", PASSWORD);
        RedisController ca = new RedisController(a.endpoint(), "wrong", IO_TIMEOUT);
        toClose.push(ca);

        assertThatThrownBy(ca::probe).isInstanceOf(RedisErrorReply.class).hasMessageContaining("WRONGPASS");
    }

    @Test
    void followOfAnUnreachableRedisThrows() {
        RedisServerFixture a = redis();
        RedisController ca = controller(a);
        a.kill9();

        assertThatThrownBy(() -> ca.follow(new Endpoint("127.0.0.1", 1), "test")).isInstanceOf(IOException.class);
    }

    /** How many REPLICAOF commands this redis has executed (INFO commandstats). */
    private static long replicaofCalls(RedisServerFixture f) {
        String stats = f.jedis().info("commandstats");
        Matcher m = Pattern.compile("cmdstat_replicaof:calls=(\\d+)").matcher(stats);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private static String infoField(RedisServerFixture f, String section, String field) {
        for (String line : f.jedis().info(section).split("\r\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1);
            }
        }
        return null;
    }

    /**
     * Fenced at birth: a redis started as the chart and {@code skep up} start it refuses writes until the agent
     * promotes it; a redis the agent detaches or makes follow is fenced before it changes role.
     */
    @Test
    void aRedisStartedFencedRefusesWritesUntilPromotedAndIsFencedAgainBeforeItDetachesOrFollows() throws IOException {
        RedisServerFixture a = redis("--min-replicas-to-write", Integer.toString(RedisController.FENCED_MIN_REPLICAS));
        RedisController ca = prepared(a);
        assertThat(ca.probe().fenced()).isTrue();
        assertThatThrownBy(() -> a.jedis().set("k", "v")).hasMessageStartingWith("NOREPLICAS");

        ca.promote("test: elected");
        assertThat(ca.probe().fenced()).isFalse();
        assertThat(a.jedis().set("k", "v")).isEqualTo("OK");

        ca.detach("test: leader lost");
        assertThat(ca.probe().role()).isEqualTo(RedisRole.MASTER);
        assertThatThrownBy(() -> a.jedis().set("k", "w")).as("a detached redis is a master nobody leads")
                .hasMessageStartingWith("NOREPLICAS");

        ca.promote("test: elected again");
        RedisServerFixture b = redis();
        RedisController cb = prepared(b);
        assertThat(b.jedis().set("own", "write")).as("an unmanaged redis takes writes").isEqualTo("OK");
        cb.follow(a.endpoint(), "test: leader is a");
        assertThat(cb.probe().fenced()).as("fenced before it became a replica").isTrue();
    }

    /** The leader fences another node's redis that is still a master (its agent silent); harmless otherwise. */
    @Test
    void fenceIfMasterFencesAnOrphanedMasterOnlyAndSaysWhenItCannotReachIt() throws IOException {
        RedisServerFixture leader = redis();
        RedisController c = prepared(leader);
        RedisServerFixture orphan = redis();
        assertThat(orphan.jedis().set("direct", "write")).isEqualTo("OK");

        assertThat(c.fenceIfMaster(orphan.endpoint(), IO_TIMEOUT, "test")).isEqualTo(RedisController.OrphanCheck.FENCED);
        assertThatThrownBy(() -> orphan.jedis().set("direct", "again")).hasMessageStartingWith("NOREPLICAS");
        assertThat(c.fenceIfMaster(orphan.endpoint(), IO_TIMEOUT, "test")).isEqualTo(RedisController.OrphanCheck.HARMLESS);

        orphan.kill9();
        assertThat(c.fenceIfMaster(orphan.endpoint(), IO_TIMEOUT, "test"))
                .isEqualTo(RedisController.OrphanCheck.UNREACHABLE);
    }

    /** The process behind the local redis, as the agent watches it: alive while busy, stopped, gone. */
    @Test
    void theRedisProcessIsSeenAliveWhileBusyStoppedWhenFrozenAndGoneWhenKilled() throws Exception {
        RedisServerFixture a = redis();
        RedisController ca = controller(a);
        RedisProcess process = new RedisProcess();
        RedisSnapshot snap = ca.probe();
        process.identify(snap, System.currentTimeMillis());
        assertThat(process.visible()).as("same host, same PID namespace: pid " + snap.processId()).isTrue();
        assertThat(snap.processId()).isEqualTo(a.pid());

        // on Redis 8 and Valkey 8 TIME stands still inside a script until it is busy (5 s): it ends then, not at 1.5 s
        Thread script = new Thread(() -> a.newJedis(Duration.ofSeconds(15)).eval(
                "local t = redis.call('TIME') local s = t[1] * 1000 + math.floor(t[2] / 1000) "
                + "while true do local n = redis.call('TIME') "
                + "if n[1] * 1000 + math.floor(n[2] / 1000) - s >= 1500 then break end end return 1", 0));
        script.start();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, ca::probe);
            ProbeFailure f = ProbeFailure.classify(e, process::observe);
            assertThat(f.busy()).as(f.reason()).isTrue();
            assertThat(f.reason()).contains("state R");
        });
        script.join(15_000);

        ca.probe();
        a.freeze();
        Exception stopped = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, ca::probe);
        ProbeFailure f = ProbeFailure.classify(stopped, process::observe);
        assertThat(f.busy()).as(f.reason()).isFalse();
        assertThat(f.reason()).contains("state T");
        a.thaw();

        a.kill9();
        assertThat(process.observe().state()).isEqualTo(RedisProcess.State.GONE);
    }
}
