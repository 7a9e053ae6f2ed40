package dev.skep.resp;

import io.netty.buffer.ByteBuf;

/**
 * Splits the line of an inline request into arguments exactly as Redis's sdssplitargs() does, so that the
 * proxy counts and names the arguments Redis will see: blanks (isspace) separate words; "double quotes"
 * take the escapes \xHH \n \r \t \b \a and \<any>; 'single quotes' take \' only; a closing quote must be
 * followed by a blank or the end of the line; a quote may open in the middle of a word ({@code a"b c"} is
 * one word, {@code ab c}). An unquoted word ends at space, \t, \r or \n only, so \v and \f inside a word are
 * part of it (while isspace skips them between words), as in Redis.
 *
 * <p>The line never holds a NUL byte (the scanner treats a NUL before the line end as Redis does: the line
 * never ends), so the end of the range plays the part of C's terminating NUL. Pure, no state, any thread.
 */
final class InlineTokenizer {
    /** Receives the decoded bytes of each argument, in order. */
    interface Sink {
        /** A new argument starts; {@code index} counts from 0. */
        void begin(int index);

        /** The next decoded byte of the current argument. */
        void append(byte b);
    }

    /** Returned by {@link #tokenize} for a line Redis rejects with "unbalanced quotes in request". */
    static final int UNBALANCED = -1;

    private InlineTokenizer() {
    }

    /**
     * Splits [from, to) of {@code buf} (absolute indices, line end excluded).
     *
     * @return the number of arguments, or {@link #UNBALANCED}
     */
    static int tokenize(ByteBuf buf, int from, int to, Sink sink) {
        int p = from;
        int count = 0;
        while (true) {
            while (p < to && RespBytes.isSpace(buf.getByte(p))) {
                p++;
            }
            if (p == to) {
                return count;
            }
            sink.begin(count++);
            boolean inDouble = false;
            boolean inSingle = false;
            boolean done = false;
            while (!done) {
                byte c = p < to ? buf.getByte(p) : 0;
                if (inDouble) {
                    if (c == '\\' && p + 3 < to && buf.getByte(p + 1) == 'x'
                            && isHex(buf.getByte(p + 2)) && isHex(buf.getByte(p + 3))) {
                        sink.append((byte) (hex(buf.getByte(p + 2)) * 16 + hex(buf.getByte(p + 3))));
                        p += 3;
                    } else if (c == '\\' && p + 1 < to) {
                        p++;
                        sink.append(unescape(buf.getByte(p)));
                    } else if (c == '"') {
                        if (p + 1 < to && !RespBytes.isSpace(buf.getByte(p + 1))) {
                            return UNBALANCED; // closing quote must be followed by a blank or the end
                        }
                        done = true;
                    } else if (p == to) {
                        return UNBALANCED;
                    } else {
                        sink.append(c);
                    }
                } else if (inSingle) {
                    if (c == '\\' && p + 1 < to && buf.getByte(p + 1) == '\'') {
                        p++;
                        sink.append((byte) '\'');
                    } else if (c == '\'') {
                        if (p + 1 < to && !RespBytes.isSpace(buf.getByte(p + 1))) {
                            return UNBALANCED;
                        }
                        done = true;
                    } else if (p == to) {
                        return UNBALANCED;
                    } else {
                        sink.append(c);
                    }
                } else if (p == to || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                    done = true;
                } else if (c == '"') {
                    inDouble = true;
                } else if (c == '\'') {
                    inSingle = true;
                } else {
                    sink.append(c);
                }
                if (p < to) {
                    p++;
                }
            }
        }
    }

    private static byte unescape(byte c) {
        switch (c) {
            case 'n':
                return '\n';
            case 'r':
                return '\r';
            case 't':
                return '\t';
            case 'b':
                return '\b';
            case 'a':
                return 7;
            default:
                return c;
        }
    }

    private static boolean isHex(byte b) {
        return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
    }

    private static int hex(byte b) {
        if (b <= '9') {
            return b - '0';
        }
        return (b | 0x20) - 'a' + 10;
    }
}
