package dev.skep.redis;

/**
 * Redis answered a command with an error reply ({@code -ERR ...}, {@code -NOAUTH ...}, {@code -WRONGPASS ...}).
 * The connection is still in a good state: the reply was read completely, so the next command can be sent.
 * Unchecked, because a redis that refuses a command is a different failure from a redis that cannot be
 * reached ({@link java.io.IOException}), and callers usually handle the two differently.
 */
public final class RedisErrorReply extends RuntimeException {
    private final String error;

    /** @param error the text of the reply, without the leading {@code -} and the line end */
    public RedisErrorReply(String error) {
        super(error);
        this.error = error;
    }

    /** The text of the error reply, e.g. {@code ERR unknown command 'FOO'}. */
    public String error() {
        return error;
    }

    /** The first word of the error, e.g. {@code ERR}, {@code NOAUTH}, {@code WRONGPASS}, {@code LOADING}. */
    public String code() {
        int space = error.indexOf(' ');
        return space < 0 ? error : error.substring(0, space);
    }
}
