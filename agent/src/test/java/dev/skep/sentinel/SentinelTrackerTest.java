package dev.skep.sentinel;

import dev.skep.sentinel.SentinelView.Instance;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The views and events {@link SentinelTracker} derives from a node's topology and hive status, through a
 * failover as a client of one node sees it.
 */
class SentinelTrackerTest {
    static final long T = 1_714_564_800_000L;
    static final Endpoint P0 = Endpoint.parse("127.0.0.1:7004");
    static final Endpoint P1 = Endpoint.parse("127.0.0.1:7014");
    static final Endpoint P2 = Endpoint.parse("127.0.0.1:7024");
    static final Endpoint R0 = Endpoint.parse("127.0.0.1:7000");
    static final Endpoint R1 = Endpoint.parse("127.0.0.1:7010");
    static final Endpoint R2 = Endpoint.parse("127.0.0.1:7020");

    static HiveStatus.Member member(Endpoint node, Endpoint redis, NodeState state, long epoch, Endpoint leader,
                                    String role, boolean linkUp, boolean self, boolean alive) {
        return new HiveStatus.Member(node, redis, 0, state, epoch, leader, role, 100, 0, linkUp, 1, "run-" + redis.port(),
                self, alive, self ? 0 : 50);
    }

    /** Node 0's status: node 0 leads in epoch 5, nodes 1 and 2 follow it. */
    static HiveStatus leading0() {
        return status(List.of(
                member(P0, R0, NodeState.LEADING, 5, P0, "MASTER", false, true, true),
                member(P1, R1, NodeState.FOLLOWING, 5, P0, "REPLICA", true, false, true),
                member(P2, R2, NodeState.FOLLOWING, 5, P0, "REPLICA", true, false, true)));
    }

    static HiveStatus status(List<HiveStatus.Member> members) {
        return new HiveStatus(P0, NodeState.FOLLOWING, 5, null, null, true, "", members, List.of(), 0);
    }

    private SentinelView view = SentinelView.NONE;

    private List<SentinelEvent> step(Topology topology, HiveStatus status, long now) {
        SentinelTracker.Result r = SentinelTracker.next("mymaster", view, topology, status, now);
        view = r.view();
        return r.events();
    }

    private static SentinelEvent event(String channel, String message) {
        return new SentinelEvent(channel, message);
    }

    @Test
    void nothingIsKnownBeforeTheFirstMaster() {
        assertThat(step(Topology.NONE, status(List.of(member(P0, R0, NodeState.ALONE, 0, null, "MASTER", false, true, true))), T))
                .isEmpty();
        assertThat(view).isEqualTo(SentinelView.NONE);
    }

    @Test
    void aFailoverAsSentinelPublishesIt() {
        // the hive elects node 0: its replicas appear
        assertThat(step(new Topology(5, P0, R0, List.of(R1, R2)), leading0(), T)).containsExactly(
                event("+slave", "slave 127.0.0.1:7010 127.0.0.1 7010 @ mymaster 127.0.0.1 7000"),
                event("+slave", "slave 127.0.0.1:7020 127.0.0.1 7020 @ mymaster 127.0.0.1 7000"));
        assertThat(view.master().address()).isEqualTo(R0);
        assertThat(view.epoch()).isEqualTo(5);
        assertThat(view.master().runId()).isEqualTo("run-7000");
        assertThat(view.replicas()).extracting(Instance::address).containsExactly(R1, R2);
        assertThat(view.replicas()).noneMatch(Instance::down);
        // nothing changes: nothing is published
        assertThat(step(new Topology(5, P0, R0, List.of(R1, R2)), leading0(), T + 100)).isEmpty();

        // node 0's redis dies: node 0 is not ready and has no master, nobody leads yet
        HiveStatus lost = status(List.of(
                member(P0, R0, NodeState.NOT_READY, 5, null, "UNKNOWN", false, true, true),
                member(P1, R1, NodeState.PROPOSING, 5, null, "REPLICA", false, false, true),
                member(P2, R2, NodeState.PROPOSING, 5, null, "REPLICA", false, false, true)));
        assertThat(step(new Topology(5, null, null, List.of()), lost, T + 200))
                .containsExactly(event("+sdown", "master mymaster 127.0.0.1 7000"));
        assertThat(view.master().down()).isTrue();
        assertThat(view.master().address()).isEqualTo(R0); // clients still get the last master, as from Sentinel
        assertThat(view.master().downSince()).isEqualTo(T + 200);
        assertThat(view.replicas()).noneMatch(Instance::down); // the replicas did not fail, the master did

        // node 1 wins epoch 6; node 0 (still not ready) hears it: clients asking node 0 are sent to node 1
        HiveStatus elected = status(List.of(
                member(P0, R0, NodeState.NOT_READY, 5, null, "MASTER", false, true, true), // its last known role
                member(P1, R1, NodeState.LEADING, 6, P1, "MASTER", false, false, true),
                member(P2, R2, NodeState.FOLLOWING, 6, P1, "REPLICA", true, false, true)));
        assertThat(step(new Topology(5, null, null, List.of()), elected, T + 600)).containsExactly(
                event("+switch-master", "mymaster 127.0.0.1 7000 127.0.0.1 7010"),
                event("+slave", "slave 127.0.0.1:7000 127.0.0.1 7000 @ mymaster 127.0.0.1 7010"),
                event("+sdown", "slave 127.0.0.1:7000 127.0.0.1 7000 @ mymaster 127.0.0.1 7010"),
                event("+slave", "slave 127.0.0.1:7020 127.0.0.1 7020 @ mymaster 127.0.0.1 7010"));
        assertThat(view.master().address()).isEqualTo(R1);
        assertThat(view.master().down()).isFalse();
        assertThat(view.epoch()).isEqualTo(6);
        Instance old = view.replicas().get(0);
        assertThat(old.address()).isEqualTo(R0);
        assertThat(old.flags("slave")).isEqualTo("s_down,slave,disconnected");
        assertThat(view.replicas().get(1).flags("slave")).isEqualTo("slave");

        // node 0's redis restarts empty and resyncs from node 1: it becomes a healthy replica
        HiveStatus rejoined = status(List.of(
                member(P0, R0, NodeState.FOLLOWING, 6, P1, "REPLICA", true, true, true),
                member(P1, R1, NodeState.LEADING, 6, P1, "MASTER", false, false, true),
                member(P2, R2, NodeState.FOLLOWING, 6, P1, "REPLICA", true, false, true)));
        assertThat(step(new Topology(6, P1, R1, List.of(R0, R2)), rejoined, T + 2000))
                .containsExactly(event("-sdown", "slave 127.0.0.1:7000 127.0.0.1 7000 @ mymaster 127.0.0.1 7010"));
        assertThat(view.replicas()).noneMatch(Instance::down);
    }

    @Test
    void theSameMasterComingBackIsNoSwitch() {
        step(new Topology(5, P0, R0, List.of(R1, R2)), leading0(), T);
        step(new Topology(5, null, null, List.of()), status(List.of()), T + 100);
        assertThat(step(new Topology(7, P0, R0, List.of(R1, R2)), leading0(), T + 900))
                .containsExactly(event("-sdown", "master mymaster 127.0.0.1 7000"));
        assertThat(view.epoch()).isEqualTo(7);
        assertThat(view.master().down()).isFalse();
    }

    @Test
    void aReplicaThatFailsAndRecovers() {
        step(new Topology(5, P0, R0, List.of(R1, R2)), leading0(), T);
        HiveStatus r2Gone = status(List.of(
                member(P0, R0, NodeState.LEADING, 5, P0, "MASTER", false, true, true),
                member(P1, R1, NodeState.FOLLOWING, 5, P0, "REPLICA", true, false, true),
                member(P2, R2, NodeState.FOLLOWING, 5, P0, "REPLICA", true, false, false)));
        assertThat(step(new Topology(5, P0, R0, List.of(R1)), r2Gone, T + 100))
                .containsExactly(event("+sdown", "slave 127.0.0.1:7020 127.0.0.1 7020 @ mymaster 127.0.0.1 7000"));
        assertThat(view.replicas().get(1).flags("slave")).isEqualTo("s_down,slave,disconnected");
        assertThat(step(new Topology(5, P0, R0, List.of(R1, R2)), leading0(), T + 900))
                .containsExactly(event("-sdown", "slave 127.0.0.1:7020 127.0.0.1 7020 @ mymaster 127.0.0.1 7000"));
    }

    @Test
    void aJoiningReplicaIsAnnounced() {
        step(new Topology(5, P0, R0, List.of(R1)), status(leading0().members().subList(0, 2)), T);
        assertThat(step(new Topology(5, P0, R0, List.of(R1, R2)), leading0(), T + 100))
                .containsExactly(event("+slave", "slave 127.0.0.1:7020 127.0.0.1 7020 @ mymaster 127.0.0.1 7000"));
    }

    @Test
    void aResyncingReplicaIsListedDownButNotDisconnected() {
        HiveStatus syncing = status(List.of(
                member(P0, R0, NodeState.LEADING, 5, P0, "MASTER", false, true, true),
                member(P1, R1, NodeState.FOLLOWING, 5, P0, "REPLICA", true, false, true),
                member(P2, R2, NodeState.FOLLOWING, 5, P0, "REPLICA", false, false, true)));
        step(new Topology(5, P0, R0, List.of(R1)), syncing, T);
        assertThat(view.replicas().get(1).flags("slave")).isEqualTo("s_down,slave");
    }

    @Test
    void anOlderLeaderReportedByAPeerIsIgnored() {
        step(new Topology(5, P0, R0, List.of(R1, R2)), leading0(), T);
        HiveStatus stale = status(List.of(
                member(P0, R0, NodeState.NOT_READY, 5, null, "UNKNOWN", false, true, true),
                member(P1, R1, NodeState.LEADING, 4, P1, "MASTER", false, false, true)));
        assertThat(step(new Topology(5, null, null, List.of()), stale, T + 100))
                .containsExactly(event("+sdown", "master mymaster 127.0.0.1 7000"));
        // and a leader whose agent went silent is not trusted either
        HiveStatus silent = status(List.of(
                member(P0, R0, NodeState.NOT_READY, 5, null, "UNKNOWN", false, true, true),
                member(P1, R1, NodeState.LEADING, 6, P1, "MASTER", false, false, false)));
        assertThat(step(new Topology(5, null, null, List.of()), silent, T + 200)).isEmpty();
        assertThat(view.master().address()).isEqualTo(R0);
    }
}
