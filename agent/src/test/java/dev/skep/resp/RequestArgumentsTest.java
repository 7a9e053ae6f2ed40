package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.skep.resp.Frames.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestArgumentsTest {

    @Test
    void multibulk() {
        ByteBuf request = Unpooled.wrappedBuffer(Frames.multibulk("AUTH", "user", "p\r\nw"));
        assertThat(strings(RequestArguments.decode(request))).containsExactly("AUTH", "user", "p\r\nw");
        assertThat(request.readerIndex()).isZero();
    }

    @Test
    void inlineAsRedisSplitsIt() {
        assertThat(strings(RequestArguments.decode(Unpooled.wrappedBuffer(
                bytes("SET \"a b\\x41\\n\" 'c\\'d' e\"f g\" ''\r\n")))))
                .containsExactly("SET", "a bA\n", "c'd", "ef g", "");
    }

    @Test
    void skippedLinesBeforeTheRequest() {
        assertThat(strings(RequestArguments.decode(Unpooled.wrappedBuffer(bytes("\r\n*0\r\n  \nSELECT 2\n")))))
                .containsExactly("SELECT", "2");
        assertThat(strings(RequestArguments.decode(Unpooled.wrappedBuffer(bytes("\n*-1\r\n*1\r\n$4\r\nPING\r\n")))))
                .containsExactly("PING");
    }

    @Test
    void theFrameOfEveryCorpusRequest() {
        for (RequestScannerTest.Request r : RequestScannerTest.corpus()) {
            List<byte[]> arguments = RequestArguments.decode(Unpooled.wrappedBuffer(r.bytes()));
            assertThat(arguments).as(r.label()).hasSize(r.arguments());
        }
    }

    @Test
    void notARequest() {
        assertThatThrownBy(() -> RequestArguments.decode(Unpooled.wrappedBuffer(bytes("*2\r\n$3\r\nGET\r\n"))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RequestArguments.decode(Unpooled.wrappedBuffer(bytes("\r\n"))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RequestArguments.decode(Unpooled.wrappedBuffer(bytes("GET k"))))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static List<String> strings(List<byte[]> arguments) {
        return arguments.stream().map(b -> new String(b, java.nio.charset.StandardCharsets.ISO_8859_1)).toList();
    }
}
