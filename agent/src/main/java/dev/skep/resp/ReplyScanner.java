package dev.skep.resp;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Finds where each reply from Redis ends, by scanning bytes: RESP2 and RESP3, aggregates nested to any depth,
 * without building objects. Types: {@code + - : _ , # (} (one line), {@code $ ! =} (length-prefixed, with
 * {@code $-1} the RESP2 null), {@code * ~ >} (n elements, with {@code *-1} the RESP2 null), {@code %} (n
 * entries of 2 elements), {@code |} (an attribute: n entries of 2 elements that belong to the value after them,
 * so attribute and value are one reply). Streamed RESP3 strings and aggregates ({@code $?}, {@code *?}, ...)
 * are rejected: Redis 7.0 never sends them.
 *
 * <p>A RESP3 push ({@code >}, e.g. a tracking invalidation or a pub/sub message after HELLO 3) is not the reply
 * to any request: check {@link #isPush()} after each frame and forward pushes without matching them to a
 * request.
 *
 * <p>Used exactly like {@link RequestScanner} (same contract for {@link #scan}, {@link #NEED_MORE},
 * resuming, consuming and {@link #reset()}): one scanner per upstream connection, on that connection's event
 * loop thread only (not thread-safe). A large reply arriving in many chunks is scanned in one pass: the
 * scanner keeps its place, and skips over bulk data without reading it. A reply must fit in one buffer
 * (under 2 GB).
 */
public final class ReplyScanner {
    /** Returned by {@link #scan} while the next reply is not complete. */
    public static final int NEED_MORE = -1;

    private static final int LINE = 0;
    private static final int BULK_DATA = 1;

    // Where the scan of the current reply stands. Offsets count from buf.readerIndex().
    private int state = LINE;
    private int pos;          // start of the line or bulk being scanned; the frame so far is [0, pos)
    private int searchFrom;   // where the search for the current line's \r resumes
    private long bulkLength;
    private byte topType;     // type of the top-level value (attributes aside)
    /** Per open aggregate: the elements still to come, and whether it is an attribute. */
    private long[] left = new long[8];
    private boolean[] attribute = new boolean[8];
    private int depth;

    // The last complete reply, valid while `complete`.
    private boolean complete;
    private byte type;
    private RespProtocolException failure;
    /** The buffer being scanned, read without per-byte checks: every read is within {@code available}. */
    private final ScanView view = new ScanView();
    /** Unread bytes at the last NEED_MORE: fewer at the next call means the caller consumed some. */
    private int seen;

    /**
     * The length of the next complete reply at {@code buf.readerIndex()}, or {@link #NEED_MORE}. Does not
     * move the buffer's indices.
     *
     * @throws RespProtocolException the bytes are not RESP; the connection is unusable
     */
    public int scan(ByteBuf buf) {
        if (failure != null) {
            throw failure;
        }
        complete = false;
        int available = buf.readableBytes();
        if (available < seen) {
            throw new IllegalStateException("fewer unread bytes (" + available + ") than at the last call (" + seen
                    + "): consume a reply only after scan() returned its length, or call reset()");
        }
        view.attach(buf);
        try {
            int length = scan(buf, buf.readerIndex(), available);
            seen = length == NEED_MORE ? available : 0;
            return length;
        } catch (RespProtocolException e) {
            failure = e;
            throw e;
        }
    }

    /** Forgets the reply in progress (and a protocol error): the next scan starts at readerIndex(). */
    public void reset() {
        restart();
        seen = 0;
        complete = false;
        failure = null;
    }

    /**
     * After {@link #NEED_MORE}: how many bytes at the start of the reply in progress are already scanned and
     * may be passed on before the reply is complete (the lines and bulk data scanned so far; never the CRLF
     * that ends a bulk, which is checked when it arrives). 0 while the type of the reply is not known yet
     * ({@link #partialType()}). Lets a caller forward a large reply as it streams in rather than hold it whole.
     */
    public int partial() {
        if (complete || topType == 0) {
            return 0;
        }
        return state == BULK_DATA ? (int) Math.min(seen, pos + bulkLength) : pos;
    }

    /**
     * The type byte of the reply in progress ({@code '$'}, {@code '*'}, {@code '>'}...), once its first line is
     * scanned; 0 before (and while only an attribute has been read).
     */
    public byte partialType() {
        return complete ? 0 : topType;
    }

    /**
     * The caller consumed the first {@code n} bytes of the reply in progress ({@code n <= partial()}): the scan
     * goes on from where it was, and the length {@link #scan} returns for this reply is then what is left of it.
     */
    public void consumedPartial(int n) {
        if (n < 0 || n > partial()) {
            throw new IllegalArgumentException("consumed " + n + " bytes of a reply of which " + partial()
                    + " may be passed on");
        }
        pos -= n;
        searchFrom -= n;
        seen -= n;
    }

    /** True if the reply was a RESP3 push ({@code >}): not the answer to a request. */
    public boolean isPush() {
        requireComplete();
        return type == '>';
    }

    /** True if the reply was an error ({@code -} or RESP3 {@code !}). */
    public boolean isError() {
        requireComplete();
        return type == '-' || type == '!';
    }

    /** The type byte of the reply (of the value, when an attribute came first): {@code '+'}, {@code '*'}, ... */
    public byte type() {
        requireComplete();
        return type;
    }

    private int scan(ByteBuf buf, int base, int available) {
        while (true) {
            if (state == BULK_DATA) {
                long end = pos + bulkLength + 2;
                if (end > Integer.MAX_VALUE) {
                    throw new RespProtocolException("Protocol error: reply larger than 2 GB");
                }
                if (end > available) {
                    return NEED_MORE;
                }
                if (view.get(base + (int) end - 2) != '\r' || view.get(base + (int) end - 1) != '\n') {
                    throw new RespProtocolException("Protocol error: bulk reply of " + bulkLength
                            + " bytes not followed by CRLF");
                }
                pos = (int) end;
                state = LINE;
                searchFrom = pos;
                if (valueDone()) {
                    return complete();
                }
                continue;
            }
            if (searchFrom >= available) {
                return NEED_MORE;
            }
            int cr = view.indexOf(base + searchFrom, base + available, (byte) '\r');
            if (cr < 0) {
                searchFrom = available;
                return NEED_MORE;
            }
            cr -= base;
            searchFrom = cr; // found again at once if the \n is not there yet
            if (cr + 1 >= available) {
                return NEED_MORE;
            }
            if (view.get(base + cr + 1) != '\n') {
                throw new RespProtocolException("Protocol error: reply line not ended by CRLF");
            }
            byte lineType = view.get(base + pos);
            int from = base + pos + 1;
            pos = cr + 2;
            searchFrom = pos;
            if (depth == 0 && lineType != '|') {
                topType = lineType;
            }
            switch (lineType) {
                case '+', '-', ':', '_', ',', '#', '(' -> {
                    if (valueDone()) {
                        return complete();
                    }
                }
                case '$', '!', '=' -> {
                    long length = number(buf, view, from, base + cr, lineType);
                    if (length == -1) { // null bulk: only '$' gets here
                        if (valueDone()) {
                            return complete();
                        }
                    } else {
                        bulkLength = length;
                        state = BULK_DATA;
                    }
                }
                case '*', '~', '>', '%', '|' -> {
                    long count = number(buf, view, from, base + cr, lineType);
                    if (count <= 0) { // -1, the null array, only for '*'
                        if (lineType != '|' && valueDone()) {
                            return complete();
                        }
                    } else {
                        open(lineType == '%' || lineType == '|' ? 2 * count : count, lineType == '|');
                    }
                }
                default -> throw new RespProtocolException("Protocol error: unknown reply type '"
                        + printable(lineType) + "'");
            }
        }
    }

    /** The length or count of a line; -1 (null) allowed for '$' and '*' only. */
    private static long number(ByteBuf buf, ScanView view, int from, int to, byte lineType) {
        if (to - from == 1 && view.get(from) == '?') {
            throw new RespProtocolException("Protocol error: streamed RESP3 reply '" + (char) lineType
                    + "?' not supported");
        }
        long n = RespBytes.parseLong(view, from, to);
        boolean nullable = lineType == '$' || lineType == '*';
        if (n == RespBytes.INVALID || n > Integer.MAX_VALUE || n < (nullable ? -1 : 0)) {
            throw new RespProtocolException("Protocol error: invalid length in reply '" + (char) lineType
                    + buf.toString(from, Math.min(to - from, 32), StandardCharsets.ISO_8859_1)
                    + "'");
        }
        return n;
    }

    private void open(long elements, boolean isAttribute) {
        if (depth == left.length) {
            left = Arrays.copyOf(left, depth * 2);
            attribute = Arrays.copyOf(attribute, depth * 2);
        }
        left[depth] = elements;
        attribute[depth] = isAttribute;
        depth++;
    }

    /**
     * A value has ended: count it in its aggregate, closing every aggregate it completes.
     *
     * @return true if the value (or the aggregate it completed) is the whole reply
     */
    private boolean valueDone() {
        while (depth > 0) {
            if (--left[depth - 1] > 0) {
                return false;
            }
            depth--;
            if (attribute[depth]) {
                return false; // an attribute is not a value: the value it annotates comes next
            }
        }
        return true;
    }

    private int complete() {
        int length = pos;
        type = topType;
        restart();
        complete = true;
        return length;
    }

    private void restart() {
        state = LINE;
        pos = 0;
        searchFrom = 0;
        bulkLength = 0;
        depth = 0;
        topType = 0;
    }

    private void requireComplete() {
        if (!complete) {
            throw new IllegalStateException("no complete reply: scan() has not returned a length");
        }
    }

    private static String printable(byte b) {
        return b >= 0x20 && b < 0x7f ? String.valueOf((char) b) : String.format("\\x%02x", b & 0xff);
    }
}
