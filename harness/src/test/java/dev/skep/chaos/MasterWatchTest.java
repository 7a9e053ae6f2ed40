package dev.skep.chaos;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** What the two-masters watch makes of its polls: an upper bound, and what the polls prove. */
class MasterWatchTest {
    private static final long MS = 1_000_000L;

    private static MasterWatch.Sample poll(int node, long sentMs, boolean accepting) {
        return new MasterWatch.Sample(sentMs * MS, sentMs * MS + MS / 5, node, accepting, -1);
    }

    @Test
    void aMasterPausedJustAfterItsPollAndASuccessorPromotedBeforeItsNextIsAnArtefactNotTwoMasters() {
        // node 0 polled at 0 and 20 ms (paused for a handover at 2 ms: its next poll is held, then refused),
        // node 1 promoted at 5 ms, first seen accepting at 17 ms
        List<MasterWatch.Sample> samples = List.of(
                poll(0, -20, true), poll(1, -23, false), poll(0, 0, true), poll(1, -3, false),
                poll(1, 17, true), poll(0, 20, false), poll(1, 37, true), poll(0, 40, false));

        MasterWatch.Overlap overlap = MasterWatch.overlap(samples, 2);

        assertThat(overlap.anyMs()).as("upper bound: node 0 taken as accepting until its next poll").isEqualTo(3);
        assertThat(overlap.provenMs()).isZero();
        assertThat(overlap.around()).contains("node 1 sent +0.0", "node 0 sent +3.0");
    }

    @Test
    void twoNodesEachSeenAcceptingTwiceAroundTheSameMomentAreProvenTwoMasters() {
        List<MasterWatch.Sample> samples = List.of(
                poll(0, 0, true), poll(1, 5, true), poll(0, 20, true), poll(1, 25, true),
                poll(0, 40, true), poll(1, 45, false), poll(0, 60, true));

        MasterWatch.Overlap overlap = MasterWatch.overlap(samples, 2);

        assertThat(overlap.provenMs()).as("node 0 proven over 0.2..60, node 1 over 5.2..25").isEqualTo(19);
        assertThat(overlap.anyMs()).isEqualTo(40);
    }

    @Test
    void oneMasterAfterAnotherWithAGapIsNothing() {
        List<MasterWatch.Sample> samples = List.of(
                poll(0, 0, true), poll(1, 5, false), poll(0, 20, false), poll(1, 25, true), poll(0, 40, false),
                poll(1, 45, true));

        MasterWatch.Overlap overlap = MasterWatch.overlap(samples, 2);

        assertThat(overlap.anyMs()).isZero();
        assertThat(overlap.provenMs()).isZero();
        assertThat(overlap.around()).isEmpty();
    }
}
