package dev.skep.resp;

/**
 * The limits a {@link RequestScanner} enforces, named after the Redis settings they mirror. Beyond a limit the
 * scanner throws the same protocol error Redis would.
 *
 * @param maxBulkLength    {@code proto-max-bulk-len}: the longest argument of a multibulk request
 * @param maxArguments     the most arguments of a multibulk request; Redis 7.0 accepts up to
 *                         {@link Integer#MAX_VALUE} (older versions stopped at 1024*1024)
 * @param maxInlineLength  {@code PROTO_INLINE_MAX_SIZE} (not configurable in Redis): the longest inline
 *                         request line, and the longest {@code *N} / {@code $N} header line, without its end
 */
public record RequestLimits(long maxBulkLength, int maxArguments, int maxInlineLength) {
    /** Redis 7.0's defaults: 512 MB bulks, {@code Integer.MAX_VALUE} arguments, 64 KB lines. */
    public static final RequestLimits REDIS_DEFAULTS = new RequestLimits(512L * 1024 * 1024, Integer.MAX_VALUE,
            64 * 1024);

    public RequestLimits {
        if (maxBulkLength < 0 || maxArguments < 1 || maxInlineLength < 1) {
            throw new IllegalArgumentException("limits must be positive: " + maxBulkLength + ", "
                    + maxArguments + ", " + maxInlineLength);
        }
    }

    /** These limits with another {@code proto-max-bulk-len}. */
    public RequestLimits withMaxBulkLength(long bytes) {
        return new RequestLimits(bytes, maxArguments, maxInlineLength);
    }

    /** These limits with another maximum number of arguments per request. */
    public RequestLimits withMaxArguments(int count) {
        return new RequestLimits(maxBulkLength, count, maxInlineLength);
    }
}
