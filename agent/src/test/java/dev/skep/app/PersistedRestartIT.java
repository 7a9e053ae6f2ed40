package dev.skep.app;

import dev.skep.status.NodeState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A pod restarted with persistence (the chart's persistence.enabled): its redis comes back from an RDB snapshot taken
 * while it was a replica, with an old dataset and a stale replication id and offset (Redis 7 restores both from the
 * RDB when it starts as a replica, as the chart's fence at birth makes it), and its agent is new. The node never leads
 * on that data: it follows the leader first (invariant 2), which continues its stream with a partial resync; and when
 * the leader's redis fails as it comes back, the replica with the newer data wins the election.
 */
class PersistedRestartIT {
    private static final Duration ELECTION = Duration.ofSeconds(10);
    /** What the chart gives redis so that it starts fenced (a replica of nowhere). */
    private static final String[] FENCED_AT_BIRTH = {"--replicaof", "127.0.0.1", "1", "--min-replicas-to-write",
        "1000000"};
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    @Test
    void aReplicaBackFromAnOldSnapshotFollowsTheLeaderAndResumesItsStream() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        HiveFixture.Node stale = hive.nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        long epoch = leader.status().epoch();

        write(leader, 0, 100);
        awaitKeys(stale, 100);
        assertThat(stale.redis.jedis().save()).isEqualTo("OK");
        String snapshotId = HiveFixture.infoField(stale.redis.jedis().info("replication"), "master_replid");
        long snapshotOffset = offset(stale);
        write(leader, 100, 200); // not in the snapshot

        // the pod dies and comes back: a new agent, redis from the snapshot
        stale.stopAgent();
        stale.redis.restartFromDisk(FENCED_AT_BIRTH);
        String info = stale.redis.jedis().info("replication");
        assertThat(HiveFixture.infoField(info, "master_replid")).as("the snapshot's replication id").isEqualTo(snapshotId);
        assertThat(offset(stale)).as("the snapshot's offset").isEqualTo(snapshotOffset);
        assertThat(stale.redis.jedis().dbSize()).isEqualTo(100);
        long partialBefore = stat(leader, "sync_partial_ok");

        AtomicBoolean everLed = watchLeading(stale);
        stale.startAgent();
        await().atMost(ELECTION).until(() -> stale.status().ready());
        awaitKeys(stale, 200);
        assertThat(everLed.get()).as("the restarted node led").isFalse();
        assertThat(hive.agreedLeader()).contains(leader);
        assertThat(leader.status().epoch()).as("no election").isEqualTo(epoch);
        assertThat(stat(leader, "sync_partial_ok")).as("the leader continued its stream: a partial resync")
                .isGreaterThan(partialBefore);
    }

    @Test
    void whenTheLeaderFailsAsAStaleReplicaComesBackTheReplicaWithTheNewerDataWins() throws Exception {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        List<HiveFixture.Node> replicas = hive.nodes.stream().filter(n -> n != leader).toList();
        HiveFixture.Node stale = replicas.get(0);
        HiveFixture.Node current = replicas.get(1);

        write(leader, 0, 100);
        awaitKeys(stale, 100);
        stale.redis.jedis().save();
        stale.stopAgent();
        stale.redis.kill9();
        write(leader, 100, 200);
        awaitKeys(current, 200);

        // the stale node comes back with its snapshot (100 keys) just as the leader's redis dies
        stale.redis.restartFromDisk(FENCED_AT_BIRTH);
        AtomicBoolean everLed = watchLeading(stale);
        stale.startAgent();
        leader.redis.kill9();

        HiveFixture.Node next = hive.awaitLeaderOtherThan(leader, ELECTION);
        assertThat(next).as("the new leader").isSameAs(current);
        await().atMost(ELECTION).until(() -> stale.status().ready());
        awaitKeys(stale, 200);
        assertThat(everLed.get()).as("the node back from its old snapshot led").isFalse();
        try (Jedis j = new Jedis("127.0.0.1", stale.config.proxyPort())) {
            assertThat(j.get("k199")).isEqualTo("v199");
        }
    }

    /** SET k<from>..k<to-1> through the leader's write port. */
    private static void write(HiveFixture.Node n, int from, int to) {
        try (Jedis j = new Jedis("127.0.0.1", n.config.proxyPort())) {
            for (int i = from; i < to; i++) {
                j.set("k" + i, "v" + i);
            }
        }
    }

    private static void awaitKeys(HiveFixture.Node n, long keys) {
        await().atMost(ELECTION).until(() -> n.redis.jedis().dbSize() == keys);
    }

    private static long offset(HiveFixture.Node n) {
        return Long.parseLong(HiveFixture.infoField(n.redis.jedis().info("replication"), "master_repl_offset"));
    }

    private static long stat(HiveFixture.Node n, String field) {
        return Long.parseLong(HiveFixture.infoField(n.redis.jedis().info("stats"), field));
    }

    /** Whether {@code n}'s agent is ever seen LEADING from now on (polled every 5 ms, for twice an election's bound). */
    private static AtomicBoolean watchLeading(HiveFixture.Node n) {
        AtomicBoolean led = new AtomicBoolean();
        Thread t = new Thread(() -> {
            long end = System.nanoTime() + ELECTION.toNanos() * 2;
            while (System.nanoTime() < end && !led.get()) {
                SkepNode agent = n.agent;
                if (agent != null && agent.status() != null && agent.status().state() == NodeState.LEADING) {
                    led.set(true);
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "watch-" + n.index);
        t.setDaemon(true);
        t.start();
        return led;
    }
}
