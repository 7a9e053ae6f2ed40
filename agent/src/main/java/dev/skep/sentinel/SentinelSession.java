package dev.skep.sentinel;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The state of one client connection: its id and name, and its subscriptions. Owned by that connection's
 * event loop (its {@link SentinelHandler}); changed only by {@link SentinelCommands}.
 */
final class SentinelSession {
    final long id;
    String name = "";
    String libName = "";
    String libVersion = "";
    /** Channels and patterns in subscription order (UNSUBSCRIBE with no argument answers in this order). */
    final Set<String> channels = new LinkedHashSet<>();
    final Set<String> patterns = new LinkedHashSet<>();
    /** Set by QUIT: the connection is closed once the reply is written. */
    boolean closeAfterReply;

    SentinelSession(long id) {
        this.id = id;
    }

    /** In RESP2's subscribed context: only (un)subscribe commands, PING and QUIT are allowed. */
    boolean subscribed() {
        return !channels.isEmpty() || !patterns.isEmpty();
    }

    int subscriptions() {
        return channels.size() + patterns.size();
    }
}
