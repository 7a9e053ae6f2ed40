package dev.skep.proxy;

import dev.skep.resp.RequestArguments;
import dev.skep.resp.RespWriter;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The connection state of one client session on a dedicated upstream connection, as far as the proxy must
 * know it to move the session to another master (replay) or to know it cannot be moved (pinned). Pure: no
 * I/O; one instance per session, used on that session's event loop only.
 *
 * <p>A request is looked at before it is sent ({@link #onRequest}); what it changes is applied when its
 * reply comes back and is not an error ({@link #apply}), so a refused {@code SELECT 99} changes nothing.
 * Commands after which replies no longer answer requests one for one (subscribe, MONITOR, CLIENT REPLY
 * OFF|SKIP) make the session <em>raw</em> at once: from then on replies are forwarded without matching.
 */
final class SessionState {
    /** A state change carried by a request, applied when its reply arrives. */
    record Change(String command, List<byte[]> args) {}

    private int db;
    private List<byte[]> auth = List.of();
    private byte[] clientName;
    private int protocol = 2;
    private boolean inMulti;
    private boolean watching;
    private boolean tracking;
    private boolean raw;
    /**
     * Raw for something other than subscriptions (MONITOR, CLIENT REPLY OFF|SKIP, SYNC): such a session cannot move
     * to another master. A session raw only because it subscribed can: its subscriptions are made again there.
     */
    private boolean rawOtherwise;
    /** The channels, patterns and shard channels subscribed to, as sent (ISO-8859-1: the bytes as they are). */
    private final java.util.Set<String> channels = new java.util.LinkedHashSet<>();
    private final java.util.Set<String> patterns = new java.util.LinkedHashSet<>();
    private final java.util.Set<String> shardChannels = new java.util.LinkedHashSet<>();

    /**
     * Looks at a request about to be sent on the dedicated connection.
     *
     * @return the change to apply when its reply arrives, or null when it changes nothing
     */
    Change onRequest(List<byte[]> args) {
        String cmd = RequestArguments.upper(args, 0);
        switch (cmd) {
            case "SUBSCRIBE" -> subscribe(channels, args, true);
            case "PSUBSCRIBE" -> subscribe(patterns, args, true);
            case "SSUBSCRIBE" -> subscribe(shardChannels, args, true);
            case "UNSUBSCRIBE" -> subscribe(channels, args, false);
            case "PUNSUBSCRIBE" -> subscribe(patterns, args, false);
            case "SUNSUBSCRIBE" -> subscribe(shardChannels, args, false);
            case "MONITOR", "SYNC" -> {
                raw = true;
                rawOtherwise = true;
            }
            case "RESET" -> {
                // ends subscriptions, MONITOR and CLIENT REPLY OFF too: its +RESET is a reply again (a message
                // that was already on its way may be taken for it; it reaches the client in its order all the same)
                raw = false;
                rawOtherwise = false;
                channels.clear();
                patterns.clear();
                shardChannels.clear();
                return new Change(cmd, args);
            }
            case "CLIENT" -> {
                String sub = RequestArguments.upper(args, 1);
                if (sub.equals("REPLY") && !RequestArguments.upper(args, 2).equals("ON")) {
                    raw = true;
                    rawOtherwise = true;
                } else if (sub.equals("SETNAME") || sub.equals("TRACKING")) {
                    return new Change(cmd, args);
                }
            }
            case "SELECT", "AUTH", "HELLO", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH" -> {
                return new Change(cmd, args);
            }
            default -> {
            }
        }
        return null;
    }

    /** Applies {@code change} now that its reply arrived; {@code error} when the reply was an error. */
    void apply(Change change, boolean error) {
        List<byte[]> a = change.args();
        switch (change.command()) {
            case "EXEC", "DISCARD" -> { // end the transaction even when they fail (EXECABORT)
                inMulti = false;
                watching = false;
                return;
            }
            default -> {
            }
        }
        if (error) {
            return;
        }
        switch (change.command()) {
            case "SELECT" -> db = Integer.parseInt(new String(a.get(1), StandardCharsets.US_ASCII));
            case "AUTH" -> auth = List.copyOf(a.subList(1, a.size()));
            case "MULTI" -> inMulti = true;
            case "WATCH" -> watching = true;
            case "UNWATCH" -> watching = false;
            case "CLIENT" -> {
                if (RequestArguments.upper(a, 1).equals("SETNAME")) {
                    clientName = a.size() > 2 ? a.get(2) : null;
                } else {
                    tracking = RequestArguments.upper(a, 2).equals("ON");
                }
            }
            case "HELLO" -> applyHello(a);
            case "RESET" -> {
                db = 0;
                auth = List.of();
                clientName = null;
                protocol = 2;
                inMulti = false;
                watching = false;
                tracking = false;
            }
            default -> {
            }
        }
    }

    private void applyHello(List<byte[]> a) {
        if (a.size() > 1) {
            protocol = Integer.parseInt(new String(a.get(1), StandardCharsets.US_ASCII));
        }
        for (int i = 2; i < a.size(); i++) {
            String opt = RequestArguments.upper(a, i);
            if (opt.equals("AUTH") && i + 2 < a.size()) {
                auth = List.of(a.get(i + 1), a.get(i + 2));
                i += 2;
            } else if (opt.equals("SETNAME") && i + 1 < a.size()) {
                clientName = a.get(i + 1);
                i += 1;
            }
        }
    }

    private void subscribe(java.util.Set<String> set, List<byte[]> args, boolean add) {
        if (add) {
            raw = true;
            for (int i = 1; i < args.size(); i++) {
                set.add(new String(args.get(i), StandardCharsets.ISO_8859_1));
            }
        } else if (args.size() == 1) {
            set.clear();
        } else {
            for (int i = 1; i < args.size(); i++) {
                set.remove(new String(args.get(i), StandardCharsets.ISO_8859_1));
            }
        }
    }

    /**
     * True when the session is raw only because it subscribed (no transaction, WATCH, tracking, MONITOR, replies
     * off): it can move to another master by subscribing there again ({@link #resubscribe}).
     */
    boolean onlySubscribed() {
        return raw && !rawOtherwise && !inMulti && !watching && !tracking;
    }

    /** The requests that subscribe a new connection to what this session is subscribed to (after {@link #replay}). */
    List<byte[]> resubscribe() {
        List<byte[]> out = new ArrayList<>();
        addSubscribe(out, "SUBSCRIBE", channels);
        addSubscribe(out, "PSUBSCRIBE", patterns);
        addSubscribe(out, "SSUBSCRIBE", shardChannels);
        return out;
    }

    /** How many confirmations {@link #resubscribe} brings back: one per channel, pattern and shard channel. */
    int subscriptions() {
        return channels.size() + patterns.size() + shardChannels.size();
    }

    private static void addSubscribe(List<byte[]> out, String command, java.util.Set<String> names) {
        if (!names.isEmpty()) {
            List<byte[]> cmd = new ArrayList<>();
            cmd.add(bytes(command));
            for (String n : names) {
                cmd.add(n.getBytes(StandardCharsets.ISO_8859_1));
            }
            out.add(RespWriter.request(cmd));
        }
    }

    /** True when the session cannot be moved to another master without the client noticing. */
    boolean pinned() {
        return inMulti || watching || tracking || raw;
    }

    /** True once replies stopped answering requests one for one. */
    boolean raw() {
        return raw;
    }

    /** What to send on a new upstream connection, in order, so that it behaves as the old one did. */
    List<byte[]> replay() {
        List<byte[]> out = new ArrayList<>();
        if (protocol != 2) {
            List<byte[]> hello = new ArrayList<>();
            hello.add(bytes("HELLO"));
            hello.add(bytes(Integer.toString(protocol)));
            if (!auth.isEmpty()) {
                hello.add(bytes("AUTH"));
                hello.add(auth.size() == 2 ? auth.get(0) : bytes("default"));
                hello.add(auth.get(auth.size() - 1));
            }
            out.add(RespWriter.request(hello));
        } else if (!auth.isEmpty()) {
            List<byte[]> cmd = new ArrayList<>();
            cmd.add(bytes("AUTH"));
            cmd.addAll(auth);
            out.add(RespWriter.request(cmd));
        }
        if (db != 0) {
            out.add(RespWriter.request("SELECT", Integer.toString(db)));
        }
        if (clientName != null) {
            List<byte[]> cmd = new ArrayList<>(List.of(bytes("CLIENT"), bytes("SETNAME"), clientName));
            out.add(RespWriter.request(cmd));
        }
        return out;
    }

    int db() {
        return db;
    }

    int protocol() {
        return protocol;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
