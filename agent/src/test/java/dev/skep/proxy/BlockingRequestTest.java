package dev.skep.proxy;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BlockingRequestTest {

    private static List<byte[]> args(String line) {
        return Arrays.stream(line.split(" ")).map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
    }

    private static String line(List<byte[]> args) {
        return String.join(" ", args.stream().map(a -> new String(a, StandardCharsets.UTF_8)).toList());
    }

    @Test
    void listAndSortedSetPopsWaitWhatIsLeftOfTheirTimeoutInSeconds() {
        assertThat(line(BlockingRequest.withElapsed(args("BRPOP q1 q2 5"), 1200))).isEqualTo("BRPOP q1 q2 3.800");
        assertThat(line(BlockingRequest.withElapsed(args("blpop q 1.5"), 250))).isEqualTo("blpop q 1.250");
        assertThat(line(BlockingRequest.withElapsed(args("BZPOPMIN z 2"), 0))).isEqualTo("BZPOPMIN z 2.000");
        assertThat(line(BlockingRequest.withElapsed(args("BRPOPLPUSH a b 10"), 9000))).isEqualTo("BRPOPLPUSH a b 1.000");
        assertThat(line(BlockingRequest.withElapsed(args("BLMOVE a b LEFT RIGHT 3"), 500)))
                .isEqualTo("BLMOVE a b LEFT RIGHT 2.500");
        assertThat(line(BlockingRequest.withElapsed(args("BLMPOP 4 2 a b LEFT COUNT 3"), 1000)))
                .isEqualTo("BLMPOP 3.000 2 a b LEFT COUNT 3");
        assertThat(line(BlockingRequest.withElapsed(args("BZMPOP 4 1 z MIN"), 1000))).isEqualTo("BZMPOP 3.000 1 z MIN");
    }

    @Test
    void aTimeoutOfZeroStillWaitsForEverAndOneThatRanOutBecomesTheShortest() {
        assertThat(line(BlockingRequest.withElapsed(args("BRPOP q 0"), 60_000))).isEqualTo("BRPOP q 0");
        assertThat(line(BlockingRequest.withElapsed(args("BRPOP q 1"), 5_000))).isEqualTo("BRPOP q 0.001");
        assertThat(line(BlockingRequest.withElapsed(args("XREAD BLOCK 100 STREAMS s $"), 5_000)))
                .isEqualTo("XREAD BLOCK 1 STREAMS s $");
        assertThat(line(BlockingRequest.withElapsed(args("XREAD BLOCK 0 STREAMS s $"), 5_000)))
                .isEqualTo("XREAD BLOCK 0 STREAMS s $");
    }

    @Test
    void streamReadsCarryTheirTimeoutInMillisecondsAfterBlock() {
        assertThat(line(BlockingRequest.withElapsed(args("XREAD COUNT 10 BLOCK 2000 STREAMS s 0"), 700)))
                .isEqualTo("XREAD COUNT 10 BLOCK 1300 STREAMS s 0");
        // a group or consumer named BLOCK is not the option
        assertThat(line(BlockingRequest.withElapsed(args("XREADGROUP GROUP BLOCK BLOCK BLOCK 900 STREAMS s >"), 400)))
                .isEqualTo("XREADGROUP GROUP BLOCK BLOCK BLOCK 500 STREAMS s >");
    }

    @Test
    void onlyBlockingCommandsWithATimeoutWhereItBelongsCanBeResent() {
        assertThat(BlockingRequest.resendable(args("BRPOP q 1"))).isTrue();
        assertThat(BlockingRequest.resendable(args("XREADGROUP GROUP g c BLOCK 10 STREAMS s >"))).isTrue();
        assertThat(BlockingRequest.resendable(args("XREAD COUNT 1 STREAMS s 0"))).isFalse(); // does not block
        assertThat(BlockingRequest.resendable(args("XREAD STREAMS BLOCK 5"))).isFalse(); // BLOCK is a key here
        assertThat(BlockingRequest.resendable(args("BRPOP q"))).isFalse(); // redis answers the arity error
        assertThat(BlockingRequest.resendable(args("WAIT 1 100"))).isFalse();
        assertThat(BlockingRequest.resendable(args("GET k"))).isFalse();
    }

    @Test
    void aTimeoutThatIsNotANumberIsLeftForRedisToRefuse() {
        assertThat(line(BlockingRequest.withElapsed(args("BRPOP q soon"), 100))).isEqualTo("BRPOP q soon");
        assertThat(line(BlockingRequest.withElapsed(args("XREAD BLOCK -5 STREAMS s 0"), 100)))
                .isEqualTo("XREAD BLOCK -5 STREAMS s 0");
    }
}
