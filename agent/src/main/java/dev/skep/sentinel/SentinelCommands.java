package dev.skep.sentinel;

import dev.skep.resp.RespWriter;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Answers one command of a client of the Sentinel-compatible endpoint: the bytes Redis Sentinel 7.0 would
 * write for it (RESP2), given the {@link SentinelView} of the moment. Pure and byte-exact testable: no
 * sockets, no clock (the time is passed in), no threads; the only state it changes is the client's
 * {@link SentinelSession}. Called on the client's event loop.
 *
 * <p>Commands: {@code PING}, {@code AUTH}, {@code HELLO} (protocol 2; {@code HELLO 3} answers
 * {@code -NOPROTO}, after which clients fall back to RESP2), {@code CLIENT} (SETNAME, GETNAME, SETINFO, ID,
 * INFO, NO-EVICT, KILL), {@code INFO}, {@code ROLE}, {@code SENTINEL}, {@code (P)SUBSCRIBE},
 * {@code (P)UNSUBSCRIBE}, {@code PUBLISH}, {@code QUIT}. {@code SENTINEL} subcommands that would change the
 * configuration, and {@code SHUTDOWN}, are refused with an error saying why.
 */
final class SentinelCommands {
    /** Top-level commands and their Redis arity (negative: at least that many arguments, command included). */
    private static final Map<String, Integer> COMMANDS = Map.ofEntries(
            Map.entry("ping", -1), Map.entry("auth", -2), Map.entry("hello", -1), Map.entry("client", -2),
            Map.entry("info", -1), Map.entry("role", 1), Map.entry("sentinel", -2), Map.entry("subscribe", -2),
            Map.entry("psubscribe", -2), Map.entry("unsubscribe", -1), Map.entry("punsubscribe", -1),
            Map.entry("publish", 3), Map.entry("shutdown", -1), Map.entry("quit", -1));
    private static final Map<String, Integer> SENTINEL_SUBCOMMANDS = Map.ofEntries(
            Map.entry("get-master-addr-by-name", 3), Map.entry("master", 3), Map.entry("masters", 2),
            Map.entry("get-primary-addr-by-name", 3), Map.entry("primary", 3), Map.entry("primaries", 2),
            Map.entry("is-primary-down-by-addr", 6),
            Map.entry("replicas", 3), Map.entry("slaves", 3), Map.entry("sentinels", 3), Map.entry("myid", 2),
            Map.entry("ckquorum", 3), Map.entry("is-master-down-by-addr", 6), Map.entry("failover", 3),
            Map.entry("config", -3), Map.entry("pending-scripts", 2), Map.entry("help", 2),
            Map.entry("info-cache", -3), Map.entry("debug", -2), Map.entry("simulate-failure", -3),
            Map.entry("monitor", 6), Map.entry("remove", 3), Map.entry("reset", 3), Map.entry("set", -3),
            Map.entry("flushconfig", 2));
    private static final Map<String, Integer> CLIENT_SUBCOMMANDS = Map.ofEntries(
            Map.entry("setname", 3), Map.entry("getname", 2), Map.entry("setinfo", 4), Map.entry("id", 2),
            Map.entry("info", 2), Map.entry("no-evict", 3), Map.entry("kill", -3));
    private static final String NO_SUCH_MASTER = "ERR No such master with that name";

    /** What a command needs to know besides its arguments: the view, the time, the number of clients. */
    record Context(SentinelView view, long now, int connectedClients) {}

    private final SentinelSettings settings;

    SentinelCommands(SentinelSettings settings) {
        this.settings = settings;
    }

    /** The reply to {@code argv} (command and arguments); empty for an empty command, as Redis ignores it. */
    byte[] execute(List<String> argv, SentinelSession session, Context ctx) {
        RespWriter r = new RespWriter();
        if (!argv.isEmpty()) {
            dispatch(argv, session, ctx, r);
        }
        return r.toBytes();
    }

    private void dispatch(List<String> argv, SentinelSession session, Context ctx, RespWriter r) {
        String name = argv.get(0).toLowerCase(Locale.ROOT);
        Integer arity = COMMANDS.get(name);
        if (arity == null) {
            r.error(unknownCommand(argv));
            return;
        }
        String fullName = name;
        Map<String, Integer> subcommands = name.equals("sentinel") ? SENTINEL_SUBCOMMANDS
                : name.equals("client") ? CLIENT_SUBCOMMANDS : null;
        if (subcommands != null && argv.size() >= 2) {
            String sub = argv.get(1).toLowerCase(Locale.ROOT);
            Integer subArity = subcommands.get(sub);
            if (subArity == null) {
                r.error("ERR unknown subcommand '" + truncate(argv.get(1)) + "'. Try " + name.toUpperCase(Locale.ROOT)
                        + " HELP.");
                return;
            }
            arity = subArity;
            fullName = name + "|" + sub;
        }
        if (!arityOk(arity, argv.size())) {
            r.error("ERR wrong number of arguments for '" + fullName + "' command");
            return;
        }
        if (session.subscribed() && !SentinelPubSub.allowedWhileSubscribed(name)) {
            r.error("ERR Can't execute '" + fullName + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                    + "RESET are allowed in this context");
            return;
        }
        switch (name) {
            case "ping" -> ping(argv, session, r);
            case "auth" -> auth(argv, r);
            case "hello" -> ConnectionCommands.hello(argv, session, r);
            case "client" -> ConnectionCommands.client(argv, session, r);
            case "info" -> SentinelReplies.info(r, argv.subList(1, argv.size()), settings, ctx.view(), ctx.now(),
                    ctx.connectedClients());
            case "role" -> role(ctx.view(), r);
            case "sentinel" -> sentinel(argv, ctx, r);
            case "subscribe", "psubscribe", "unsubscribe", "punsubscribe" -> SentinelPubSub.execute(name, argv, session, r);
            case "publish" -> publish(argv, r);
            case "shutdown" -> r.error("ERR SHUTDOWN refused: this is Skep's Sentinel-compatible endpoint; stop the "
                    + "Skep agent itself instead");
            case "quit" -> {
                session.closeAfterReply = true;
                r.simple("OK");
            }
            default -> throw new IllegalStateException("command in the table without a handler: " + name);
        }
    }

    private static boolean arityOk(int arity, int argc) {
        return arity > 0 ? argc == arity : argc >= -arity;
    }

    private static void ping(List<String> argv, SentinelSession session, RespWriter r) {
        if (argv.size() > 2) {
            r.error("ERR wrong number of arguments for 'ping' command");
        } else if (session.subscribed()) {
            r.array(2).bulk("pong").bulk(argv.size() == 2 ? argv.get(1) : "");
        } else if (argv.size() == 2) {
            r.bulk(argv.get(1));
        } else {
            r.simple("PONG");
        }
    }

    /**
     * AUTH as on a Sentinel without {@code requirepass}: the default user takes any password, a password alone
     * is an error that says none is configured, and other users do not exist.
     */
    static void auth(List<String> argv, RespWriter r) {
        if (argv.size() == 2) {
            r.error("ERR AUTH <password> called without any password configured for the default user. "
                    + "Are you sure your configuration is correct?");
        } else if (argv.size() > 3) {
            r.error("ERR syntax error");
        } else if (argv.get(1).equals("default")) {
            r.simple("OK");
        } else {
            r.error("WRONGPASS invalid username-password pair or user is disabled.");
        }
    }

    private void role(SentinelView view, RespWriter r) {
        r.array(2).bulk("sentinel");
        if (view.knowsMaster()) {
            r.array(1).bulk(settings.masterName());
        } else {
            r.array(0);
        }
    }

    private static void publish(List<String> argv, RespWriter r) {
        if (argv.get(1).equals("__sentinel__:hello")) {
            r.integer(1); // another Sentinel's hello: accepted and ignored (Skep nodes find each other themselves)
        } else {
            r.error("ERR Only HELLO messages are accepted by Sentinel instances.");
        }
    }

    private void sentinel(List<String> argv, Context ctx, RespWriter r) {
        String sub = argv.get(1).toLowerCase(Locale.ROOT);
        SentinelView view = ctx.view();
        boolean ours = argv.size() > 2 && view.knowsMaster() && argv.get(2).equals(settings.masterName());
        // Valkey 8's Sentinel names the master "primary" and keeps the old names: both are answered, alike
        switch (sub) {
            case "get-master-addr-by-name", "get-primary-addr-by-name" -> {
                if (ours) {
                    r.array(2).bulk(view.master().address().host()).bulk(view.master().address().port());
                } else {
                    r.nullArray();
                }
            }
            case "master", "primary" -> ifOurs(ours, r, () -> SentinelReplies.master(r, settings, view, ctx.now()));
            case "masters", "primaries" -> {
                r.array(view.knowsMaster() ? 1 : 0);
                if (view.knowsMaster()) {
                    SentinelReplies.master(r, settings, view, ctx.now());
                }
            }
            case "replicas", "slaves" -> ifOurs(ours, r, () -> SentinelReplies.replicas(r, settings, view, ctx.now()));
            case "sentinels" -> ifOurs(ours, r, () -> r.array(0));
            case "myid" -> r.bulk(settings.myId());
            case "ckquorum" -> ifOurs(ours, r, () -> SentinelReplies.ckquorum(r));
            case "is-master-down-by-addr", "is-primary-down-by-addr" -> isMasterDownByAddr(argv, view, r);
            case "failover" -> ifOurs(ours, r, () -> r.error("ERR SENTINEL FAILOVER is not served on this port: run "
                    + "`skep failover` (or POST /api/failover on the admin port) for a graceful handover that loses "
                    + "no acknowledged write. Skep fails over on its own when the master's redis fails."));
            case "config" -> config(argv, r);
            case "pending-scripts" -> r.array(0);
            case "help" -> help(r);
            case "info-cache", "debug" -> r.error("ERR SENTINEL " + sub.toUpperCase(Locale.ROOT)
                    + " is not supported by Skep's Sentinel-compatible endpoint");
            default -> refuse("SENTINEL " + sub.toUpperCase(Locale.ROOT), r); // monitor, remove, set, reset, ...
        }
    }

    private static void ifOurs(boolean ours, RespWriter r, Runnable reply) {
        if (ours) {
            reply.run();
        } else {
            r.error(NO_SUCH_MASTER);
        }
    }

    /**
     * Asked by another Sentinel. Skep votes for no one (leader {@code *}, epoch 0); the master is reported down
     * when it is this endpoint's master and it is down.
     */
    private static void isMasterDownByAddr(List<String> argv, SentinelView view, RespWriter r) {
        long port;
        try {
            port = Long.parseLong(argv.get(3));
            Long.parseLong(argv.get(4));
        } catch (NumberFormatException e) {
            r.error("ERR value is not an integer or out of range");
            return;
        }
        SentinelView.Instance m = view.master();
        boolean down = m != null && m.down() && m.address().host().equals(argv.get(2)) && m.address().port() == port;
        r.array(3).integer(down ? 1 : 0).bulk("*").integer(0);
    }

    private static void config(List<String> argv, RespWriter r) {
        String op = argv.get(2).toLowerCase(Locale.ROOT);
        if (op.equals("get") && argv.size() == 4) {
            SentinelReplies.configGet(r, argv.get(3));
        } else if (op.equals("set") && argv.size() == 5) {
            refuse("SENTINEL CONFIG SET", r);
        } else {
            r.error("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.");
        }
    }

    private static void refuse(String what, RespWriter r) {
        r.error("ERR " + what + " refused: Skep's Sentinel-compatible endpoint takes its configuration from the "
                + "agent (--master-name, --peers), not from clients");
    }

    private static void help(RespWriter r) {
        List<String> lines = List.of(
                "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CKQUORUM <master-name>",
                "    Check if the current Sentinel configuration is able to reach the quorum",
                "    needed to failover a master and the majority needed to authorize the",
                "    failover.",
                "CONFIG GET <param>",
                "    Get global Sentinel configuration parameter.",
                "GET-MASTER-ADDR-BY-NAME <master-name>",
                "    Return the ip and port number of the master with that name.",
                "GET-PRIMARY-ADDR-BY-NAME <primary-name>",
                "    The same (Valkey's name).",
                "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
                "    Check if the master specified by ip:port is down from current Sentinel's",
                "    point of view.",
                "IS-PRIMARY-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
                "    The same (Valkey's name).",
                "MASTER <master-name>",
                "    Show the state and info of the specified master.",
                "MASTERS",
                "    Show a list of monitored masters and their state.",
                "PRIMARY <primary-name>, PRIMARIES",
                "    The same (Valkey's names).",
                "MYID",
                "    Return the ID of the Sentinel instance.",
                "PENDING-SCRIPTS",
                "    Get pending scripts information.",
                "REPLICAS <master-name>",
                "    Show a list of replicas for this master and their state.",
                "SENTINELS <master-name>",
                "    Show a list of Sentinel instances for this master and their state.",
                "HELP",
                "    Print this help.");
        r.array(lines.size());
        lines.forEach(line -> r.simple(line));
    }

    /** Redis's message for a command it does not know, arguments echoed up to about 128 characters. */
    private static String unknownCommand(List<String> argv) {
        StringBuilder args = new StringBuilder();
        for (int i = 1; i < argv.size() && args.length() < 128; i++) {
            String a = argv.get(i);
            args.append('\'').append(a, 0, Math.min(a.length(), 128 - args.length())).append("' ");
        }
        return "ERR unknown command '" + truncate(argv.get(0)) + "', with args beginning with: " + args;
    }

    private static String truncate(String s) {
        return s.length() <= 128 ? s : s.substring(0, 128);
    }

    /** The bytes a subscriber of {@code session} gets for {@code event}: empty when it is not subscribed to it. */
    static byte[] deliver(SentinelSession session, SentinelEvent event) {
        return SentinelPubSub.deliver(session, event);
    }
}
