package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;

import static dev.skep.resp.Frames.byteByByte;
import static dev.skep.resp.Frames.bytes;
import static dev.skep.resp.Frames.concat;
import static dev.skep.resp.Frames.everyTwoFragmentSplit;
import static dev.skep.resp.Frames.failByteByByte;
import static dev.skep.resp.Frames.feed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Framing of replies, RESP2 and RESP3: the corpus whole, in every two-fragment split, byte by byte. */
class ReplyScannerTest {

    /** A reply and what the scanner says of it: its type byte, push or not. */
    record Reply(String label, byte[] bytes, char type) {
        Reply(String label, String text, char type) {
            this(label, Frames.bytes(text), type);
        }

        @Override
        public String toString() {
            return label;
        }
    }

    static List<Reply> corpus() {
        return List.of(
                new Reply("simple string", "+OK\r\n", '+'),
                new Reply("error", "-ERR unknown command 'x'\r\n", '-'),
                new Reply("integer", ":1000\r\n", ':'),
                new Reply("negative integer", ":-5\r\n", ':'),
                new Reply("bulk", "$5\r\nhello\r\n", '$'),
                new Reply("empty bulk", "$0\r\n\r\n", '$'),
                new Reply("bulk holding CRLF", "$8\r\n*1\r\n+x\r\n\r\n", '$'),
                new Reply("null bulk", "$-1\r\n", '$'),
                new Reply("null array", "*-1\r\n", '*'),
                new Reply("empty array", "*0\r\n", '*'),
                new Reply("array", "*3\r\n$3\r\nfoo\r\n:1\r\n$-1\r\n", '*'),
                new Reply("nested arrays", "*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n*0\r\n", '*'),
                new Reply("RESP3 null", "_\r\n", '_'),
                new Reply("double", ",3.14\r\n", ','),
                new Reply("double inf", ",-inf\r\n", ','),
                new Reply("boolean true", "#t\r\n", '#'),
                new Reply("boolean false", "#f\r\n", '#'),
                new Reply("big number", "(3492890328409238509324850943850943825024385\r\n", '('),
                new Reply("verbatim", "=15\r\ntxt:Some string\r\n", '='),
                new Reply("blob error", "!21\r\nSYNTAX invalid syntax\r\n", '!'),
                new Reply("map", "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", '%'),
                new Reply("empty map", "%0\r\n", '%'),
                new Reply("map of aggregates", "%1\r\n*2\r\n:1\r\n:2\r\n%1\r\n+a\r\n~1\r\n_\r\n", '%'),
                new Reply("set", "~3\r\n+a\r\n+b\r\n+c\r\n", '~'),
                new Reply("attribute then reply", "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n"
                        + ",0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n", '*'),
                new Reply("attribute inside an array", "*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nx\r\n:2\r\n", '*'),
                new Reply("empty attribute then reply", "|0\r\n:7\r\n", ':'),
                new Reply("push message", ">3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n", '>'),
                new Reply("push invalidate", ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n", '>'),
                new Reply("deep nesting", "*1\r\n".repeat(100) + "%1\r\n:1\r\n:2\r\n", '*'),
                new Reply("large bulk", "$20000\r\n" + "x".repeat(20000) + "\r\n", '$'));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void replyWhole(Reply reply) {
        ReplyScanner scanner = new ReplyScanner();
        ByteBuf in = Unpooled.wrappedBuffer(reply.bytes());

        assertThat(scanner.scan(in)).isEqualTo(reply.bytes().length);
        assertThat((char) scanner.type()).isEqualTo(reply.type());
        assertThat(scanner.isPush()).isEqualTo(reply.type() == '>');
        assertThat(scanner.isError()).isEqualTo(reply.type() == '-' || reply.type() == '!');
        assertThat(in.readerIndex()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void replyInEveryTwoFragmentSplitAndByteByByte(Reply reply) {
        byte[] bytes = reply.bytes();
        List<int[]> splits = new ArrayList<>(everyTwoFragmentSplit(bytes.length));
        splits.add(byteByByte(bytes.length));
        for (int[] cuts : splits) {
            ReplyScanner scanner = new ReplyScanner();
            List<Character> types = new ArrayList<>();
            feed(buf -> {
                int length = scanner.scan(buf);
                if (length >= 0) {
                    types.add((char) scanner.type());
                }
                return length;
            }, bytes, cuts, List.of(bytes.length));
            assertThat(types).as("once in a heap buffer, once in a direct one").containsExactly(reply.type(), reply.type());
        }
    }

    @Test
    void pipelineOfTheWholeCorpusComesOutAsTheSequenceOfLengths() {
        List<Reply> corpus = corpus().stream().filter(r -> r.bytes().length < 1000).toList();
        byte[] stream = concat(corpus.stream().map(Reply::bytes).toList());
        List<Integer> lengths = corpus.stream().map(r -> r.bytes().length).toList();

        ReplyScanner scanner = new ReplyScanner();
        feed(scanner::scan, stream, new int[] {stream.length}, lengths);
        feed(scanner::scan, stream, byteByByte(stream.length), lengths);
        for (int[] cuts : everyTwoFragmentSplit(stream.length)) {
            feed(scanner::scan, stream, cuts, lengths);
        }
    }

    @Test
    void aPushBetweenRepliesIsReportedAsAPush() {
        byte[] stream = bytes("+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n:1\r\n|1\r\n+a\r\n+b\r\n>1\r\n+x\r\n$1\r\nv\r\n");
        ReplyScanner scanner = new ReplyScanner();
        ByteBuf in = Unpooled.wrappedBuffer(stream);
        List<String> seen = new ArrayList<>();
        int length;
        while ((length = scanner.scan(in)) != ReplyScanner.NEED_MORE) {
            seen.add(length + (scanner.isPush() ? " push" : " reply"));
            in.skipBytes(length);
        }
        assertThat(seen).containsExactly("5 reply", "32 push", "4 reply", "20 push", "7 reply");
        assertThat(in.isReadable()).isFalse();
    }

    @Test
    void aLargeBulkReplyInManyChunksIsNotReadAgain() {
        int size = 8 * 1024 * 1024;
        byte[] header = bytes("*2\r\n:1\r\n$" + size + "\r\n");
        int total = header.length + size + 2;
        RequestScannerTest.CountingBuffer in = new RequestScannerTest.CountingBuffer(total);
        in.writeBytes(header);
        ReplyScanner scanner = new ReplyScanner();
        int length = ReplyScanner.NEED_MORE;
        for (int written = header.length; written < total; ) {
            int n = Math.min(4096, total - written - 2);
            if (n <= 0) {
                in.writeBytes(bytes("\r\n"));
                written += 2;
            } else {
                in.writerIndex(in.writerIndex() + n);
                written += n;
            }
            length = scanner.scan(in);
        }
        assertThat(length).isEqualTo(total);
        assertThat(in.reads).isLessThanOrEqualTo(2L * header.length + 2);
    }

    /**
     * A consumer that passes on what {@link ReplyScanner#partial()} allows whenever a reply is incomplete (as the
     * proxy forwards a large reply as it streams in) gets every byte once, in order, and every reply's end and
     * type where they are: the whole corpus as one pipeline, fed in chunks of every size from 1 to 64 bytes.
     */
    @Test
    void repliesPassedOnAsTheyStreamInComeOutWholeAndInOrder() throws java.io.IOException {
        List<Reply> corpus = corpus();
        byte[] stream = concat(corpus.stream().map(Reply::bytes).toList());
        List<String> expected = new ArrayList<>();
        for (Reply r : corpus) {
            expected.add(r.bytes().length + " " + r.type());
        }
        for (int chunk = 1; chunk <= 64; chunk++) {
            ReplyScanner scanner = new ReplyScanner();
            ByteBuf in = Unpooled.buffer();
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            List<String> replies = new ArrayList<>();
            int sofar = 0; // bytes of the reply in progress passed on before it completed
            for (int at = 0; at < stream.length; at += chunk) {
                in.writeBytes(stream, at, Math.min(chunk, stream.length - at));
                int length;
                while ((length = scanner.scan(in)) >= 0) {
                    replies.add((sofar + length) + " " + (char) scanner.type());
                    assertThat(scanner.partial()).isZero();
                    sofar = 0;
                    in.readBytes(out, length);
                }
                int n = scanner.partial();
                if (n > 0) {
                    assertThat(scanner.partialType()).isNotZero();
                    in.readBytes(out, n);
                    scanner.consumedPartial(n);
                    sofar += n;
                }
                in.discardReadBytes();
            }
            assertThat(replies).as("chunks of %d", chunk).containsExactlyElementsOf(expected);
            assertThat(out.toByteArray()).as("chunks of %d", chunk).isEqualTo(stream);
        }
    }

    @Test
    void aBulkInProgressCanBePassedOnAllButItsFinalCrlf() {
        ReplyScanner scanner = new ReplyScanner();
        ByteBuf in = Unpooled.wrappedBuffer(bytes("$10\r\n0123456789\r"));
        assertThat(scanner.scan(in)).isEqualTo(ReplyScanner.NEED_MORE);
        assertThat((char) scanner.partialType()).isEqualTo('$');
        assertThat(scanner.partial()).isEqualTo(15); // the header and the data, not the CR
        scanner.consumedPartial(15);
        in.skipBytes(15);
        assertThatThrownBy(() -> scanner.consumedPartial(1)).isInstanceOf(IllegalArgumentException.class);
        ByteBuf rest = Unpooled.wrappedBuffer(in, Unpooled.wrappedBuffer(bytes("\n+OK\r\n")));
        assertThat(scanner.scan(rest)).isEqualTo(2);
        assertThat((char) scanner.type()).isEqualTo('$');
        rest.skipBytes(2);
        assertThat(scanner.scan(rest)).isEqualTo(5);
    }

    @Test
    void nothingCanBePassedOnBeforeTheTypeIsKnown() {
        ReplyScanner scanner = new ReplyScanner();
        assertThat(scanner.scan(Unpooled.wrappedBuffer(bytes("$100")))).isEqualTo(ReplyScanner.NEED_MORE);
        assertThat(scanner.partial()).isZero();
        assertThat(scanner.partialType()).isZero();
        ReplyScanner attribute = new ReplyScanner();
        assertThat(attribute.scan(Unpooled.wrappedBuffer(bytes("|1\r\n+ttl\r\n:3600\r\n$5\r\nab"))))
                .isEqualTo(ReplyScanner.NEED_MORE);
        assertThat((char) attribute.partialType()).isEqualTo('$');
        assertThat(attribute.partial()).isEqualTo(23);
    }

    /** Replies that are not RESP, and the exception text. */
    record Broken(String label, String text, String error) {
        @Override
        public String toString() {
            return label;
        }
    }

    static List<Broken> broken() {
        return List.of(
                new Broken("streamed string", "$?\r\n", "Protocol error: streamed RESP3 reply '$?' not supported"),
                new Broken("streamed array", "*?\r\n", "Protocol error: streamed RESP3 reply '*?' not supported"),
                new Broken("streamed map", "%?\r\n", "Protocol error: streamed RESP3 reply '%?' not supported"),
                new Broken("unknown type", "X\r\n", "Protocol error: unknown reply type 'X'"),
                new Broken("unknown type byte", "\u0001\r\n", "Protocol error: unknown reply type '\\x01'"),
                new Broken("CR without LF", "+OK\rX", "Protocol error: reply line not ended by CRLF"),
                new Broken("bulk without CRLF", "$3\r\nfooXY", "Protocol error: bulk reply of 3 bytes not followed by CRLF"),
                new Broken("array length -2", "*-2\r\n", "Protocol error: invalid length in reply '*-2'"),
                new Broken("map length -1", "%-1\r\n", "Protocol error: invalid length in reply '%-1'"),
                new Broken("bulk length not a number", "$x\r\n", "Protocol error: invalid length in reply '$x'"),
                new Broken("bad type inside an array", "*2\r\n:1\r\n.\r\n", "Protocol error: unknown reply type '.'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("broken")
    void brokenReplies(Broken broken) {
        assertThatThrownBy(() -> new ReplyScanner().scan(Unpooled.wrappedBuffer(bytes(broken.text()))))
                .isInstanceOf(RespProtocolException.class)
                .hasMessage(broken.error());
        assertThat(failByteByByte(new ReplyScanner()::scan, bytes(broken.text()))).hasMessage(broken.error());
    }

    @Test
    void resetAfterAnError() {
        ReplyScanner scanner = new ReplyScanner();
        assertThatThrownBy(() -> scanner.scan(Unpooled.wrappedBuffer(bytes("?\r\n"))))
                .isInstanceOf(RespProtocolException.class);
        assertThatThrownBy(() -> scanner.scan(Unpooled.wrappedBuffer(bytes("+OK\r\n"))))
                .isInstanceOf(RespProtocolException.class);
        scanner.reset();
        assertThat(scanner.scan(Unpooled.wrappedBuffer(bytes("+OK\r\n")))).isEqualTo(5);
        assertThat(scanner.scan(Unpooled.wrappedBuffer(bytes("*1\r\n")))).isEqualTo(-1);
        assertThatThrownBy(scanner::isPush).isInstanceOf(IllegalStateException.class);
    }
}
