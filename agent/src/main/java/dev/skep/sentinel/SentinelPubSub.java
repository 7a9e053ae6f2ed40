package dev.skep.sentinel;

import dev.skep.resp.RespWriter;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code SUBSCRIBE}, {@code PSUBSCRIBE}, {@code UNSUBSCRIBE}, {@code PUNSUBSCRIBE} and the delivery of
 * events to subscribers, in RESP2 as Redis writes them. Pure; works on one client's {@link SentinelSession}
 * on that client's event loop.
 */
final class SentinelPubSub {
    private static final Set<String> ALLOWED_WHILE_SUBSCRIBED =
            Set.of("subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ping", "quit");

    static boolean allowedWhileSubscribed(String command) {
        return ALLOWED_WHILE_SUBSCRIBED.contains(command);
    }

    private SentinelPubSub() {}

    /** One of the four commands; the arity is checked already. */
    static void execute(String command, List<String> argv, SentinelSession session, RespWriter r) {
        List<String> names = argv.subList(1, argv.size());
        switch (command) {
            case "subscribe" -> subscribe("subscribe", names, session.channels, session, r);
            case "psubscribe" -> subscribe("psubscribe", names, session.patterns, session, r);
            case "unsubscribe" -> unsubscribe("unsubscribe", names, session.channels, session, r);
            case "punsubscribe" -> unsubscribe("punsubscribe", names, session.patterns, session, r);
            default -> throw new IllegalArgumentException("not a subscribe command: " + command);
        }
    }

    private static void subscribe(String kind, List<String> names, Set<String> into, SentinelSession session, RespWriter r) {
        for (String name : names) {
            into.add(name);
            r.array(3).bulk(kind).bulk(name).integer(session.subscriptions());
        }
    }

    /** With no name: from everything subscribed (in order), or one reply with a null name when nothing is. */
    private static void unsubscribe(String kind, List<String> names, Set<String> from, SentinelSession session,
                                    RespWriter r) {
        List<String> which = names.isEmpty() ? new ArrayList<>(from) : names;
        if (which.isEmpty()) {
            r.array(3).bulk(kind).nullBulk().integer(session.subscriptions());
            return;
        }
        for (String name : which) {
            from.remove(name);
            r.array(3).bulk(kind).bulk(name).integer(session.subscriptions());
        }
    }

    /**
     * The messages {@code event} makes for this client: {@code message} if it subscribed to the channel, one
     * {@code pmessage} per pattern that matches it. Empty when none.
     */
    static byte[] deliver(SentinelSession session, SentinelEvent event) {
        RespWriter r = new RespWriter();
        if (session.channels.contains(event.channel())) {
            r.array(3).bulk("message").bulk(event.channel()).bulk(event.message());
        }
        for (String pattern : session.patterns) {
            if (Glob.matches(pattern, event.channel())) {
                r.array(4).bulk("pmessage").bulk(pattern).bulk(event.channel()).bulk(event.message());
            }
        }
        return r.toBytes();
    }
}
