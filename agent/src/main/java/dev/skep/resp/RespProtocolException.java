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

    public RespProtocolException(String message) {
        super(message, null, false, false);
    }

    /** {@code -ERR <message>\r\n}. */
    public byte[] errorReply() {
        return RespWriter.error("ERR", getMessage());
    }
}
