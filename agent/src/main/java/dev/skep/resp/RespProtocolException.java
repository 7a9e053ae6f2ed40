package dev.skep.resp;

/**
 * The bytes on a connection break the protocol; the stream cannot be resynchronised, so the connection must be
 * closed. For requests the message is exactly the text Redis 7.0 sends after {@code -ERR } before it closes
 * the connection (e.g. {@code Protocol error: invalid bulk length}): the proxy can answer
 * {@link #errorReply()} and close, as Redis would. Characters of the message stand for bytes (ISO-8859-1),
 * since Redis quotes the offending byte ({@code expected '$', got 'X'}).
 *
 * <p>Thrown on the thread that called the scanner. No stack trace: this is a condition of the input, not a
 * fault of the code, and it may be thrown by the thousand by a misbehaving client.
 */
public final class RespProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    // Redis 7.0's texts (networking.c), the ones the request scanner throws
    static final String INVALID_MULTIBULK_LENGTH = "Protocol error: invalid multibulk length";
    static final String INVALID_BULK_LENGTH = "Protocol error: invalid bulk length";
    static final String TOO_BIG_INLINE = "Protocol error: too big inline request";
    static final String TOO_BIG_MBULK_COUNT = "Protocol error: too big mbulk count string";
    static final String TOO_BIG_BULK_COUNT = "Protocol error: too big bulk count string";
    static final String UNBALANCED_QUOTES = "Protocol error: unbalanced quotes in request";
    static final String TOO_LARGE = "Protocol error: request larger than 2 GB, too large for the Skep proxy";

    public RespProtocolException(String message) {
        super(message, null, false, false);
    }

    /** Redis's {@code expected '$', got '%c'}; its error replies turn \r and \n into spaces. */
    static RespProtocolException expectedDollar(byte got) {
        char c = got == '\r' || got == '\n' ? ' ' : (char) (got & 0xff);
        return new RespProtocolException("Protocol error: expected '$', got '" + c + "'");
    }

    /** {@code -ERR <message>\r\n}. */
    public byte[] errorReply() {
        return RespWriter.error("ERR", getMessage());
    }
}
