package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

import static dev.skep.resp.Frames.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RespErrorsTest {

    @Test
    void errWithAMessage() {
        assertThat(RespErrors.error("REPLICAOF is not allowed")).isEqualTo(bytes("-ERR REPLICAOF is not allowed\r\n"));
    }

    @Test
    void anotherCode() {
        assertThat(RespErrors.error("MASTERDOWN", "Link with MASTER is down"))
                .isEqualTo(bytes("-MASTERDOWN Link with MASTER is down\r\n"));
    }

    @Test
    void lineEndsInTheMessageBecomeSpacesAsInRedis() {
        assertThat(RespErrors.error("a\r\n+OK")).isEqualTo(bytes("-ERR a  +OK\r\n"));
    }

    @Test
    void charactersAreBytes() {
        assertThat(RespErrors.error("got '\u00ff' \u20ac")).isEqualTo(bytes("-ERR got '\u00ff' ?\r\n"));
    }

    @Test
    void theCodeIsOneWord() {
        assertThatThrownBy(() -> RespErrors.error("TWO WORDS", "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RespErrors.error("", "x")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void buffers() {
        ByteBuf owned = RespErrors.error(ByteBufAllocator.DEFAULT, "NOPROTO", "unsupported protocol version");
        assertThat(owned.toString(java.nio.charset.StandardCharsets.ISO_8859_1))
                .isEqualTo("-NOPROTO unsupported protocol version\r\n");
        assertThat(owned.release()).isTrue();

        ByteBuf constant = RespErrors.constant(RespErrors.error("MASTERDOWN", "no master"));
        assertThat(constant.isReadOnly()).isTrue();
        assertThat(constant.release()).as("unreleasable").isFalse();
        assertThat(constant.readableBytes()).isEqualTo("-MASTERDOWN no master\r\n".length());
    }
}
