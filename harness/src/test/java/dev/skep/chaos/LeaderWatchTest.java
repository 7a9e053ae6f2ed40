package dev.skep.chaos;

import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LeaderWatchTest {
    private static final Endpoint P0 = Endpoint.parse("127.0.0.1:7004");
    private static final Endpoint R0 = Endpoint.parse("127.0.0.1:7000");

    private static HiveStatus status(long epoch, List<Long> memberEpochs, List<HiveEvent> events) {
        List<HiveStatus.Member> members = memberEpochs.stream().map(e -> new HiveStatus.Member(P0, R0, 7005, NodeState.FOLLOWING, e, P0,
                "slave", 0, 0, true, 1, "run", false, true, 0)).toList();
        return new HiveStatus(P0, NodeState.FOLLOWING, epoch, P0, R0, true, "", members, events, 0);
    }

    @Test
    void aPollNamesItsEpochItsMembersEpochsAndTheEpochsItWasPromotedTo() {
        LeaderWatch.Poll p = LeaderWatch.parse(status(7, List.of(6L, 7L), List.of(
                new HiveEvent(1, "n", "promoted", "leading epoch 5: local redis confirmed role:master"),
                new HiveEvent(2, "n", "stepped-down", "gave up leadership of epoch 5: local redis probe failed"),
                new HiveEvent(3, "n", "promoted", "leading epoch 7: local redis confirmed role:master"))));
        assertThat(p.epoch()).isEqualTo(7);
        assertThat(p.epochs()).containsExactlyInAnyOrder(7L, 6L, 7L, 5L, 7L);
    }

    @Test
    void countsTheDistinctEpochsAboveTheStart() {
        LeaderWatch.Snapshot start = new LeaderWatch.Snapshot(4, List.of(4L, 4L, 3L));
        LeaderWatch.Snapshot last = new LeaderWatch.Snapshot(6, List.of(6L, 6L, 5L));
        LeaderWatch.Changes c = LeaderWatch.changes(start, last, List.of(2L, 4L, 5L, 5L, 6L, 6L));
        assertThat(c.count()).isEqualTo(2);
        assertThat(c.newEpochs()).containsExactly(5L, 6L);
        assertThat(c.epochAfter()).isEqualTo(6);
        assertThat(Report.leaderChanges(c)).isEqualTo("2 (epoch 4 -> 6: 5, 6)");
    }

    @Test
    void noNewEpochIsNoChangeAndAnUnknownStartIsUnknown() {
        LeaderWatch.Snapshot s = new LeaderWatch.Snapshot(4, List.of(4L));
        LeaderWatch.Changes none = LeaderWatch.changes(s, s, List.of(3L, 4L));
        assertThat(none.count()).isZero();
        assertThat(Report.leaderChanges(none)).isEqualTo("0 (epoch 4)");
        LeaderWatch.Changes one = LeaderWatch.changes(s, new LeaderWatch.Snapshot(5, List.of(5L)), List.of(5L));
        assertThat(Report.leaderChanges(one)).isEqualTo("1 (epoch 4 -> 5)");
        LeaderWatch.Changes unknown = LeaderWatch.changes(new LeaderWatch.Snapshot(-1, List.of()), s, List.of(4L));
        assertThat(unknown.count()).isEqualTo(-1);
        assertThat(Report.totalMax(new long[] {0, 2, -1})).isEqualTo("2 / 2 (some unknown)");
    }
}
