package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;

/**
 * Encodes RESP error replies: {@code -ERR <message>\r\n}, or with another code, {@code -MASTERDOWN ...\r\n}.
 * As Redis does, CR and LF in the message become spaces, so a message can never break the framing of the
 * reply stream. Characters stand for bytes (ISO-8859-1, which keeps a byte that Redis quotes in its errors
 * as it was); a character above U+00FF becomes {@code ?}. Pure, safe from any thread.
 *
 * <p>For a reply sent often (MASTERDOWN, a refusal), encode it once and write
 * {@code Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(bytes))} or a retained duplicate of a cached
 * buffer, rather than encoding per request.
 */
public final class RespErrors {
    private RespErrors() {
    }

    /** {@code -ERR <message>\r\n}. */
    public static byte[] error(String message) {
        return error("ERR", message);
    }

    /**
     * {@code -<code> <message>\r\n}, e.g. {@code error("MASTERDOWN", "Link with MASTER is down")}.
     *
     * @param code one word, uppercase by convention ({@code ERR}, {@code MASTERDOWN}, {@code NOPROTO})
     */
    public static byte[] error(String code, String message) {
        if (code.isEmpty() || code.indexOf(' ') >= 0 || code.indexOf('\r') >= 0 || code.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("an error code is one word: '" + code + "'");
        }
        byte[] reply = new byte[1 + code.length() + 1 + message.length() + 2];
        int i = 0;
        reply[i++] = '-';
        i = put(code, reply, i);
        reply[i++] = ' ';
        i = put(message, reply, i);
        reply[i++] = '\r';
        reply[i] = '\n';
        return reply;
    }

    /** {@link #error(String, String)} in a buffer from {@code allocator}; the caller owns (releases) it. */
    public static ByteBuf error(ByteBufAllocator allocator, String code, String message) {
        byte[] reply = error(code, message);
        return allocator.buffer(reply.length).writeBytes(reply);
    }

    /** A shared, read-only buffer of a reply, for replies encoded once and written many times. */
    public static ByteBuf constant(byte[] reply) {
        return Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(reply).asReadOnly());
    }

    private static int put(String text, byte[] into, int at) {
        for (int j = 0; j < text.length(); j++) {
            char c = text.charAt(j);
            into[at++] = c == '\r' || c == '\n' ? (byte) ' ' : c > 0xff ? (byte) '?' : (byte) c;
        }
        return at;
    }
}
