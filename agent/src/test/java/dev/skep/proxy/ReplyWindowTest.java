package dev.skep.proxy;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ReplyWindowTest {
    /** A client that sends {@code depth} requests, then waits for their replies ({@code size} bytes each). */
    private static int burst(ReplyWindow window, int depth, long size) {
        int sent = 0;
        int stops = 0;
        while (sent < depth) {
            if (window.full(sent)) {
                stops++; // the session stops reading until replies come back
                int answered = sent;
                window.replied(answered * size, answered, size, false, 0);
                depth -= answered;
                sent = 0;
                continue;
            }
            sent++;
        }
        window.full(sent); // read again after forwarding: asks once more
        window.replied(sent * size, sent, size, false, 0);
        return stops;
    }

    @Test
    void aClientThatPipelinesSixteenStopsBeingReadOnlyWhileTheWindowGrows() {
        ReplyWindow window = new ReplyWindow();
        int stops = 0;
        for (int i = 0; i < 5; i++) {
            stops += burst(window, 16, 5);
        }
        assertThat(stops).as("1, 2, 4, 8, 16: while it doubles").isGreaterThan(0);
        for (int i = 0; i < 200; i++) {
            assertThat(burst(window, 16, 5)).as("burst %d", i).isZero();
        }
        assertThat(window.size()).isEqualTo(17);
    }

    @Test
    void theWindowShrinksToWhatTheClientPipelinesNow() {
        ReplyWindow window = new ReplyWindow();
        for (int i = 0; i < 50; i++) {
            burst(window, 64, 5);
        }
        assertThat(window.size()).isGreaterThan(64);
        for (int i = 0; i < 50; i++) {
            burst(window, 4, 5);
        }
        assertThat(window.size()).as("down by an eighth at a time, which stops below 8").isBetween(5, 7);
    }

    @Test
    void largeRepliesKeepTheWindowWithinItsBytesWhateverTheClientPipelines() {
        ReplyWindow window = new ReplyWindow();
        for (int i = 0; i < 50; i++) {
            burst(window, 16, 100 * 1024);
        }
        assertThat(window.size()).as("1 MiB of 100 KiB replies").isBetween(8, 10);
    }

    @Test
    void repliesInSeveralPartsOfOneBurstDoNotShrinkItBelowTheBurst() {
        ReplyWindow window = new ReplyWindow();
        for (int i = 0; i < 10; i++) {
            burst(window, 16, 5);
        }
        for (int i = 0; i < 100; i++) {
            for (int sent = 0; sent < 16; sent++) {
                assertThat(window.full(sent)).as("round %d, request %d", i, sent).isFalse();
            }
            window.full(16);
            window.replied(50, 10, 5, false, 6); // the replies come back in two reads
            window.replied(30, 6, 5, false, 0);
        }
    }
}
