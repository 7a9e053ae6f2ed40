package dev.skep.netty;

import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SpinThenSleepTest {
    private static final long SPIN = TimeUnit.MICROSECONDS.toNanos(50);

    private long now = 1_000_000;
    private int pauses;
    private int polls;
    private int ready;
    private boolean expecting;
    private final IntSupplier selectNow = () -> {
        polls++;
        return ready;
    };

    private SpinThenSleep strategy(long spinNanos) {
        SpinThenSleep s = new SpinThenSleep(spinNanos, () -> now, () -> pauses++);
        s.expecting(() -> expecting);
        return s;
    }

    @Test
    void sleepsAtOnceWhenNoReplyIsExpected() throws Exception {
        SpinThenSleep s = strategy(SPIN);
        assertThat(s.calculateStrategy(selectNow, false)).isEqualTo(SelectStrategy.SELECT);
        assertThat(polls).as("no poll before sleeping: the same system calls as Netty's default").isZero();
        assertThat(pauses).isZero();
    }

    @Test
    void withTasksPollsWithoutBlockingAsNettysDefaultDoes() throws Exception {
        SpinThenSleep s = strategy(SPIN);
        ready = 3;
        assertThat(s.calculateStrategy(selectNow, true)).isEqualTo(3);
        ready = 0;
        assertThat(s.calculateStrategy(selectNow, true)).isZero();
        assertThat(polls).isEqualTo(2);
    }

    @Test
    void pollsWhileAReplyIsExpectedThenSleepsOnceTheSpinIsOver() throws Exception {
        SpinThenSleep s = strategy(SPIN);
        expecting = true;
        for (int i = 0; i < 5; i++) { // 5 empty polls, 10 µs apart: still within the 50 µs
            assertThat(s.calculateStrategy(selectNow, false)).isEqualTo(SelectStrategy.CONTINUE);
            now += TimeUnit.MICROSECONDS.toNanos(10);
        }
        assertThat(pauses).as("the processor is yielded between two empty polls").isEqualTo(5);
        assertThat(s.calculateStrategy(selectNow, false)).isEqualTo(SelectStrategy.SELECT);
        assertThat(polls).isEqualTo(6);
    }

    @Test
    void aReadySocketEndsTheSpinAndTheNextIdleStretchGetsTheWholeSpinAgain() throws Exception {
        SpinThenSleep s = strategy(SPIN);
        expecting = true;
        assertThat(s.calculateStrategy(selectNow, false)).isEqualTo(SelectStrategy.CONTINUE);
        now += TimeUnit.MICROSECONDS.toNanos(40);
        ready = 2;
        assertThat(s.calculateStrategy(selectNow, false)).as("the reply came: handle it").isEqualTo(2);
        ready = 0;
        now += TimeUnit.MICROSECONDS.toNanos(5);
        assertThat(s.calculateStrategy(selectNow, false)).isEqualTo(SelectStrategy.CONTINUE);
        now += TimeUnit.MICROSECONDS.toNanos(45);
        assertThat(s.calculateStrategy(selectNow, false)).as("45 µs into a new stretch").isEqualTo(SelectStrategy.CONTINUE);
        now += TimeUnit.MICROSECONDS.toNanos(5);
        assertThat(s.calculateStrategy(selectNow, false)).isEqualTo(SelectStrategy.SELECT);
    }

    @Test
    void stopsPollingAsSoonAsNothingIsExpectedAnymore() throws Exception {
        SpinThenSleep s = strategy(SPIN);
        expecting = true;
        assertThat(s.calculateStrategy(selectNow, false)).isEqualTo(SelectStrategy.CONTINUE);
        expecting = false; // the last reply was handled by a task
        assertThat(s.calculateStrategy(selectNow, false)).isEqualTo(SelectStrategy.SELECT);
        assertThat(polls).isEqualTo(1);
    }

    @Test
    void zeroNeverPolls() throws Exception {
        SpinThenSleep s = strategy(0);
        expecting = true;
        assertThat(s.calculateStrategy(selectNow, false)).isEqualTo(SelectStrategy.SELECT);
        assertThat(polls).isZero();
        assertThatThrownBy(() -> new SpinThenSleep(-1, () -> 0, () -> {}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("spinNanos");
    }
}
