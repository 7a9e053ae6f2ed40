package dev.skep.tls;

/** A certificate, key or CA file that cannot be used; the message names the file and why. */
public final class TlsException extends Exception {
    private static final long serialVersionUID = 1L;

    public TlsException(String message, Throwable cause) {
        super(message, cause);
    }

    public TlsException(String message) {
        super(message);
    }
}
