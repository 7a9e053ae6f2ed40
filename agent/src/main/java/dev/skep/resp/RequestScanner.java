package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.util.ByteProcessor;

import static dev.skep.resp.RespProtocolException.*;

/**
 * Finds where each request of a client ends, and which command it is, by scanning bytes: no object per
 * argument, no copy of the request. Frames exactly as Redis 7.0 does ({@code processMultibulkBuffer} and
 * {@code processInlineBuffer} of networking.c), so the proxy and Redis always agree on where a request ends:
 * multibulk ({@code *N\r\n$len\r\narg\r\n...}) and inline requests (words on a line ending with \n or \r\n,
 * quotes as in {@link InlineTokenizer}), with the same limits and the same error texts.
 *
 * <h2>How to use it</h2>
 * One scanner per client connection, used only by that connection's event loop thread (not thread-safe).
 * <pre>{@code
 * int length;
 * while ((length = scanner.scan(in)) != RequestScanner.NEED_MORE) {
 *     Route route = scanner.route();              // and command(), argumentCount(), isWrite(), ...
 *     ByteBuf request = in.readRetainedSlice(length);
 *     ...
 * }
 * // NEED_MORE: keep the bytes, append what arrives next, call scan() again
 * }</pre>
 * <ul>
 *   <li>{@link #scan} reads {@code buf} from {@code readerIndex()} to {@code writerIndex()} and never moves
 *       either index. It returns the length of the next complete request, or {@link #NEED_MORE}.
 *   <li>After {@code NEED_MORE} the scanner keeps its place, so a 100 MB request arriving in a thousand chunks
 *       is scanned once, not a thousand times. The next call must see the same unread bytes, followed by
 *       any that arrived since: the caller may append to the buffer, or copy the unread bytes to another
 *       buffer (offsets are counted from {@code readerIndex()}), but must not consume or change them (a call
 *       that sees fewer unread bytes than the last one throws IllegalStateException). To throw the input
 *       away instead, call {@link #reset()}.
 *   <li>After a length, the accessors describe that request until the next call to {@code scan}, and the
 *       next call starts a new request at {@code readerIndex()}. So the caller consumes exactly {@code length}
 *       bytes before calling again; if it does not, it is given the same request again (nothing is lost).
 *   <li>Lines that Redis skips without a reply (an empty or blank inline line, {@code *0}, {@code *-1}) are not
 *       requests of their own: they are included at the start of the next request's length
 *       ({@link #skippedBytes()}), so every length returned is one request that gets exactly one reply. A
 *       client that sends more than 64 KB of such lines with no request gets "too big inline request".
 *   <li>A {@link RespProtocolException} means the client broke the protocol: answer
 *       {@link RespProtocolException#errorReply()} after the replies of the requests before it, and close the
 *       connection, as Redis does. The scanner then keeps throwing the same exception until {@link #reset()}.
 * </ul>
 *
 * <h2>Where it differs from Redis on purpose</h2>
 * Redis checks its 64 KB line limits against whatever it happened to read; the scanner checks them against
 * the line alone (a line is too big when its first 64 KB + 1 bytes hold no line end), so the outcome does not
 * depend on how the bytes were split. Redis's checks for unauthenticated clients are not made here (the
 * upstream connection that carries the request is authenticated).
 */
public final class RequestScanner {
    /** Returned by {@link #scan} while the next request is not complete. */
    public static final int NEED_MORE = -1;

    private static final int START = 0;
    private static final int COUNT_LINE = 1;
    private static final int BULK_LINE = 2;
    private static final int BULK_DATA = 3;
    private static final int INLINE_LINE = 4;

    // Redis finds line ends with strchr(), which stops at a NUL byte: a NUL before the end means "no end yet".
    private static final ByteProcessor FIND_CR_OR_NUL = b -> b != '\r' && b != 0;
    private static final ByteProcessor FIND_LF_OR_NUL = b -> b != '\n' && b != 0;

    private final RequestLimits limits;
    private final ArgumentCapture capture = new ArgumentCapture();
    /** The buffer being scanned, read without per-byte checks: every read is within {@code available}. */
    private final ScanView view = new ScanView();
    /** Multibulk: where the first two arguments are, from the start of the request. */
    private final int[] argumentOffsets = new int[ArgumentCapture.KEPT];
    private final int[] argumentLengths = new int[ArgumentCapture.KEPT];

    // Where the scan of the current request stands. Offsets count from buf.readerIndex().
    private int state = START;
    private int pos;            // start of the line or bulk being scanned; the frame so far is [0, pos)
    private int searchFrom;     // where the search for the current line's end resumes
    private int lineEndAt = -1; // the current line's end, once found
    private boolean stalled;    // a NUL came before the line end
    private int requestStart;   // bytes of skipped lines before the request
    private int argumentCount;
    private long argumentsLeft;
    private long bulkLength;
    private boolean inline;

    // The last complete request, valid while `complete`.
    private boolean complete;
    private int skippedBytes;
    private CommandSpec command;
    private final java.util.Map<String, String> hiveValues;
    private Route route;
    private String refusal;
    private RespProtocolException failure;
    /** Unread bytes at the last NEED_MORE: fewer at the next call means the caller consumed some. */
    private int seen;

    /** Returned by the fast path when the state machine must frame the request. */
    private static final int SLOW = -2;
    /** The offset of the \r of the line the fast path parsed last. */
    private int headerEnd;

    /** A scanner with Redis 7.0's default limits. */
    public RequestScanner() {
        this(RequestLimits.REDIS_DEFAULTS);
    }

    public RequestScanner(RequestLimits limits) {
        this(limits, CommandTable.hiveValues(""));
    }

    /** {@code hiveValues}: what the hive keeps for the CONFIG parameters it owns (CONFIG SET to others is refused). */
    public RequestScanner(RequestLimits limits, java.util.Map<String, String> hiveValues) {
        this.limits = limits;
        this.hiveValues = hiveValues;
    }

    /**
     * The length of the next complete request at {@code buf.readerIndex()}, or {@link #NEED_MORE}. Does not
     * move the buffer's indices. See the class comment for the contract between calls.
     *
     * @throws RespProtocolException the client broke the protocol (message as Redis 7.0 words it)
     */
    public int scan(ByteBuf buf) {
        if (failure != null) {
            throw failure;
        }
        complete = false;
        int available = buf.readableBytes();
        if (available < seen) {
            throw new IllegalStateException("fewer unread bytes (" + available + ") than at the last call (" + seen
                    + "): consume a request only after scan() returned its length, or call reset()");
        }
        view.attach(buf);
        try {
            int length = SLOW;
            if (state == START && pos == 0) {
                length = fastMultibulk(buf, buf.readerIndex(), available);
            }
            if (length == SLOW) {
                length = scan(buf, buf.readerIndex(), available);
            }
            seen = length == NEED_MORE ? available : 0;
            return length;
        } catch (RespProtocolException e) {
            failure = e;
            throw e;
        }
    }

    /** Forgets the request in progress (and a protocol error): the next scan starts at readerIndex(). */
    public void reset() {
        restart();
        seen = 0;
        complete = false;
        failure = null;
    }

    /** The number of arguments of the request, command name included (at least 1). */
    public int argumentCount() {
        requireComplete();
        return argumentCount;
    }

    /** True if the request was an inline line rather than multibulk. */
    public boolean isInline() {
        requireComplete();
        return inline;
    }

    /**
     * How many bytes at the start of the request are lines Redis skips (empty inline lines, {@code *0},
     * {@code *-1}). Forwarding them is harmless; the caller may also drop them.
     */
    public int skippedBytes() {
        requireComplete();
        return skippedBytes;
    }

    /**
     * The table line of the request: its subcommand's line for a container (CLIENT SETNAME gives
     * {@code client|setname}), {@link CommandTable#UNKNOWN} for an unknown command. Never null.
     */
    public CommandSpec command() {
        requireComplete();
        return command;
    }

    /**
     * Where the request may go. The command's route, except for CONFIG SET of a replication parameter, which
     * is {@link Route#REFUSED}; always decide by this rather than by {@code command().route()}.
     */
    public Route route() {
        requireComplete();
        return route;
    }

    /** The error text (after {@code -ERR }) to answer a {@link Route#REFUSED} request with; null otherwise. */
    public String refusal() {
        requireComplete();
        return refusal;
    }

    /** Redis 7.0's write flag of the command (or subcommand): the read port rejects these. */
    public boolean isWrite() {
        requireComplete();
        return command.write();
    }

    /**
     * Whether argument {@code index} (0 is the command, 1 the first argument; no others are kept) is
     * {@code name}, ignoring ASCII case; false for an index beyond the request. No allocation.
     *
     * @param request the bytes of the request from its first byte at {@code readerIndex()}: the buffer given
     *                to {@link #scan} before the request is consumed, or the slice of the request
     * @param name    at most 48 characters: an inline argument is kept decoded (from its quotes) only that far
     */
    public boolean argumentEqualsIgnoreCase(ByteBuf request, int index, String name) {
        requireComplete();
        if (index < 0 || index >= ArgumentCapture.KEPT) {
            throw new IllegalArgumentException("only arguments 0 and 1 are kept: " + index);
        }
        if (index >= argumentCount) {
            return false;
        }
        if (inline) {
            return capture.equalsIgnoreCase(index, name);
        }
        int length = argumentLengths[index];
        if (length != name.length()) {
            return false;
        }
        int from = request.readerIndex() + argumentOffsets[index];
        for (int i = 0; i < length; i++) {
            char c = name.charAt(i);
            if (c > 0xff || RespBytes.lower(request.getByte(from + i)) != RespBytes.lower((byte) c)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The common case in one pass: a multibulk request that is all there, with plain decimal lengths. It parses
     * each {@code $N} line as it finds its end, where the state machine first looks for the line end (with
     * {@code forEachByte}, costly for lines of a few bytes), then parses. It accepts only what the state machine
     * frames the same way without an error: anything else (a request not all there yet, a leading zero, a
     * sign, a NUL, a limit reached) returns {@link #SLOW} having changed nothing the state machine relies on,
     * and the state machine starts the request over; so a request is read at most twice, and Redis's rules
     * stay in one place.
     */
    private int fastMultibulk(ByteBuf buf, int base, int available) {
        long count = header(buf, base, available, 0, (byte) '*');
        if (count <= 0 || count > limits.maxArguments()) {
            return SLOW; // *0 is a skipped line, and too many arguments an error: the state machine's business
        }
        int p = headerEnd + 2;
        for (long index = 0; index < count; index++) {
            long length = header(buf, base, available, p, (byte) '$');
            if (length < 0 || length > limits.maxBulkLength()) {
                return SLOW;
            }
            int data = headerEnd + 2;
            long end = data + length + 2;
            if (end > available) {
                return SLOW;
            }
            if (index < ArgumentCapture.KEPT) {
                int i = (int) index;
                argumentOffsets[i] = data;
                argumentLengths[i] = (int) length;
                if (i == 0 || capture.command().container()) {
                    capture.bulk(i, view, base + data, (int) length);
                }
            }
            p = (int) end;
        }
        argumentCount = (int) count;
        inline = false;
        pos = p;
        return complete(buf, base);
    }

    /**
     * The value of the {@code type} line ({@code *N} or {@code $N}) at offset {@code from}: N when it is 0 or a
     * decimal number with no leading zero, of at most 18 digits, whose \r and the byte after it are there and
     * within the line limit; -1 otherwise. Leaves the offset of the \r in {@link #headerEnd}.
     */
    private long header(ByteBuf buf, int base, int available, int from, byte type) {
        if (from + 1 >= available || view.get(base + from) != type) {
            return -1;
        }
        int digits = from + 1;
        int end = Math.min(available - 1, digits + 19); // the byte after \r must be there too
        long value = 0;
        int i = digits;
        for (; i < end; i++) {
            byte b = view.get(base + i);
            if (b == '\r') {
                break;
            }
            if (b < '0' || b > '9' || (value == 0 && i > digits)) {
                return -1; // not a digit, or one after a leading zero
            }
            value = value * 10 + (b - '0');
        }
        if (i == end || i == digits || i - digits > 18 || i - from > limits.maxInlineLength()) {
            return -1;
        }
        headerEnd = i;
        return value;
    }

    private int scan(ByteBuf buf, int base, int available) {
        while (true) {
            switch (state) {
                case START -> {
                    if (pos == available) {
                        return NEED_MORE;
                    }
                    state = view.get(base + pos) == '*' ? COUNT_LINE : INLINE_LINE;
                    startLine();
                }
                case COUNT_LINE -> {
                    int cr = lineEnd(buf, base, available, FIND_CR_OR_NUL, true, TOO_BIG_MBULK_COUNT);
                    if (cr < 0) {
                        return NEED_MORE;
                    }
                    long count = RespBytes.parseLong(view, base + pos + 1, base + cr);
                    if (count == RespBytes.INVALID || count > limits.maxArguments()) {
                        throw new RespProtocolException(INVALID_MULTIBULK_LENGTH);
                    }
                    pos = cr + 2; // the byte after \r is not checked, as in Redis
                    if (count <= 0) {
                        skipped();
                    } else {
                        argumentCount = (int) count;
                        argumentsLeft = count;
                        inline = false;
                        state = BULK_LINE;
                        startLine();
                    }
                }
                case BULK_LINE -> {
                    int cr = lineEnd(buf, base, available, FIND_CR_OR_NUL, true, TOO_BIG_BULK_COUNT);
                    if (cr < 0) {
                        return NEED_MORE;
                    }
                    byte first = view.get(base + pos);
                    if (first != '$') {
                        throw expectedDollar(first);
                    }
                    long length = RespBytes.parseLong(view, base + pos + 1, base + cr);
                    if (length < 0 || length > limits.maxBulkLength()) { // INVALID is negative too
                        throw new RespProtocolException(INVALID_BULK_LENGTH);
                    }
                    bulkLength = length;
                    pos = cr + 2;
                    state = BULK_DATA;
                }
                case BULK_DATA -> {
                    long end = pos + bulkLength + 2; // the 2 bytes after the data are not checked, as in Redis
                    if (end > Integer.MAX_VALUE) {
                        throw new RespProtocolException(TOO_LARGE);
                    }
                    if (end > available) {
                        return NEED_MORE;
                    }
                    long index = argumentCount - argumentsLeft;
                    if (index < ArgumentCapture.KEPT) {
                        argumentOffsets[(int) index] = pos;
                        argumentLengths[(int) index] = (int) bulkLength;
                        if (index == 0 || capture.command().container()) {
                            capture.bulk((int) index, view, base + pos, (int) bulkLength);
                        }
                    }
                    pos = (int) end;
                    if (--argumentsLeft == 0) {
                        return complete(buf, base);
                    }
                    state = BULK_LINE;
                    startLine();
                }
                case INLINE_LINE -> {
                    int lf = lineEnd(buf, base, available, FIND_LF_OR_NUL, false, TOO_BIG_INLINE);
                    if (lf < 0) {
                        return NEED_MORE;
                    }
                    int end = lf > pos && buf.getByte(base + lf - 1) == '\r' ? lf - 1 : lf;
                    int count = InlineTokenizer.tokenize(buf, base + pos, base + end, capture);
                    if (count == InlineTokenizer.UNBALANCED) {
                        throw new RespProtocolException(UNBALANCED_QUOTES);
                    }
                    pos = lf + 1;
                    if (count == 0) {
                        skipped();
                    } else {
                        argumentCount = count;
                        inline = true;
                        return complete(buf, base);
                    }
                }
                default -> throw new IllegalStateException("state " + state);
            }
        }
    }

    /**
     * The offset of the end of the line at {@link #pos}: of its \r (once a byte after it is there too, as
     * Redis requires) or of its \n; -1 until then.
     *
     * @throws RespProtocolException {@code tooBig} once more than maxInlineLength bytes are buffered from the
     *     line start and none of the first maxInlineLength + 1 of them ends the line
     */
    private int lineEnd(ByteBuf buf, int base, int available, ByteProcessor finder, boolean crlf, String tooBig) {
        int limit = limits.maxInlineLength();
        if (lineEndAt < 0 && !stalled) {
            int searchEnd = (int) Math.min(available, (long) pos + limit + 1);
            if (searchFrom < searchEnd) {
                int found = buf.forEachByte(base + searchFrom, searchEnd - searchFrom, finder);
                if (found < 0) {
                    searchFrom = searchEnd;
                } else if (buf.getByte(found) == 0) {
                    stalled = true;
                } else {
                    lineEndAt = found - base;
                }
            }
        }
        if (lineEndAt >= 0) {
            return !crlf || lineEndAt + 1 < available ? lineEndAt : NEED_MORE;
        }
        if (available - pos > limit) {
            throw new RespProtocolException(tooBig);
        }
        return NEED_MORE;
    }

    private void startLine() {
        searchFrom = pos;
        lineEndAt = -1;
        stalled = false;
    }

    /** A line Redis skips without a reply: it joins the next request. */
    private void skipped() {
        requestStart = pos;
        if (requestStart > limits.maxInlineLength()) {
            throw new RespProtocolException(TOO_BIG_INLINE);
        }
        state = START;
    }

    private int complete(ByteBuf buf, int base) {
        CommandSpec spec = capture.resolve(argumentCount);
        command = spec;
        route = spec.route();
        refusal = spec.refusal();
        if (spec == CommandTable.CONFIG_SET && argumentCount > 2) {
            // Rare and cold: decode the whole request to look at every parameter it sets.
            String configRefusal = CommandTable.configSetRefusal(
                    RequestArguments.decode(buf, base + requestStart, pos - requestStart), hiveValues);
            if (configRefusal != null) {
                route = Route.REFUSED;
                refusal = configRefusal;
            }
        }
        skippedBytes = requestStart;
        int length = pos;
        restart();
        complete = true;
        return length;
    }

    private void restart() {
        state = START;
        pos = 0;
        searchFrom = 0;
        lineEndAt = -1;
        stalled = false;
        requestStart = 0;
        argumentsLeft = 0;
        bulkLength = 0;
    }

    private void requireComplete() {
        if (!complete) {
            throw new IllegalStateException("no complete request: scan() has not returned a length");
        }
    }
}
