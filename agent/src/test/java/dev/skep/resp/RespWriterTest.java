package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static dev.skep.resp.Frames.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RespWriterTest {

    @Test
    void errWithAMessage() {
        assertThat(RespWriter.error("ERR", "REPLICAOF is not allowed"))
                .isEqualTo(bytes("-ERR REPLICAOF is not allowed\r\n"));
    }

    @Test
    void anotherCode() {
        assertThat(RespWriter.error("MASTERDOWN", "Link with MASTER is down"))
                .isEqualTo(bytes("-MASTERDOWN Link with MASTER is down\r\n"));
    }

    @Test
    void lineEndsInTheMessageBecomeSpacesAsInRedis() {
        assertThat(RespWriter.error("ERR", "a\r\n+OK")).isEqualTo(bytes("-ERR a  +OK\r\n"));
    }

    @Test
    void charactersAreBytes() {
        assertThat(RespWriter.error("ERR", "got '\u00ff' \u20ac")).isEqualTo(bytes("-ERR got '\u00ff' ?\r\n"));
    }

    @Test
    void theCodeIsOneWord() {
        assertThatThrownBy(() -> RespWriter.error("TWO WORDS", "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RespWriter.error("", "x")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void requestsAreArraysOfBulkStringsWithTheirBytesAsTheyAre() {
        assertThat(RespWriter.request("SELECT", "2")).isEqualTo(bytes("*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"));
        assertThat(RespWriter.request(java.util.List.of(new byte[] {'a', 0, (byte) 0xff}, new byte[0])))
                .isEqualTo(bytes("*2\r\n$3\r\na\u0000\u00ff\r\n$0\r\n\r\n"));
    }

    @Test
    void repliesAreWrittenAsRedisWritesThem() {
        byte[] reply = new RespWriter().array(4).simple("OK").integer(-1).bulk("caf\u00e9").nullBulk().toBytes();
        assertThat(reply).isEqualTo(bytes("*4\r\n+OK\r\n:-1\r\n$4\r\ncaf\u00e9\r\n$-1\r\n"));
        assertThat(new RespWriter().error("ERR bad\r\nthing").toBytes()).isEqualTo(bytes("-ERR bad  thing\r\n"));
    }

    @Test
    void buffers() {
        ByteBuf owned = Unpooled.wrappedBuffer(RespWriter.error("NOPROTO", "unsupported protocol version"));
        assertThat(owned.toString(java.nio.charset.StandardCharsets.ISO_8859_1))
                .isEqualTo("-NOPROTO unsupported protocol version\r\n");
        assertThat(owned.release()).isTrue();

        ByteBuf constant = RespWriter.constant(RespWriter.error("MASTERDOWN", "no master"));
        assertThat(constant.isReadOnly()).isTrue();
        assertThat(constant.release()).as("unreleasable").isFalse();
        assertThat(constant.readableBytes()).isEqualTo("-MASTERDOWN no master\r\n".length());
    }
}
