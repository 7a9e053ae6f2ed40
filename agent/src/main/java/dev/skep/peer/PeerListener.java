package dev.skep.peer;

import dev.skep.election.PeerMessage;
import dev.skep.topology.Endpoint;

/** Receiver of what arrives on the peer port ({@link PeerTransport}). */
public interface PeerListener {
    /**
     * A decoded, authenticated message. Called on a Netty event loop: the implementation must hand the
     * message off to its own thread (e.g. a queue of the control thread) and return at once; blocking
     * here would stall every connection of that loop.
     */
    void onMessage(PeerMessage msg);

    /**
     * A frame was dropped (and counted). Called on a Netty event loop, like {@link #onMessage}; may be
     * frequent when a peer is misconfigured, so log it rate-limited.
     *
     * @param reason        why, for an operator (e.g. "bad HMAC (...)")
     * @param remoteAddress the sender's {@code ip:port}
     */
    void onRejected(String reason, String remoteAddress);

    /**
     * A connection that {@code node} opened to us ended from its side (its agent's process ended, or it reconnected),
     * after at least one good message on it; not called when this node closed it. On a Netty event loop, like
     * {@link #onMessage}.
     */
    void onClosed(Endpoint node);
}
