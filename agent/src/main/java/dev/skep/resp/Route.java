package dev.skep.resp;

/** Where the proxy may send a request, decided by {@link CommandTable} (see its table for each command). */
public enum Route {
    /**
     * Connection-stateless: may be pipelined over an upstream connection shared with other sessions; the
     * reply is the same whichever connection carries it (as long as that connection is in db 0, as the
     * default user, in RESP2, with nothing pinned: the state of a plain session).
     */
    SHARED,
    /**
     * Changes or depends on the state of its connection, or blocks it: the session must move to an upstream
     * connection of its own. Unknown commands are dedicated.
     */
    DEDICATED,
    /** Never forwarded: the proxy answers it with the error text of the request's refusal. */
    REFUSED
}
