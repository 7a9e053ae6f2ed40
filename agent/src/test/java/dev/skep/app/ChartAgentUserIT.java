package dev.skep.app;

import dev.skep.deploy.KubeManifests;
import dev.skep.status.HandoverResult;
import dev.skep.support.Helm;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The agent with no more rights than the chart gives its ACL user ({@code auth.agentUser}, {@code auth.agentRules}):
 * a 3-node hive whose redis servers define the user exactly as the chart's redis container does (its
 * {@code --requirepass} and {@code --user} arguments, from {@code helm template}) elects, replicates as that user,
 * hands over (CLIENT PAUSE, the successor's INFO), fails over after a kill -9 and takes the restarted, empty redis
 * back as a replica. A right missing from the rule would stop one of these.
 */
@Needs(Need.HELM)
class ChartAgentUserIT {
    private static final Duration ELECTION = Duration.ofSeconds(15);
    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    @Test
    void theChartsAgentUserIsEnoughForElectionReplicationHandoverAndFailover() throws Exception {
        KubeManifests m = KubeManifests.parse(Helm.template("default", "--set", "auth.agentUser=skep", "--set",
                "auth.agentPassword=skeppw", "--set", "auth.password=hivepw"));
        Map<String, Object> redisContainer = m.container("redis");
        List<String> args = KubeManifests.commandLine(redisContainer, m.environment(redisContainer, "127.0.0.1"));
        hive = HiveFixture.startWithRedis(3, "skeppw", "skep", usersOf(args).toArray(String[]::new));

        HiveFixture.Node leader = hive.awaitLeader(ELECTION);
        hive.awaitReplicasInSync(leader);
        for (HiveFixture.Node n : hive.nodes) {
            if (n != leader) {
                assertThat(HiveFixture.infoField(n.redis.jedis().info("replication"), "master_link_status"))
                        .isEqualTo("up");
            }
        }
        assertThat(leader.redis.jedis().clientList()).contains("user=skep"); // the agent's and the replicas' links
        try (Jedis client = client(leader.config.proxyPort())) {
            assertThat(client.set("k", "v")).isEqualTo("OK");
        }
        // the replicas' REPLCONF ACKs reach the master (WAIT, and so --quorum majority, counts on them)
        await().atMost(ELECTION).untilAsserted(() -> {
            String info = leader.redis.jedis().info("replication");
            String offset = HiveFixture.infoField(info, "master_repl_offset");
            assertThat(HiveFixture.infoField(info, "slave0")).contains("offset=" + offset + ",");
            assertThat(HiveFixture.infoField(info, "slave1")).contains("offset=" + offset + ",");
        });

        HandoverResult handover = leader.agent.handover(null, "test").get(10, TimeUnit.SECONDS);
        assertThat(handover.ok()).as("handover: %s", handover.detail()).isTrue();
        HiveFixture.Node next = hive.awaitLeaderOtherThan(leader, ELECTION);
        hive.awaitReplicasInSync(next);
        // the old master and the other replica continue from where they were (PSYNC2, announced by REPLCONF capa)
        String stats = next.redis.jedis().info("stats");
        assertThat(Integer.parseInt(HiveFixture.infoField(stats, "sync_partial_ok"))).isGreaterThanOrEqualTo(2);
        assertThat(HiveFixture.infoField(stats, "sync_full")).isEqualTo("0");

        next.redis.kill9();
        HiveFixture.Node third = hive.awaitLeaderOtherThan(next, ELECTION);
        next.redis.restartEmpty();
        hive.awaitReplicasInSync(third);
        try (Jedis client = client(third.config.proxyPort())) {
            assertThat(client.get("k")).isEqualTo("v");
        }
        assertThat(HiveFixture.infoField(next.redis.jedis().info("replication"), "master_link_status")).isEqualTo("up");
    }

    /** The redis container's --requirepass and --user arguments. */
    private static List<String> usersOf(List<String> args) {
        List<String> out = new ArrayList<>();
        boolean in = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.startsWith("--")) {
                in = a.equals("--user") || a.equals("--requirepass");
            }
            if (in) {
                out.add(a);
            }
        }
        assertThat(String.join(" ", out)).startsWith("--requirepass hivepw").contains("--user skep reset on >skeppw");
        return out;
    }

    private static Jedis client(int port) {
        return new Jedis(new HostAndPort("127.0.0.1", port), DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(2000).socketTimeoutMillis(10_000).password("hivepw").build());
    }
}
