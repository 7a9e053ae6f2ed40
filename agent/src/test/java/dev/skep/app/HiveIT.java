package dev.skep.app;

import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.skep.app.HiveFixture.infoField;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A hive of real redis servers with in-JVM agents: election, replication, failover, rejoin after an empty
 * restart, agent loss, a joining node, and a node with the wrong peer secret.
 */
class HiveIT {
    private static final Duration ELECTION = Duration.ofSeconds(10);
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    @Test
    void threeNodesElectOneMasterAndTheOthersReplicateIt() {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);

        for (HiveFixture.Node n : hive.nodes) {
            if (n == leader) {
                continue;
            }
            await().atMost(ELECTION).untilAsserted(() -> {
                String info = n.redis.jedis().info("replication");
                assertThat(infoField(info, "role")).isEqualTo("slave");
                assertThat(infoField(info, "master_port")).isEqualTo(Integer.toString(leader.redis.port()));
                assertThat(infoField(info, "master_link_status")).isEqualTo("up");
            });
        }
        leader.redis.jedis().set("greeting", "hello");
        for (HiveFixture.Node n : hive.nodes) {
            await().atMost(ELECTION).until(() -> "hello".equals(n.redis.jedis().get("greeting")));
        }
        // every node reports the same leader and master, and is ready
        await().atMost(ELECTION).untilAsserted(() -> {
            for (HiveFixture.Node n : hive.nodes) {
                HiveStatus s = n.status();
                assertThat(s.leader()).isEqualTo(leader.peer());
                assertThat(s.master()).isEqualTo(leader.config.announcedRedis());
                assertThat(s.ready()).as("%s ready (%s)", n, s.readyReason()).isTrue();
                assertThat(s.members()).hasSize(3).allMatch(HiveStatus.Member::alive);
            }
        });
    }

    @Test
    void killingTheMastersRedisPromotesAReplicaWithTheDataAndTheRestartedNodeRejoinsEmptyAsAReplica() {
        hive = HiveFixture.start(3);
        HiveFixture.Node oldMaster = hive.awaitLeader(ELECTION);
        awaitReplicas(oldMaster, 2);
        Jedis master = oldMaster.redis.jedis();
        for (int i = 0; i < 200; i++) {
            master.set("key:" + i, "value:" + i);
        }
        assertThat(master.waitReplicas(2, 5000)).isEqualTo(2); // acknowledged by both replicas
        long epochBefore = oldMaster.status().epoch();

        oldMaster.redis.kill9();

        HiveFixture.Node newMaster = hive.awaitLeaderOtherThan(oldMaster, ELECTION);
        assertThat(newMaster.status().epoch()).isGreaterThan(epochBefore);
        assertThat(newMaster.redis.jedis().dbSize()).isEqualTo(200);
        assertThat(newMaster.redis.jedis().get("key:199")).isEqualTo("value:199");

        // the killed node's redis comes back empty (a pod restart without a volume): it must never be
        // promoted, and must get the data back from the new master
        AtomicBoolean everLed = new AtomicBoolean();
        oldMaster.redis.restartEmpty();
        await().atMost(ELECTION).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
            NodeState state = oldMaster.status().state();
            if (state == NodeState.LEADING || state == NodeState.PROMOTING) {
                everLed.set(true);
            }
            String info = oldMaster.redis.jedis().info("replication");
            assertThat(infoField(info, "role")).isEqualTo("slave");
            assertThat(infoField(info, "master_port")).isEqualTo(Integer.toString(newMaster.redis.port()));
            assertThat(infoField(info, "master_link_status")).isEqualTo("up");
            assertThat(oldMaster.redis.jedis().dbSize()).isEqualTo(200);
        });
        assertThat(everLed).as("the restarted empty node was never leader").isFalse();
        assertThat(newMaster.redis.jedis().dbSize()).as("the master kept its data").isEqualTo(200);
        assertThat(hive.agreedLeader()).contains(newMaster);
        assertThat(events(oldMaster)).anyMatch(e -> e.kind().equals("redis-restarted"));
    }

    @Test
    void losingTheLeadersAgentFailsOverAndTheAgentRejoinsAsAFollower() {
        hive = HiveFixture.start(3);
        HiveFixture.Node oldLeader = hive.awaitLeader(ELECTION);
        awaitReplicas(oldLeader, 2);
        oldLeader.redis.jedis().set("before", "failover");
        assertThat(oldLeader.redis.jedis().waitReplicas(2, 5000)).isEqualTo(2);

        oldLeader.stopAgent(); // says nothing to its peers: as after kill -9

        HiveFixture.Node newLeader = hive.awaitLeaderOtherThan(oldLeader, ELECTION);
        assertThat(newLeader.redis.jedis().get("before")).isEqualTo("failover");

        oldLeader.startAgent();
        await().atMost(ELECTION).untilAsserted(() -> {
            assertThat(oldLeader.status().state()).isEqualTo(NodeState.FOLLOWING);
            assertThat(oldLeader.status().leader()).isEqualTo(newLeader.peer());
            String info = oldLeader.redis.jedis().info("replication");
            assertThat(infoField(info, "role")).isEqualTo("slave");
            assertThat(infoField(info, "master_port")).isEqualTo(Integer.toString(newLeader.redis.port()));
        });
        newLeader.redis.jedis().set("after", "failover");
        await().atMost(ELECTION).until(() -> "failover".equals(oldLeader.redis.jedis().get("after")));
    }

    @Test
    void aFourthNodeThatJoinsFollowsTheLeader() {
        hive = HiveFixture.start(3);
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        leader.redis.jedis().set("existing", "data");

        List<Endpoint> all = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            all.add(hive.peerOf(i));
        }
        HiveFixture.Node joiner = hive.addNode(all, ""); // the first three do not list it: they learn of it

        await().atMost(ELECTION).untilAsserted(() -> {
            assertThat(joiner.status().state()).isEqualTo(NodeState.FOLLOWING);
            assertThat(joiner.status().leader()).isEqualTo(leader.peer());
            assertThat(joiner.redis.jedis().get("existing")).isEqualTo("data");
            assertThat(leader.status().members()).extracting(HiveStatus.Member::node).contains(joiner.peer());
        });
        assertThat(hive.agreedLeader()).contains(leader);
        assertThat(events(joiner)).noneMatch(e -> e.kind().equals("promoted"));
    }

    @Test
    void aNodeWithTheWrongPeerSecretIsIgnored() {
        hive = HiveFixture.start(3, "the-right-secret");
        HiveFixture.Node leader = hive.awaitLeader(ELECTION);

        List<Endpoint> all = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            all.add(hive.peerOf(i));
        }
        HiveFixture.Node intruder = hive.addNode(all, "a-wrong-secret");

        await().atMost(ELECTION).untilAsserted(() -> {
            for (int i = 0; i < 3; i++) {
                assertThat(hive.node(i).status().peerMessagesRejected()).isPositive();
            }
        });
        // it has been heard (and dropped) for a while: nobody lists it or follows it, its redis stays alone
        for (int i = 0; i < 3; i++) {
            HiveStatus s = hive.node(i).status();
            assertThat(s.members()).extracting(HiveStatus.Member::node).doesNotContain(intruder.peer());
            assertThat(s.leader()).isEqualTo(leader.peer());
        }
        assertThat(intruder.status().members()).extracting(HiveStatus.Member::node).containsExactly(intruder.peer());
        assertThat(leader.redis.jedis().info("replication")).contains("connected_slaves:2");
    }

    private static void awaitReplicas(HiveFixture.Node master, int n) {
        await().atMost(ELECTION).until(() ->
                infoField(master.redis.jedis().info("replication"), "connected_slaves").equals(Integer.toString(n)));
    }

    private static List<HiveEvent> events(HiveFixture.Node n) {
        return n.status().events();
    }
}
