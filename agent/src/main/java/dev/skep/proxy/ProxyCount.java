package dev.skep.proxy;

/**
 * What the proxy counts, per port ({@link ProxyServer#count}). Counts only grow; they start at 0 when the
 * proxy starts.
 */
public enum ProxyCount {
    /** Client connections accepted (refused ones are {@link ProxyServer#refusedConnections()}). */
    CONNECTIONS,
    /** Requests forwarded over a shared upstream connection. */
    COMMANDS_SHARED,
    /** Requests forwarded over a session's dedicated upstream connection. */
    COMMANDS_DEDICATED,
    /** Requests the proxy answered itself ({@code QUIT}, {@code CLIENT SETINFO}, {@code AUTH} it checked). */
    COMMANDS_LOCAL,
    /** Requests answered {@code -MASTERDOWN} after waiting {@code --hold-ms} for a master. */
    ERRORS_MASTERDOWN,
    /** Requests in flight when their upstream went away (failover, redis died): their outcome is unknown. */
    ERRORS_FAILOVER,
    /** Writes the master ran but too few replicas confirmed in time ({@code -NOREPLICAS}, {@code --quorum}). */
    ERRORS_NOREPLICAS,
    /** Commands refused because they would break the hive ({@code REPLICAOF}, {@code SHUTDOWN}...). */
    ERRORS_REFUSED,
    /** Writes refused on the read port ({@code -READONLY}). */
    ERRORS_READONLY,
    /** Requests refused for want of {@code AUTH} ({@code -NOAUTH}, {@code -WRONGPASS}). */
    ERRORS_AUTH,
    /** Connections closed for malformed requests. */
    ERRORS_PROTOCOL,
    /** Write-port sessions that a change of master moved without an error (they continue on the new one). */
    SESSIONS_REATTACHED,
    /** Write-port sessions that lost requests in flight to a change of master or a dying redis. */
    SESSIONS_FAILED,
    /** Sessions closed because their state (transaction, subscription...) could not move to the new master. */
    SESSIONS_CLOSED,
    /**
     * Blocking requests a demoted master gave back without running them ({@code -UNBLOCKED}, {@code -READONLY})
     * and the proxy sent again to the new master.
     */
    RESENT,
    /** Times a session started waiting for a master (no master, or it could not be reached). */
    HOLDS,
    /** Client connections closed because the proxy held more of their replies than one client may have. */
    OVERLOAD_CLIENT,
    /** Client connections closed because all clients together held too much and this one held the most. */
    OVERLOAD_TOTAL;

    static final ProxyCount[] ALL = values();
}
