package dev.skep.sentinel;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Builds RESP2 replies as bytes, the way Redis writes them. Strings are written as ISO-8859-1, which maps
 * each char back to the byte it was decoded from (see {@link SentinelHandler}): a client's channel name or
 * message comes back byte for byte. Not thread-safe; one instance per reply.
 */
final class Resp {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(128);

    /** {@code +text}: {@code text} must not contain CR or LF. */
    Resp simple(String text) {
        return line('+', text);
    }

    /** {@code -text}: CR and LF are replaced by spaces, as Redis does for errors that echo arguments. */
    Resp error(String text) {
        return line('-', text.replace('\r', ' ').replace('\n', ' '));
    }

    Resp integer(long value) {
        return line(':', Long.toString(value));
    }

    /** A bulk string. */
    Resp bulk(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.ISO_8859_1);
        line('$', Integer.toString(bytes.length));
        out.writeBytes(bytes);
        return crlf();
    }

    /** A number as a bulk string, as Sentinel writes its numeric fields ({@code addReplyBulkLongLong}). */
    Resp bulk(long value) {
        return bulk(Long.toString(value));
    }

    Resp nullBulk() {
        return line('$', "-1");
    }

    Resp array(int count) {
        return line('*', Integer.toString(count));
    }

    Resp nullArray() {
        return line('*', "-1");
    }

    /** A field and its value, as one pair of a RESP2 map (a flat array of 2n elements). */
    Resp field(String name, String value) {
        return bulk(name).bulk(value);
    }

    Resp field(String name, long value) {
        return bulk(name).bulk(value);
    }

    /** Appends bytes already in RESP form (another reply). */
    Resp raw(byte[] resp) {
        out.writeBytes(resp);
        return this;
    }

    byte[] toBytes() {
        return out.toByteArray();
    }

    private Resp line(char type, String text) {
        out.write(type);
        out.writeBytes(text.getBytes(StandardCharsets.ISO_8859_1));
        return crlf();
    }

    private Resp crlf() {
        out.write('\r');
        out.write('\n');
        return this;
    }
}
