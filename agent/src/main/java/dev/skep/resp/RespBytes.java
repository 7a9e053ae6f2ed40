package dev.skep.resp;

import io.netty.buffer.ByteBuf;

/**
 * Byte-level helpers shared by the scanners, the command table and the argument decoder. Pure static
 * functions, safe from any thread.
 */
final class RespBytes {
    /** Returned by {@link #parseLong} for text that is not a number by Redis's rules. */
    static final long INVALID = Long.MIN_VALUE;

    /** Redis's LONG_STR_SIZE: a number of 21 characters or more is rejected before it is read. */
    private static final int LONG_STR_SIZE = 21;

    private RespBytes() {
    }

    /** ASCII lowercase, as Redis's strcasecmp in the C locale: other bytes are left alone. */
    static byte lower(byte b) {
        return b >= 'A' && b <= 'Z' ? (byte) (b + ('a' - 'A')) : b;
    }

    /** C's isspace() in the C locale: space, \t, \n, \v, \f, \r. */
    static boolean isSpace(byte b) {
        return b == ' ' || (b >= '\t' && b <= '\r');
    }

    /**
     * Reads the bytes [from, to) as a signed 64-bit integer with exactly the rules of Redis's string2ll():
     * optional '-', then digits with no leading zero (except "0" itself), no '+', no spaces, fewer than 21
     * characters, no overflow. "-0" is not a number.
     *
     * @return the value, or {@link #INVALID}; the one valid text whose value is Long.MIN_VALUE comes back as
     *     Long.MIN_VALUE + 1, which every caller treats the same way (a negative count or length)
     */
    static long parseLong(ByteBuf buf, int from, int to) {
        return parseLong(ScanView.of(buf), from, to);
    }

    /** {@link #parseLong(ByteBuf, int, int)} of the bytes of a view, which must be readable. */
    static long parseLong(ScanView buf, int from, int to) {
        int length = to - from;
        if (length == 0 || length >= LONG_STR_SIZE) {
            return INVALID;
        }
        int i = from;
        byte c = buf.get(i++);
        boolean negative = c == '-';
        if (negative) {
            if (i == to) {
                return INVALID;
            }
            c = buf.get(i++);
        }
        if (c < '1' || c > '9') {
            return c == '0' && length == 1 ? 0 : INVALID;
        }
        // Accumulate negatively, so that Long.MIN_VALUE is reachable without overflow (as Long.parseLong does).
        long limit = negative ? Long.MIN_VALUE : -Long.MAX_VALUE;
        long multiplyMin = limit / 10;
        long result = -(c - '0');
        for (; i < to; i++) {
            c = buf.get(i);
            if (c < '0' || c > '9' || result < multiplyMin) {
                return INVALID;
            }
            result *= 10;
            int digit = c - '0';
            if (result < limit + digit) {
                return INVALID;
            }
            result -= digit;
        }
        if (!negative) {
            return -result;
        }
        return result == Long.MIN_VALUE ? Long.MIN_VALUE + 1 : result;
    }
}
