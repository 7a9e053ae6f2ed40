package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static dev.skep.resp.Frames.bytes;
import static dev.skep.resp.Frames.failByteByByte;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Protocol errors, byte for byte as redis-server 7.0.15 words them: each expected text below is what it
 * answered (after "-ERR ") to the same bytes, before closing the connection (see RespRedisCompatIT, which
 * checks them against a live server). Each input is minimal: the error comes with its last byte, and not
 * before, however the bytes are split.
 */
class RequestProtocolErrorTest {
    private static final String TOO_BIG_INLINE = "Protocol error: too big inline request";

    /** Bytes that break the protocol, and Redis's error text. */
    record Broken(String label, byte[] bytes, String error) {
        @Override
        public String toString() {
            return label;
        }
    }

    static List<Broken> corpus() {
        String invalidMultibulk = "Protocol error: invalid multibulk length";
        String invalidBulk = "Protocol error: invalid bulk length";
        String unbalanced = "Protocol error: unbalanced quotes in request";
        return List.of(
                new Broken("count not a number", bytes("*abc\r\n"), invalidMultibulk),
                new Broken("count over INT_MAX", bytes("*2147483648\r\n"), invalidMultibulk),
                new Broken("count -0", bytes("*-0\r\n"), invalidMultibulk),
                new Broken("count +1", bytes("*+1\r\n"), invalidMultibulk),
                new Broken("count with a leading zero", bytes("*01\r\n"), invalidMultibulk),
                new Broken("count empty", bytes("*\r\n"), invalidMultibulk),
                new Broken("count of 21 characters", bytes("*100000000000000000000\r\n"), invalidMultibulk),
                new Broken("no $", bytes("*1\r\nX\r\n"), "Protocol error: expected '$', got 'X'"),
                new Broken("no $, a high byte", bytes("*1\r\n\u00ff\r\n"), "Protocol error: expected '$', got '\u00ff'"),
                new Broken("no $, an empty line", bytes("*1\r\n\r\n"), "Protocol error: expected '$', got ' '"),
                new Broken("no $, a LF", bytes("*1\r\n\n\r\n"), "Protocol error: expected '$', got ' '"),
                new Broken("no $ for the second argument", bytes("*2\r\n$3\r\nGET\r\n:1\r\n"),
                        "Protocol error: expected '$', got ':'"),
                new Broken("bulk length -1", bytes("*1\r\n$-1\r\n"), invalidBulk),
                new Broken("bulk length over 512 MB", bytes("*1\r\n$536870913\r\n"), invalidBulk),
                new Broken("bulk length not a number", bytes("*1\r\n$abc\r\n"), invalidBulk),
                new Broken("bulk length empty", bytes("*1\r\n$\r\n"), invalidBulk),
                new Broken("unterminated double quote", bytes("PING \"a\r\n"), unbalanced),
                new Broken("closing quote before a letter", bytes("ECHO \"a\"b\r\n"), unbalanced),
                new Broken("quote inside a word, closed before a letter", bytes("ECHO a\"b c\"d\r\n"), unbalanced),
                new Broken("escaped closing quote", bytes("ECHO \"ab\\\"\r\n"), unbalanced),
                new Broken("backslash at the end", bytes("ECHO \"ab\\\r\n"), unbalanced),
                new Broken("unterminated single quote", bytes("ECHO 'a\n"), unbalanced),
                new Broken("inline line over 64 KB", bytes("A".repeat(65537)), TOO_BIG_INLINE),
                new Broken("count line over 64 KB", bytes("*" + "1".repeat(65536)),
                        "Protocol error: too big mbulk count string"),
                new Broken("bulk line over 64 KB", bytes("*1\r\n$" + "1".repeat(65536)),
                        "Protocol error: too big bulk count string"),
                new Broken("inline line with a NUL, then 64 KB", bytes("PING\u0000" + "x".repeat(65532)),
                        TOO_BIG_INLINE),
                new Broken("over 64 KB of empty lines", bytes("\r\n".repeat(32768) + "\n"), TOO_BIG_INLINE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void errorTextIsRedisOneWholeAndByteByByte(Broken broken) {
        assertThatThrownBy(() -> new RequestScanner().scan(Unpooled.wrappedBuffer(broken.bytes())))
                .isInstanceOf(RespProtocolException.class)
                .hasMessage(broken.error());

        RespProtocolException e = failByteByByte(new RequestScanner()::scan, broken.bytes());
        assertThat(e).hasMessage(broken.error());
        assertThat(e.errorReply()).isEqualTo(bytes("-ERR " + broken.error() + "\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void oneByteLessIsNotAnErrorYet(Broken broken) {
        byte[] bytes = broken.bytes();
        ByteBuf in = Unpooled.wrappedBuffer(bytes, 0, bytes.length - 1);
        assertThat(new RequestScanner().scan(in)).isEqualTo(RequestScanner.NEED_MORE);
    }

    @Test
    void theLineMustBeCompleteBeforeItsFirstByteIsJudged() {
        RequestScanner scanner = new RequestScanner();
        ByteBuf in = Unpooled.buffer().writeBytes(bytes("*1\r\nX"));
        assertThat(scanner.scan(in)).isEqualTo(-1);
        in.writeByte('\r');
        assertThat(scanner.scan(in)).as("Redis also wants the byte after \\r").isEqualTo(-1);
        in.writeByte('\n');
        assertThatThrownBy(() -> scanner.scan(in)).hasMessage("Protocol error: expected '$', got 'X'");
    }

    @Test
    void theErrorSticksUntilReset() {
        RequestScanner scanner = new RequestScanner();
        assertThatThrownBy(() -> scanner.scan(Unpooled.wrappedBuffer(bytes("*x\r\n")))).hasMessageContaining("multibulk");
        assertThatThrownBy(() -> scanner.scan(Unpooled.wrappedBuffer(bytes("PING\r\n"))))
                .hasMessageContaining("multibulk");
        scanner.reset();
        assertThat(scanner.scan(Unpooled.wrappedBuffer(bytes("PING\r\n")))).isEqualTo(6);
    }

    @Test
    void linesAtTheLimitAreAccepted() {
        byte[] line = bytes("A".repeat(65536) + "\n");
        assertThat(new RequestScanner().scan(Unpooled.wrappedBuffer(line))).isEqualTo(line.length);
        assertThat(failOrLength(bytes("*1\r\n$" + "0".repeat(65535) + "\r\n"))).isEqualTo("Protocol error: invalid bulk length");
        byte[] emptyLines = bytes("\r\n".repeat(32768) + "PING\r\n");
        assertThat(new RequestScanner().scan(Unpooled.wrappedBuffer(emptyLines))).isEqualTo(emptyLines.length);
    }

    @Test
    void aNulBeforeTheLineEndMakesTheLineNeverEndAsInRedis() {
        // Redis finds line ends with strchr(), which stops at NUL: it waits (up to 64 KB) for more bytes.
        assertThat(new RequestScanner().scan(Unpooled.wrappedBuffer(bytes("PING\u0000x\r\n")))).isEqualTo(-1);
        assertThat(new RequestScanner().scan(Unpooled.wrappedBuffer(bytes("*1\u0000\r\n$4\r\nPING\r\n"))))
                .isEqualTo(-1);
        assertThat(new RequestScanner().scan(Unpooled.wrappedBuffer(bytes("*1\r\n$1\r\n\u0000x\u0000"))))
                .as("inside bulk data a NUL is data").isEqualTo(11);
    }

    @Test
    void limitsAreConfigurable() {
        RequestLimits limits = RequestLimits.REDIS_DEFAULTS.withMaxBulkLength(10).withMaxArguments(2);
        assertThat(new RequestScanner(limits).scan(Unpooled.wrappedBuffer(bytes("*1\r\n$10\r\n0123456789\r\n"))))
                .isEqualTo(21);
        assertThatThrownBy(() -> new RequestScanner(limits).scan(Unpooled.wrappedBuffer(bytes("*1\r\n$11\r\n"))))
                .hasMessage("Protocol error: invalid bulk length");
        assertThatThrownBy(() -> new RequestScanner(limits).scan(Unpooled.wrappedBuffer(bytes("*3\r\n"))))
                .hasMessage("Protocol error: invalid multibulk length");
        assertThat(new RequestScanner().scan(Unpooled.wrappedBuffer(bytes("*1048577\r\n"))))
                .as("Redis 7.0 takes more than 1024*1024 arguments").isEqualTo(-1);
    }

    @Test
    void completeRequestsWithOddLengthsGetTheSameAnswerWholeAsInPieces() {
        // Whole, these go through the scanner's one-pass path first, which must hand each to the state machine
        // (a leading zero, a sign, the limits): the answer is the state machine's, as when the bytes trickle in.
        RequestLimits tight = RequestLimits.REDIS_DEFAULTS.withMaxBulkLength(3).withMaxArguments(1);
        for (byte[] request : List.of(bytes("*1\r\n$04\r\nPING\r\n"), bytes("*1\r\n$+4\r\nPING\r\n"),
                bytes("*01\r\n$4\r\nPING\r\n"), bytes("*1\r\n$0\r\n\r\n"), bytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
                bytes("*1\r\n$4\r\nPING\r\n"), bytes("*1\r\n$3\r\nGET\r\n"))) {
            for (RequestLimits limits : List.of(RequestLimits.REDIS_DEFAULTS, tight)) {
                String whole = outcome(new RequestScanner(limits), Unpooled.wrappedBuffer(request));
                RequestScanner pieces = new RequestScanner(limits);
                ByteBuf in = Unpooled.buffer();
                String last = "-1";
                for (byte b : request) {
                    in.writeByte(b);
                    last = outcome(pieces, in);
                    if (!last.equals("-1")) {
                        break;
                    }
                }
                assertThat(whole).as(new String(request, java.nio.charset.StandardCharsets.ISO_8859_1) + " " + limits)
                        .isEqualTo(last);
            }
        }
    }

    private static String outcome(RequestScanner scanner, ByteBuf in) {
        try {
            int length = scanner.scan(in);
            return length < 0 ? "-1" : length + " " + scanner.argumentCount() + " " + scanner.command().name();
        } catch (RespProtocolException e) {
            return e.getMessage();
        }
    }

    private static String failOrLength(byte[] bytes) {
        try {
            return String.valueOf(new RequestScanner().scan(Unpooled.wrappedBuffer(bytes)));
        } catch (RespProtocolException e) {
            return e.getMessage();
        }
    }
}
