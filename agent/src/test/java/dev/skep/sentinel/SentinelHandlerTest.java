package dev.skep.sentinel;

import dev.skep.netty.EventLoops;
import dev.skep.resp.RequestDecoder;
import dev.skep.topology.TopologyHolder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The connection handler on an {@link EmbeddedChannel}: framing, inline commands, bad bytes, limits. */
class SentinelHandlerTest {
    private final EventLoops loops = EventLoops.create(1, "sentinel-test", true);
    private final SentinelServer server = new SentinelServer(loops, "127.0.0.1", 0, SentinelCommandsTest.SETTINGS, 100,
            new TopologyHolder(), () -> null, () -> SentinelCommandsTest.NOW);
    private final EmbeddedChannel channel = new EmbeddedChannel(new RequestDecoder(SentinelHandler.LIMITS),
            new SentinelHandler(server, 7, false));

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        loops.close();
    }

    private void send(String bytes) {
        channel.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.ISO_8859_1));
    }

    private String replies() {
        StringBuilder out = new StringBuilder();
        for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }

    @Test
    void requestsSplitAnywhereArePutTogether() {
        String request = "*2\r\n$4\r\nPING\r\n$5\r\nhello\r\n";
        for (char c : request.toCharArray()) {
            assertThat(replies()).isEmpty();
            send(String.valueOf(c));
        }
        assertThat(replies()).isEqualTo("$5\r\nhello\r\n");
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() {
        send("*1\r\n$4\r\nPING\r\n*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n*1\r\n$4\r\nROLE\r\n");
        assertThat(replies()).isEqualTo("+PONG\r\n:7\r\n*2\r\n$8\r\nsentinel\r\n*0\r\n");
        assertThat(channel.isActive()).isTrue();
    }

    @Test
    void inlineCommandsAsTypedInTelnet() {
        send("PING\r\n");
        send("SENTINEL   get-master-addr-by-name mymaster\r\n");
        assertThat(replies()).isEqualTo("+PONG\r\n*-1\r\n");
    }

    @Test
    void quitAnswersThenCloses() {
        send("*1\r\n$4\r\nQUIT\r\n");
        assertThat(replies()).isEqualTo("+OK\r\n");
        assertThat(channel.isActive()).isFalse();
    }

    @Test
    void bytesThatAreNotRespGetAnErrorAndTheConnectionIsClosed() {
        send("*1\r\n$x\r\n");
        assertThat(replies()).startsWith("-ERR Protocol error: ").endsWith("\r\n");
        assertThat(channel.isActive()).isFalse();
    }

    @Test
    void aRequestTooLargeForASentinelClientIsRefusedBeforeItIsBuffered() {
        long tooLong = SentinelHandler.LIMITS.maxBulkLength() + 1;
        send("*2\r\n$4\r\nPING\r\n$" + tooLong + "\r\n");
        assertThat(replies()).isEqualTo("-ERR Protocol error: invalid bulk length\r\n");
        assertThat(channel.isActive()).isFalse();
    }

    @Test
    void aBlankInlineLineIsSkippedAsRedisSkipsIt() {
        send("\r\n   \r\nPING\r\n");
        assertThat(replies()).isEqualTo("+PONG\r\n");
    }

    @Test
    void theRequestsBeforeBadBytesAreAnsweredFirst() {
        send("*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n*1\r\n$4\r\nPING\r\n");
        assertThat(replies()).startsWith("+PONG\r\n-ERR Protocol error: ").doesNotContain("PONG\r\n+PONG");
        assertThat(channel.isActive()).isFalse();
    }

    @Test
    void anArrayWithTooManyElementsIsRefused() {
        send("*100000\r\n");
        assertThat(replies()).isEqualTo("-ERR Protocol error: invalid multibulk length\r\n"); // Redis's own words
        assertThat(channel.isActive()).isFalse();
    }
}
