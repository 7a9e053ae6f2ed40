package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything Skep writes in RESP2, as Redis writes it: replies built value by value (the Sentinel endpoint's), error
 * replies ({@code -ERR ...}, {@code -MASTERDOWN ...}) and the requests the proxy and agent send themselves (AUTH, the
 * state replayed on a new connection, WAIT, a re-sent blocking command). The one encoder of the project; decoding is
 * {@link RequestScanner}, {@link RequestArguments} and {@link ReplyScanner}.
 *
 * <p>Strings are written as ISO-8859-1, which maps each char back to the byte it was decoded from: a client's channel
 * name or message comes back byte for byte; a character above U+00FF becomes {@code ?}. In error replies CR and LF
 * become spaces, as Redis does for errors that echo arguments, so a message never breaks the framing of the reply
 * stream. An instance builds one reply and is not thread-safe; the static methods are pure.
 */
public final class RespWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(128);

    /** {@code +text}: {@code text} must not contain CR or LF. */
    public RespWriter simple(String text) {
        return line('+', text);
    }

    /** {@code -text}, {@code text} starting with the error code ({@code ERR ...}). */
    public RespWriter error(String text) {
        out.writeBytes(errorReply(text));
        return this;
    }

    public RespWriter integer(long value) {
        return line(':', Long.toString(value));
    }

    /** A bulk string. */
    public RespWriter bulk(String value) {
        return bulk(latin1(value));
    }

    public RespWriter bulk(byte[] value) {
        line('$', Integer.toString(value.length));
        out.writeBytes(value);
        return crlf();
    }

    /** A number as a bulk string, as Sentinel writes its numeric fields ({@code addReplyBulkLongLong}). */
    public RespWriter bulk(long value) {
        return bulk(Long.toString(value));
    }

    public RespWriter nullBulk() {
        return line('$', "-1");
    }

    public RespWriter array(int count) {
        return line('*', Integer.toString(count));
    }

    public RespWriter nullArray() {
        return line('*', "-1");
    }

    /** A field and its value, as one pair of a RESP2 map (a flat array of 2n elements). */
    public RespWriter field(String name, String value) {
        return bulk(name).bulk(value);
    }

    public RespWriter field(String name, long value) {
        return bulk(name).bulk(value);
    }

    /** Appends bytes already in RESP form (another reply). */
    public RespWriter raw(byte[] resp) {
        out.writeBytes(resp);
        return this;
    }

    public byte[] toBytes() {
        return out.toByteArray();
    }

    private RespWriter line(char type, String text) {
        out.write(type);
        out.writeBytes(latin1(text));
        return crlf();
    }

    private RespWriter crlf() {
        out.write('\r');
        out.write('\n');
        return this;
    }

    // ---- one-shot encodings ----

    /** A request (a RESP array of bulk strings) made of {@code args}. */
    public static byte[] request(List<byte[]> args) {
        RespWriter w = new RespWriter().array(args.size());
        for (byte[] a : args) {
            w.bulk(a);
        }
        return w.toBytes();
    }

    /** A request made of {@code args}, each written as UTF-8 (a password may be any text). */
    public static byte[] request(String... args) {
        List<byte[]> list = new ArrayList<>(args.length);
        for (String a : args) {
            list.add(a.getBytes(StandardCharsets.UTF_8));
        }
        return request(list);
    }

    /** {@code -ERR <message>\r\n}. */
    public static byte[] error(String code, String message) {
        if (code.isEmpty() || code.indexOf(' ') >= 0 || code.indexOf('\r') >= 0 || code.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("an error code is one word: '" + code + "'");
        }
        return errorReply(code + " " + message);
    }

    /** {@code -<text>\r\n}, {@code text} starting with the error code ({@code ERR}, {@code MASTERDOWN}...). */
    public static byte[] errorReply(String text) {
        byte[] reply = new byte[text.length() + 3];
        reply[0] = '-';
        for (int j = 0; j < text.length(); j++) {
            char c = text.charAt(j);
            reply[j + 1] = c == '\r' || c == '\n' ? (byte) ' ' : c > 0xff ? (byte) '?' : (byte) c;
        }
        reply[reply.length - 2] = '\r';
        reply[reply.length - 1] = '\n';
        return reply;
    }

    /** {@link #errorReply} in a buffer the caller owns. */
    public static ByteBuf errorBuffer(String text) {
        return Unpooled.wrappedBuffer(errorReply(text));
    }

    /** A shared, read-only buffer of a reply, for replies encoded once and written many times. */
    public static ByteBuf constant(byte[] reply) {
        return Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(reply).asReadOnly());
    }

    private static byte[] latin1(String text) {
        byte[] b = new byte[text.length()];
        for (int j = 0; j < text.length(); j++) {
            char c = text.charAt(j);
            b[j] = c > 0xff ? (byte) '?' : (byte) c;
        }
        return b;
    }
}
