package dev.skep.metrics;

import dev.skep.status.HiveEvent;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ElectionCausesTest {
    private final ElectionCauses causes = new ElectionCauses();

    private String feed(String kind, String message) {
        return causes.onEvent(new HiveEvent(0, "127.0.0.1:7004", kind, message));
    }

    @Test
    void aFirstElectionHasNoLeaderAsItsCause() {
        assertThat(feed("election", "no live leader: proposing with offset 0")).isEqualTo("no_leader");
        assertThat(feed("election", "won the election for epoch 5 among 3 ready node(s) (offset 0): promoting"))
                .as("winning is not a new election").isNull();
    }

    @Test
    void theLeadersRedisGoingDownIsTheCauseOfTheNextProposal() {
        feed("following", "following leader 127.0.0.1:7014 (epoch 4, redis 127.0.0.1:7010)");
        assertThat(feed("leader-lost", "leader 127.0.0.1:7014 of epoch 4 lost: now NOT_READY")).isNull();
        assertThat(feed("election", "no live leader: proposing with offset 1200")).isEqualTo("leader_redis_down");
        assertThat(feed("election", "no live leader: proposing with offset 1200"))
                .as("the cause is used once").isEqualTo("no_leader");
    }

    @Test
    void aSilentLeaderAndAStepDownHaveCausesOfTheirOwn() {
        feed("leader-lost", "leader 127.0.0.1:7014 of epoch 4 lost: silent for more than 750 ms");
        assertThat(feed("election", "no live leader: proposing with offset 1")).isEqualTo("leader_silent");
        feed("leader-lost", "leader 127.0.0.1:7014 of epoch 4 lost: now ALONE");
        assertThat(feed("election", "no live leader: proposing with offset 1")).isEqualTo("leader_stepped_down");
        feed("stepped-down", "gave up leadership of epoch 9: a peer has seen epoch 10 > 9");
        assertThat(feed("election", "no live leader: proposing with offset 1")).isEqualTo("stepped_down");
    }

    @Test
    void followingALeaderForgetsAnEarlierLoss() {
        feed("leader-lost", "leader 127.0.0.1:7014 of epoch 4 lost: silent for more than 750 ms");
        feed("following", "following leader 127.0.0.1:7024 (epoch 5, redis 127.0.0.1:7020)");
        assertThat(feed("election", "no live leader: proposing with offset 1")).isEqualTo("no_leader");
    }
}
