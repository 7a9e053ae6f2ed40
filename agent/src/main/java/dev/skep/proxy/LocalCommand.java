package dev.skep.proxy;

import dev.skep.resp.RequestArguments;

import java.util.List;

/**
 * The commands a session treats apart from forwarding them as they are, and which treatment one gets: decided from
 * its arguments and the session's situation alone (pure: ClientSessionTest checks each through a session). Anything
 * else that is not on the shared allowlist goes to redis over the session's dedicated connection.
 */
enum LocalCommand {
    /** QUIT on a dedicated connection: redis answers and closes its end before the client hears +OK. */
    QUIT_THROUGH_REDIS,
    /** QUIT answered by the proxy: +OK, and nothing pipelined after it runs. */
    QUIT,
    /** SYNC under --quorum majority: refused (redis's WAIT would count the SYNC replica as holding every write). */
    SYNC_REFUSED,
    /** SYNC: the connection becomes a replica link, once every reply before it is in. */
    SYNC,
    /** CLIENT SETINFO on the shared path: it only labels the connection, answered +OK here. */
    CLIENT_SETINFO,
    /**
     * CLIENT CAPA (Valkey 8), on any path: +OK here, never passed to redis. With the "redirect" capability a Valkey
     * replica answers -REDIRECT with the primary's address, which would send a read-port client around the proxy;
     * the proxy routes for its clients, so they need no redirect.
     */
    CLIENT_CAPA,
    /** AUTH password on the shared path: checked by the proxy, so the session can stay there. */
    AUTH,
    /**
     * AUTH user password (or AUTH password where the proxy knows no password: redis's default user) on the shared
     * path: checked against redis; the session stays on the shared path, on connections authenticated as that user.
     */
    AUTH_CHECK,
    /** HELLO 3 AUTH user password on the shared path: checked as AUTH_CHECK, then as HELLO_3. */
    HELLO_3_AUTH,
    /** HELLO 3 on the shared path: the session moves to the shared connections that speak RESP3. */
    HELLO_3,
    /** None of these: to the dedicated connection. */
    NONE;

    /** Where a session stands when one of its requests is decided. */
    record Situation(boolean dedicatedMode, boolean canQuitThroughRedis, boolean passwordSet, boolean mayUseShared,
                     boolean refuseSync) {}

    /** The treatment of the request {@code args} (upper-cased command first) in {@code s}. */
    static LocalCommand of(List<byte[]> args, Situation s) {
        String cmd = RequestArguments.upper(args, 0);
        switch (cmd) {
            case "QUIT":
                return s.dedicatedMode() && s.canQuitThroughRedis() ? QUIT_THROUGH_REDIS : QUIT;
            case "SYNC":
                return s.refuseSync() ? SYNC_REFUSED : SYNC;
            case "CLIENT":
                String sub = RequestArguments.upper(args, 1);
                if (sub.equals("CAPA") && args.size() >= 3) {
                    return CLIENT_CAPA; // (without a capability: redis's own arity error)
                }
                return !s.dedicatedMode() && sub.equals("SETINFO") ? CLIENT_SETINFO : NONE;
            case "AUTH":
                if (s.dedicatedMode() || args.size() < 2 || args.size() > 3) {
                    return NONE;
                }
                return args.size() == 2 && s.passwordSet() ? AUTH : AUTH_CHECK;
            case "HELLO":
                if (s.dedicatedMode() || !RequestArguments.upper(args, 1).equals("3")) {
                    return NONE;
                }
                if (args.size() == 5 && RequestArguments.upper(args, 2).equals("AUTH")) {
                    return HELLO_3_AUTH; // what Lettuce and redis-py send first when given a user
                }
                return s.mayUseShared() && args.size() == 2 ? HELLO_3 : NONE;
            default:
                return NONE;
        }
    }
}
