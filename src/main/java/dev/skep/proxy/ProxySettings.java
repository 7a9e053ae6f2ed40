package dev.skep.proxy;

/**
 * Settings of the write and read ports.
 *
 * @param bindHost          local address both ports listen on
 * @param writePort         port whose sessions always reach the master of the current epoch
 * @param readPort          port whose sessions are spread over healthy replicas (0: no read port)
 * @param holdMs            how long a request waits for a master before {@code -MASTERDOWN}
 * @param maxClients        client connections accepted on both ports together; more are refused with
 *                          Redis's own error text
 * @param upstreamPassword  password the proxy's own (shared) upstream connections authenticate with, and
 *                          that clients must give with {@code AUTH} before anything else; empty for none
 * @param sharedPerLoop     shared upstream connections per event loop and redis
 */
public record ProxySettings(String bindHost, int writePort, int readPort, long holdMs, int maxClients,
                            String upstreamPassword, int sharedPerLoop) {
    /** Requests of one session waiting for their replies before the proxy stops reading that client. */
    static final int MAX_IN_FLIGHT = 1024;
}
