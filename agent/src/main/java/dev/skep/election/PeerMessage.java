package dev.skep.election;

/**
 * What nodes send each other over the peer port. Versioned on the wire by {@link PeerCodec}.
 * Every message is a full {@link NodeStatus} today (heartbeats, proposals and leader announcements are
 * the same record in different states), which makes a lost message harmless: the next one says it all.
 */
public sealed interface PeerMessage permits NodeStatus {}
