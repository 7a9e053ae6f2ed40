package dev.skep.sentinel;

import dev.skep.resp.RespWriter;

import java.util.List;
import java.util.Locale;

/**
 * What clients send when they connect: {@code HELLO} and {@code CLIENT ...}, answered as Sentinel 7 does.
 * Pure; called on the client's event loop through {@link SentinelCommands}.
 */
final class ConnectionCommands {
    private ConnectionCommands() {}

    /**
     * {@code HELLO [protover [AUTH user pass] [SETNAME name]]}. Only RESP2 is spoken: {@code HELLO 3} gets
     * {@code -NOPROTO}, like a server without RESP3, and clients (Lettuce, redis-py, Jedis) fall back to RESP2.
     */
    static void hello(List<String> argv, SentinelSession session, RespWriter r) {
        if (argv.size() >= 2) {
            long version;
            try {
                version = Long.parseLong(argv.get(1));
            } catch (NumberFormatException e) {
                r.error("ERR Protocol version is not an integer or out of range");
                return;
            }
            if (version != 2) {
                r.error("NOPROTO unsupported protocol version");
                return;
            }
        }
        String name = null;
        for (int i = 2; i < argv.size(); i++) {
            String option = argv.get(i).toLowerCase(Locale.ROOT);
            int more = argv.size() - 1 - i;
            if (option.equals("auth") && more >= 2) {
                if (!argv.get(i + 1).equals("default")) {
                    r.error("WRONGPASS invalid username-password pair or user is disabled.");
                    return;
                }
                i += 2;
            } else if (option.equals("setname") && more >= 1) {
                name = argv.get(++i);
                if (!validName(name)) {
                    r.error("ERR Client names cannot contain spaces, newlines or special characters.");
                    return;
                }
            } else {
                r.error("ERR Syntax error in HELLO option '" + argv.get(i) + "'");
                return;
            }
        }
        if (name != null) {
            session.name = name;
        }
        r.array(12)
                .bulk("server").bulk("redis")
                .bulk("version").bulk(SentinelSettings.REDIS_VERSION)
                .bulk("proto").integer(2)
                .bulk("id").integer(session.id)
                .bulk("mode").bulk("sentinel")
                .bulk("modules").array(0);
    }

    /** {@code CLIENT SETNAME|GETNAME|SETINFO|ID|INFO|NO-EVICT|KILL}; the arity is checked already. */
    static void client(List<String> argv, SentinelSession session, RespWriter r) {
        switch (argv.get(1).toLowerCase(Locale.ROOT)) {
            case "setname" -> {
                if (validName(argv.get(2))) {
                    session.name = argv.get(2);
                    r.simple("OK");
                } else {
                    r.error("ERR Client names cannot contain spaces, newlines or special characters.");
                }
            }
            case "getname" -> {
                if (session.name.isEmpty()) {
                    r.nullBulk();
                } else {
                    r.bulk(session.name);
                }
            }
            case "setinfo" -> setInfo(argv.get(2), argv.get(3), session, r);
            case "id" -> r.integer(session.id);
            case "info" -> r.bulk("id=" + session.id + " name=" + session.name + " sub=" + session.channels.size()
                    + " psub=" + session.patterns.size() + " user=default lib-name=" + session.libName
                    + " lib-ver=" + session.libVersion + " resp=2\n");
            case "no-evict" -> {
                String mode = argv.get(2).toLowerCase(Locale.ROOT);
                if (mode.equals("on") || mode.equals("off")) {
                    r.simple("OK");
                } else {
                    r.error("ERR syntax error");
                }
            }
            case "kill" -> r.error("ERR No such client"); // one client may not end another's connection here
            default -> throw new IllegalStateException("CLIENT subcommand without a handler: " + argv.get(1));
        }
    }

    /** {@code CLIENT SETINFO LIB-NAME|LIB-VER value}, which Jedis and Lettuce send on every connection (Redis 7.2). */
    private static void setInfo(String attribute, String value, SentinelSession session, RespWriter r) {
        String attr = attribute.toLowerCase(Locale.ROOT);
        if (!attr.equals("lib-name") && !attr.equals("lib-ver")) {
            r.error("ERR Unrecognized option '" + attribute + "'");
        } else if (!validName(value)) {
            r.error("ERR " + attr + " cannot contain spaces, newlines or special characters.");
        } else {
            if (attr.equals("lib-name")) {
                session.libName = value;
            } else {
                session.libVersion = value;
            }
            r.simple("OK");
        }
    }

    /** Redis's rule for client names: printable ASCII without spaces ({@code '!'..'~'}); empty clears the name. */
    private static boolean validName(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < '!' || c > '~') {
                return false;
            }
        }
        return true;
    }
}
