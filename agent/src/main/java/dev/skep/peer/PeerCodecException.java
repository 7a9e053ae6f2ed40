package dev.skep.peer;

/**
 * A peer frame that {@link PeerCodec#decode} refused: malformed, truncated, of an unknown version or type,
 * or not authenticated. The message is written for an operator (it ends up in logs and in the rejected
 * count's reasons), e.g. {@code bad HMAC (wrong --peer-secret on the sender?)}.
 * Checked on purpose: every frame comes from the network, so every caller must decide what a bad one does
 * (the transport drops it and counts it).
 */
public final class PeerCodecException extends Exception {
    public PeerCodecException(String reason) {
        super(reason);
    }

    public PeerCodecException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
