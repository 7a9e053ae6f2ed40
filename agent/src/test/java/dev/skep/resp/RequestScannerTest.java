package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

import static dev.skep.resp.Frames.byteByByte;
import static dev.skep.resp.Frames.bytes;
import static dev.skep.resp.Frames.concat;
import static dev.skep.resp.Frames.everyTwoFragmentSplit;
import static dev.skep.resp.Frames.feed;
import static dev.skep.resp.Frames.multibulk;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Framing of requests: every request of the corpus, whole, in every two-fragment split, byte by byte. */
class RequestScannerTest {

    /** A request, how many arguments Redis sees in it, and the table line it resolves to ("" = unknown). */
    record Request(String label, byte[] bytes, int arguments, String command) {
        @Override
        public String toString() {
            return label;
        }
    }

    static List<Request> corpus() {
        String[] mset = new String[201];
        mset[0] = "MSET";
        for (int i = 1; i < mset.length; i++) {
            mset[i] = "key:" + i;
        }
        return List.of(
                new Request("PING", multibulk("PING"), 1, "ping"),
                new Request("SET k v", multibulk("SET", "key", "value"), 3, "set"),
                new Request("lowercase get", multibulk("get", "k"), 2, "get"),
                new Request("10 KB value", multibulk("SET", "k", "v".repeat(10_000)), 3, "set"),
                new Request("MSET 200 arguments", multibulk(mset), 201, "mset"),
                new Request("empty argument", multibulk("GET", ""), 2, "get"),
                new Request("CRLF inside an argument", multibulk("SET", "a\r\nb", "*1\r\n$3\r\n"), 3, "set"),
                new Request("binary argument", multibulk("SET", "k", "\u0000\u00ff\r\u0000"), 3, "set"),
                new Request("CLIENT SETNAME", multibulk("CLIENT", "SETNAME", "app"), 3, "client|setname"),
                new Request("config get", multibulk("config", "get", "maxmemory"), 3, "config|get"),
                new Request("unknown command", multibulk("NOSUCHCOMMAND", "x"), 2, ""),
                new Request("49-byte command name", multibulk("x".repeat(49)), 1, ""),
                new Request("inline PING CRLF", bytes("PING\r\n"), 1, "ping"),
                new Request("inline PING LF", bytes("PING\n"), 1, "ping"),
                new Request("inline SET", bytes("set a b\r\n"), 3, "set"),
                new Request("inline with blanks", bytes("  GET \t  key  \r\n"), 2, "get"),
                new Request("inline double quotes", bytes("ECHO \"a b\\x41\\n\"\r\n"), 2, "echo"),
                new Request("inline single quotes", bytes("ECHO 'a\\'b'\n"), 2, "echo"),
                new Request("inline quoted command", bytes("\"PING\"\r\n"), 1, "ping"),
                new Request("inline quote inside a word", bytes("PI\"NG\" x\r\n"), 2, "ping"),
                new Request("inline empty quoted argument", bytes("ECHO ''\r\n"), 2, "echo"),
                new Request("inline CR separates words", bytes("ECHO foo\rbar\n"), 3, "echo"),
                new Request("inline VT inside a word", bytes("ECHO\u000bfoo\r\n"), 1, ""),
                new Request("inline VT before a word", bytes("\u000bECHO foo\r\n"), 2, "echo"),
                new Request("inline CLIENT SETNAME", bytes("client setname x\r\n"), 3, "client|setname"),
                new Request("empty lines before", bytes("\r\n\n   \r\nPING\r\n"), 1, "ping"),
                new Request("*0 and *-1 before", bytes("*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n"), 1, "ping"),
                new Request("bytes Redis does not check", bytes("*1\rX$4\rXPINGxx"), 1, "ping"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void requestWhole(Request request) {
        RequestScanner scanner = new RequestScanner();
        ByteBuf in = Unpooled.wrappedBuffer(request.bytes());

        assertThat(scanner.scan(in)).isEqualTo(request.bytes().length);
        assertThat(scanner.argumentCount()).isEqualTo(request.arguments());
        assertThat(scanner.command().name()).isEqualTo(request.command());
        assertThat(scanner.isInline()).isEqualTo(request.bytes()[scanner.skippedBytes()] != '*');
        assertThat(in.readerIndex()).as("indices untouched").isZero();
        assertThat(in.writerIndex()).isEqualTo(request.bytes().length);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void requestInEveryTwoFragmentSplitAndByteByByte(Request request) {
        byte[] bytes = request.bytes();
        List<Integer> one = List.of(bytes.length);
        List<int[]> splits = new ArrayList<>(everyTwoFragmentSplit(bytes.length));
        splits.add(byteByByte(bytes.length));
        for (int[] cuts : splits) {
            RequestScanner scanner = new RequestScanner();
            List<String> seen = new ArrayList<>();
            feed(buf -> {
                int length = scanner.scan(buf);
                if (length >= 0) {
                    seen.add(scanner.argumentCount() + " " + scanner.command().name());
                }
                return length;
            }, bytes, cuts, one);
            String expected = request.arguments() + " " + request.command();
            assertThat(seen).as("once in a heap buffer, once in a direct one").containsExactly(expected, expected);
        }
    }

    @Test
    void pipelineOfTheWholeCorpusComesOutAsTheSequenceOfLengths() {
        List<Request> corpus = new ArrayList<>(corpus());
        Collections.shuffle(corpus, new java.util.Random(7));
        corpus.addAll(corpus()); // twice, in two orders
        byte[] stream = concat(corpus.stream().map(Request::bytes).toList());
        List<Integer> lengths = corpus.stream().map(r -> r.bytes().length).toList();

        RequestScanner scanner = new RequestScanner();
        feed(scanner::scan, stream, new int[] {stream.length}, lengths);
        feed(scanner::scan, stream, byteByByte(stream.length), lengths);
        for (int[] cuts : everyTwoFragmentSplit(stream.length)) {
            feed(scanner::scan, stream, cuts, lengths);
        }
        int[] chunksOf7 = IntStream.iterate(7, c -> c < stream.length + 7, c -> c + 7)
                .map(c -> Math.min(c, stream.length)).distinct().toArray();
        feed(scanner::scan, stream, chunksOf7, lengths);
    }

    @Test
    void commandsOfAPipelineAreReportedOneByOne() {
        byte[] stream = concat(List.of(multibulk("GET", "a"), bytes("\r\nSELECT 1\r\n"), multibulk("blpop", "q", "0"),
                multibulk("REPLICAOF", "NO", "ONE")));
        RequestScanner scanner = new RequestScanner();
        ByteBuf in = Unpooled.wrappedBuffer(stream);
        List<String> seen = new ArrayList<>();
        int length;
        while ((length = scanner.scan(in)) != RequestScanner.NEED_MORE) {
            seen.add(scanner.command().name() + " " + scanner.route() + " " + scanner.skippedBytes());
            in.skipBytes(length);
        }
        assertThat(seen).containsExactly("get SHARED 0", "select DEDICATED 2", "blpop DEDICATED 0",
                "replicaof REFUSED 0");
    }

    @Test
    void skippedLinesWithNothingAfterThemWaitForTheNextRequest() {
        RequestScanner scanner = new RequestScanner();
        ByteBuf in = Unpooled.buffer().writeBytes(bytes("*1\r\n$4\r\nPING\r\n\r\n*0\r\n"));

        assertThat(scanner.scan(in)).isEqualTo(14);
        in.skipBytes(14);
        assertThat(scanner.scan(in)).isEqualTo(RequestScanner.NEED_MORE);
        in.writeBytes(bytes("PING\n"));
        assertThat(scanner.scan(in)).isEqualTo(11);
        assertThat(scanner.skippedBytes()).isEqualTo(6);
        assertThat(RequestArguments.decode(in.slice(in.readerIndex(), 11))).hasSize(1);
    }

    @Test
    void aRequestNotConsumedIsReportedAgain() {
        RequestScanner scanner = new RequestScanner();
        ByteBuf in = Unpooled.wrappedBuffer(concat(List.of(multibulk("GET", "a"), multibulk("DEL", "a"))));

        assertThat(scanner.scan(in)).isEqualTo(20);
        assertThat(scanner.scan(in)).isEqualTo(20);
        assertThat(scanner.command().name()).isEqualTo("get");
        in.skipBytes(20);
        assertThat(scanner.scan(in)).isEqualTo(20);
        assertThat(scanner.command().name()).isEqualTo("del");
        assertThat(scanner.isWrite()).isTrue();
    }

    @Test
    void accessorsNeedACompleteRequest() {
        RequestScanner scanner = new RequestScanner();
        assertThatThrownBy(scanner::command).isInstanceOf(IllegalStateException.class);
        assertThat(scanner.scan(Unpooled.wrappedBuffer(bytes("*2\r\n$3\r\nGET\r\n")))).isEqualTo(-1);
        assertThatThrownBy(scanner::route).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(scanner::argumentCount).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void consumingBytesOfARequestInProgressIsCaught() {
        RequestScanner scanner = new RequestScanner();
        ByteBuf in = Unpooled.wrappedBuffer(bytes("*2\r\n$3\r\nGET\r\n"));
        assertThat(scanner.scan(in)).isEqualTo(-1);
        in.skipBytes(4);
        assertThatThrownBy(() -> scanner.scan(in)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("fewer unread bytes");
    }

    @Test
    void resetForgetsTheRequestInProgress() {
        RequestScanner scanner = new RequestScanner();
        assertThat(scanner.scan(Unpooled.wrappedBuffer(bytes("*2\r\n$3\r\nGET\r\n")))).isEqualTo(-1);
        scanner.reset();
        assertThat(scanner.scan(Unpooled.wrappedBuffer(bytes("PING\r\n")))).isEqualTo(6);
        assertThat(scanner.command().name()).isEqualTo("ping");
    }

    @Test
    void firstTwoArgumentsCanBeCheckedIgnoringCase() {
        RequestScanner scanner = new RequestScanner();
        ByteBuf in = Unpooled.wrappedBuffer(concat(List.of(bytes("\r\n"), multibulk("Client", "NO-evict", "on"),
                multibulk("select", "1"))));
        int length = scanner.scan(in);
        assertThat(scanner.argumentEqualsIgnoreCase(in, 0, "CLIENT")).isTrue();
        assertThat(scanner.argumentEqualsIgnoreCase(in, 1, "no-evict")).isTrue();
        assertThat(scanner.argumentEqualsIgnoreCase(in, 1, "no-evic")).isFalse();
        assertThatThrownBy(() -> scanner.argumentEqualsIgnoreCase(in, 2, "on"))
                .isInstanceOf(IllegalArgumentException.class);
        ByteBuf client = in.readSlice(length);
        assertThat(scanner.argumentEqualsIgnoreCase(client, 1, "NO-EVICT")).as("on the slice").isTrue();

        scanner.scan(in);
        assertThat(scanner.argumentEqualsIgnoreCase(in, 0, "SELECT")).isTrue();
        assertThat(scanner.argumentEqualsIgnoreCase(in, 1, "1")).as("not a container: read from the buffer").isTrue();

        ByteBuf inline = Unpooled.wrappedBuffer(bytes("\"sCRIPT\" 'kill'\r\n"));
        scanner.scan(inline);
        assertThat(scanner.argumentEqualsIgnoreCase(inline, 0, "script")).isTrue();
        assertThat(scanner.argumentEqualsIgnoreCase(inline, 1, "KILL")).isTrue();
        assertThat(scanner.route()).isEqualTo(Route.DEDICATED);

        ByteBuf ping = Unpooled.wrappedBuffer(multibulk("PING"));
        scanner.scan(ping);
        assertThat(scanner.argumentEqualsIgnoreCase(ping, 1, "")).as("no argument 1").isFalse();
    }

    @Test
    void routesDependOnSubcommandsAndConfigSetParameters() {
        assertThat(routeOf(multibulk("CONFIG", "SET", "maxmemory", "1mb"))).isEqualTo(Route.SHARED);
        assertThat(routeOf(multibulk("CONFIG", "SET", "MasterAuth", "x"))).isEqualTo(Route.REFUSED);
        assertThat(routeOf(multibulk("config", "set", "maxmemory", "1mb", "repl-diskless-sync-delay", "5")))
                .as("the second of two parameters").isEqualTo(Route.REFUSED);
        assertThat(routeOf(multibulk("config", "set", "maxmemory", "1mb", "repl-diskless-sync-delay", "0")))
                .as("the value the hive keeps").isEqualTo(Route.SHARED);
        assertThat(routeOf(multibulk("config", "set", "maxmemory", "replica-read-only")))
                .as("a value, not a parameter").isEqualTo(Route.SHARED);
        assertThat(routeOf(bytes("config set slave-read-only no\r\n"))).isEqualTo(Route.REFUSED);
        assertThat(routeOf(multibulk("CONFIG", "GET", "masterauth"))).isEqualTo(Route.SHARED);
        assertThat(routeOf(multibulk("DEBUG", "SEGFAULT"))).isEqualTo(Route.REFUSED);
        assertThat(routeOf(multibulk("DEBUG", "OBJECT", "k"))).isEqualTo(Route.DEDICATED);
        assertThat(routeOf(multibulk("CLIENT"))).isEqualTo(Route.DEDICATED);
        assertThat(routeOf(multibulk("SCRIPT", "LOAD", "return 1"))).isEqualTo(Route.SHARED);
        assertThat(routeOf(multibulk("FUNCTION", "KILL"))).isEqualTo(Route.DEDICATED);
        assertThat(routeOf(multibulk("CONFIG", "NOSUCH"))).isEqualTo(Route.SHARED);

        RequestScanner scanner = new RequestScanner();
        scanner.scan(Unpooled.wrappedBuffer(multibulk("config", "set", "maxmemory", "1", "MIN-REPLICAS-to-write", "1")));
        assertThat(scanner.refusal()).isEqualTo(
                "CONFIG SET min-replicas-to-write is not allowed through the Skep proxy: the Skep agent owns this setting"
                        + " (it keeps it at \"0\")");
        assertThat(scanner.command().name()).isEqualTo("config|set");
        scanner.scan(Unpooled.wrappedBuffer(multibulk("replicaof", "no", "one")));
        assertThat(scanner.refusal()).isEqualTo(
                "REPLICAOF is not allowed through the Skep proxy: the hive manages replication");
        scanner.scan(Unpooled.wrappedBuffer(multibulk("GET", "k")));
        assertThat(scanner.refusal()).isNull();
    }

    @Test
    void aLargeBulkArrivingInManyChunksIsScannedOnce() {
        int size = 100 * 1024 * 1024;
        byte[] header = bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + size + "\r\n");
        int total = header.length + size + 2;
        CountingBuffer in = new CountingBuffer(total);
        in.writeBytes(header);
        RequestScanner scanner = new RequestScanner();
        int chunk = 64 * 1024;
        int scans = 0;
        int length = RequestScanner.NEED_MORE;
        for (int written = header.length; written < total; ) {
            int n = Math.min(chunk, total - written);
            in.writerIndex(in.writerIndex() + n); // the data itself: zeros, never read
            written += n;
            length = scanner.scan(in);
            scans++;
        }
        assertThat(length).isEqualTo(total);
        assertThat(scans).isGreaterThan(1000);
        assertThat(in.reads).as("bytes read by %d scans of a %d-byte request", scans, total)
                .isLessThanOrEqualTo(2L * header.length + 2);
    }

    @Test
    void manySmallArgumentsArrivingInSmallChunksAreEachReadOnce() {
        String[] arguments = new String[100_001];
        arguments[0] = "MSET";
        for (int i = 1; i < arguments.length; i++) {
            arguments[i] = "k" + i;
        }
        byte[] request = multibulk(arguments);
        CountingBuffer in = new CountingBuffer(request.length);
        RequestScanner scanner = new RequestScanner();
        int length = RequestScanner.NEED_MORE;
        for (int from = 0; from < request.length; from += 100) {
            in.writeBytes(request, from, Math.min(100, request.length - from));
            length = scanner.scan(in);
        }
        assertThat(length).isEqualTo(request.length);
        assertThat(scanner.argumentCount()).isEqualTo(100_001);
        assertThat(in.reads).isLessThanOrEqualTo(2L * request.length);
    }

    private static Route routeOf(byte[] request) {
        RequestScanner scanner = new RequestScanner();
        assertThat(scanner.scan(Unpooled.wrappedBuffer(request))).isEqualTo(request.length);
        return scanner.route();
    }

    /** A heap buffer that counts the bytes read through getByte and forEachByte (both go through _getByte). */
    static final class CountingBuffer extends io.netty.buffer.UnpooledHeapByteBuf {
        long reads;

        CountingBuffer(int capacity) {
            super(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, capacity, capacity);
        }

        @Override
        protected byte _getByte(int index) {
            reads++;
            return super._getByte(index);
        }
    }
}
