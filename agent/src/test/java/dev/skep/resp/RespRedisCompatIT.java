package dev.skep.resp;

import dev.skep.support.RedisServerFixture;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import static dev.skep.resp.Frames.bytes;
import static dev.skep.resp.Frames.concat;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scanners and the table against a live redis-server 7.0: the same bytes get the same framing, the same
 * error texts, the same inline splitting, and the table knows every command the server has.
 */
class RespRedisCompatIT {
    private static RedisServerFixture redis;

    @BeforeAll
    static void startRedis() {
        redis = RedisServerFixture.start();
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @Test
    void protocolErrorTextsAreRedisOwn() throws IOException {
        for (RequestProtocolErrorTest.Broken broken : RequestProtocolErrorTest.corpus()) {
            if (broken.label().contains("empty lines")) {
                continue; // Skep's own limit: Redis skips empty lines without end
            }
            byte[] reply = exchange(broken.bytes(), true);
            assertThat(new String(reply, StandardCharsets.ISO_8859_1)).as(broken.label())
                    .isEqualTo("-ERR " + broken.error() + "\r\n");
        }
    }

    @Test
    void everyRequestOfTheCorpusGetsExactlyOneReply() throws IOException {
        List<RequestScannerTest.Request> corpus = RequestScannerTest.corpus();
        byte[] pipeline = concat(corpus.stream().map(RequestScannerTest.Request::bytes).toList());
        ByteBuf replies = Unpooled.wrappedBuffer(exchange(pipeline, false));
        ReplyScanner scanner = new ReplyScanner();
        int count = 0;
        int length;
        while ((length = scanner.scan(replies)) != ReplyScanner.NEED_MORE) {
            replies.skipBytes(length);
            count++;
        }
        assertThat(replies.isReadable()).as("nothing left over").isFalse();
        assertThat(count).isEqualTo(corpus.size());
    }

    @Test
    void inlineArgumentsAreSplitAsRedisSplitsThem() throws IOException {
        List<String> lines = List.of("NOSUCH \"a b\" 'c\\'d' e\"f g\" ''", "NOSUCH \"\\x41\\x4a\\x4\\n\" \\x41 'x\\ny'",
                "NOSUCH\tx\u000by \u000b z", "  NOSUCH \"\" a\rb");
        for (String line : lines) {
            List<byte[]> arguments = RequestArguments.decode(Unpooled.wrappedBuffer(bytes(line + "\r\n")));
            StringBuilder expected = new StringBuilder("-ERR unknown command '")
                    .append(new String(arguments.get(0), StandardCharsets.ISO_8859_1))
                    .append("', with args beginning with: ");
            for (byte[] argument : arguments.subList(1, arguments.size())) {
                expected.append('\'').append(new String(argument, StandardCharsets.ISO_8859_1)).append("' ");
            }
            String reply = new String(exchange(bytes(line + "\r\n"), false), StandardCharsets.ISO_8859_1);
            // Redis's error replies turn CR and LF into spaces
            assertThat(reply).as(line).isEqualTo(expected.toString().replace('\r', ' ').replace('\n', ' ') + "\r\n");
        }
    }

    @Test
    void theTableHasEveryCommandAndSubcommandOfTheServer() throws IOException {
        byte[] reply = exchange(Frames.multibulk("COMMAND", "LIST"), false);
        // *N, then "$len" and the name on a line each: names hold no CR or LF
        String[] lines = new String(reply, StandardCharsets.ISO_8859_1).split("\r\n");
        Set<String> server = new TreeSet<>();
        for (int i = 2; i < lines.length; i += 2) {
            server.add(lines[i].toLowerCase(Locale.ROOT)); // a module's commands come in upper case (Redis 8's V*)
        }
        Set<String> table = new TreeSet<>();
        CommandTable.all().stream().map(CommandSpec::name).filter(n -> !n.startsWith("debug|"))
                .forEach(table::add); // the debug|... lines are Skep's: Redis 7.0 has no DEBUG subcommand table
        Set<String> unclassified = new TreeSet<>(server);
        unclassified.removeAll(table);
        assertThat(unclassified).as("commands of %s that the proxy's table does not classify", redis.version()).isEmpty();
        // what the table has beyond this server: only the later servers' commands, in their own section
        Set<String> beyond = new TreeSet<>(table);
        beyond.removeAll(server);
        Set<String> later = laterServersCommands();
        if (redis.version().startsWith("redis 7.0.")) {
            assertThat(beyond).as("the table's commands that redis %s lacks", redis.version()).isEqualTo(later);
        } else {
            assertThat(later).as("the table's section of later servers").containsAll(beyond);
        }
    }

    /** The names the table lists after its "after Redis 7.0" line. */
    private static Set<String> laterServersCommands() throws IOException {
        Set<String> later = new TreeSet<>();
        boolean after = false;
        try (InputStream in = CommandTable.class.getResourceAsStream("commands.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                after |= line.startsWith("# ---- after Redis 7.0");
                if (after && !line.isBlank() && !line.startsWith("#")) {
                    later.add(line.trim().split("\\s+")[0]);
                }
            }
        }
        return later;
    }

    /** Sends bytes on a new connection and reads what comes back until the server closes or stays quiet. */
    private static byte[] exchange(byte[] request, boolean expectClose) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", redis.port())) {
            socket.setSoTimeout(expectClose ? 3000 : 300);
            socket.getOutputStream().write(request);
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            try {
                for (int n; (n = in.read(chunk)) >= 0; ) {
                    out.write(chunk, 0, n);
                }
            } catch (SocketTimeoutException e) {
                assertThat(expectClose).as("the server closes the connection after a protocol error").isFalse();
            }
            return out.toByteArray();
        }
    }
}
