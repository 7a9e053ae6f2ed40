package dev.skep.proxy;

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
     * Looks at a request about to be sent on the dedicated connection.
     *
     * @return the change to apply when its reply arrives, or null when it changes nothing
     */
    Change onRequest(List<byte[]> args) {
        String cmd = RequestArgs.upper(args, 0);
        switch (cmd) {
            case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR", "SYNC" -> raw = true;
            case "RESET" -> {
                // ends subscriptions, MONITOR and CLIENT REPLY OFF too: its +RESET is a reply again (a message
                // that was already on its way may be taken for it; it reaches the client in its order all the same)
                raw = false;
                return new Change(cmd, args);
            }
            case "CLIENT" -> {
                String sub = RequestArgs.upper(args, 1);
                if (sub.equals("REPLY") && !RequestArgs.upper(args, 2).equals("ON")) {
                    raw = true;
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
                if (RequestArgs.upper(a, 1).equals("SETNAME")) {
                    clientName = a.size() > 2 ? a.get(2) : null;
                } else {
                    tracking = RequestArgs.upper(a, 2).equals("ON");
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
            String opt = RequestArgs.upper(a, i);
            if (opt.equals("AUTH") && i + 2 < a.size()) {
                auth = List.of(a.get(i + 1), a.get(i + 2));
                i += 2;
            } else if (opt.equals("SETNAME") && i + 1 < a.size()) {
                clientName = a.get(i + 1);
                i += 1;
            }
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
            out.add(RequestArgs.encode(hello));
        } else if (!auth.isEmpty()) {
            List<byte[]> cmd = new ArrayList<>();
            cmd.add(bytes("AUTH"));
            cmd.addAll(auth);
            out.add(RequestArgs.encode(cmd));
        }
        if (db != 0) {
            out.add(RequestArgs.encode("SELECT", Integer.toString(db)));
        }
        if (clientName != null) {
            List<byte[]> cmd = new ArrayList<>(List.of(bytes("CLIENT"), bytes("SETNAME"), clientName));
            out.add(RequestArgs.encode(cmd));
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
