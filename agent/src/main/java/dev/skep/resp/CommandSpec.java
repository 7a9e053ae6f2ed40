package dev.skep.resp;

/**
 * One line of the {@link CommandTable}: a Redis command, or a subcommand of a container command. Immutable.
 *
 * @param name      lowercase, Redis's own naming: {@code get}, {@code client|setname}; empty for
 *                  {@link CommandTable#UNKNOWN}
 * @param route     the route of the command itself; for a request, use {@link RequestScanner#route()},
 *                  which also looks at the arguments (CONFIG SET parameters)
 * @param write     Redis 7.0's {@code write} flag: the command may modify data (the read port rejects it)
 * @param readOnly  Redis 7.0's {@code readonly} flag: the command only reads data
 * @param blocking  the command may block its connection ({@code blocking} flag, and WAIT)
 * @param container the command has subcommands in the table (CLIENT, CONFIG, DEBUG, SCRIPT, ...)
 * @param refusal   for {@link Route#REFUSED}, the error text to send after {@code -ERR } (see
 *                  {@link RespWriter#error(String, String)}), e.g. {@code REPLICAOF is not allowed through the Skep
 *                  proxy: the hive manages replication}; null otherwise
 */
public record CommandSpec(String name, Route route, boolean write, boolean readOnly, boolean blocking,
                          boolean container, String refusal) {
    public CommandSpec {
        if ((route == Route.REFUSED) != (refusal != null)) {
            throw new IllegalArgumentException("refusal text for refused commands only: " + name);
        }
    }

    /** False only for {@link CommandTable#UNKNOWN}. */
    public boolean known() {
        return !name.isEmpty();
    }
}
