package dev.skep.proxy;

import io.netty.util.internal.PlatformDependent;

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
 * @param clientHeldLimit   bytes of replies the proxy holds for one client that has not taken them (its
 *                          connection's outbound buffer) before it closes that connection, as redis closes a
 *                          client over its {@code client-output-buffer-limit}
 * @param heldLimit         the same for all clients together, shared evenly by the event loops: past it, the
 *                          client holding the most is closed, as with redis's {@code maxmemory-clients}
 * @param closeOnUnknown    a client whose request was in flight when its master went away (the outcome is
 *                          unknown) sees its connection closed, after the replies owed before it, as clients of a
 *                          demoted master see under Sentinel ({@code --unknown-outcome close}, the default); false:
 *                          it gets an error reply and keeps its connection ({@code --unknown-outcome error})
 * @param refuseSync        {@code SYNC} is refused ({@code --quorum majority}): redis counts a SYNC replica as
 *                          having every write ({@code WAIT}), which would confirm writes no majority holds
 */
public record ProxySettings(String bindHost, int writePort, int readPort, long holdMs, int maxClients,
                            String upstreamPassword, int sharedPerLoop, long clientHeldLimit, long heldLimit,
                            boolean closeOnUnknown, boolean refuseSync) {
    /** Requests of one session waiting for their replies before the proxy stops reading that client. */
    static final int MAX_IN_FLIGHT = 1024;

    /**
     * Default of {@link #clientHeldLimit}: what redis allows a pub/sub client before it may close it (8 MB
     * soft limit). A client that reads gets far less held for it (see {@code ClientSession}); only one that
     * stops reading while a shared connection brings it replies, or reads much slower than they come, gets
     * near it.
     */
    public static final long CLIENT_HELD_LIMIT = 8L << 20;

    public ProxySettings {
        if (clientHeldLimit <= 0 || heldLimit <= 0) {
            throw new IllegalArgumentException("limits of held bytes must be positive: " + clientHeldLimit
                    + ", " + heldLimit);
        }
    }

    /** The settings with connections closed on an unknown outcome ({@code --unknown-outcome close}). */
    public ProxySettings(String bindHost, int writePort, int readPort, long holdMs, int maxClients,
                         String upstreamPassword, int sharedPerLoop, long clientHeldLimit, long heldLimit) {
        this(bindHost, writePort, readPort, holdMs, maxClients, upstreamPassword, sharedPerLoop, clientHeldLimit,
                heldLimit, true, false);
    }

    /** The settings with the default limits of held bytes ({@link #CLIENT_HELD_LIMIT}, {@link #defaultHeldLimit()}). */
    public ProxySettings(String bindHost, int writePort, int readPort, long holdMs, int maxClients,
                         String upstreamPassword, int sharedPerLoop) {
        this(bindHost, writePort, readPort, holdMs, maxClients, upstreamPassword, sharedPerLoop,
                CLIENT_HELD_LIMIT, defaultHeldLimit());
    }

    /** These settings with {@link #closeOnUnknown} as given. */
    public ProxySettings withCloseOnUnknown(boolean close) {
        return new ProxySettings(bindHost, writePort, readPort, holdMs, maxClients, upstreamPassword, sharedPerLoop,
                clientHeldLimit, heldLimit, close, refuseSync);
    }

    /** These settings with {@link #refuseSync} as given. */
    public ProxySettings withRefuseSync(boolean refuse) {
        return new ProxySettings(bindHost, writePort, readPort, holdMs, maxClients, upstreamPassword, sharedPerLoop,
                clientHeldLimit, heldLimit, closeOnUnknown, refuse);
    }

    /**
     * Default of {@link #heldLimit}: a quarter of the direct memory the JVM allows (what Netty allocates its
     * buffers from; by default as much as the heap, {@code -Xmx}), so that clients that do not read can take
     * at most that much of it and the rest stays for everything else the proxy does. 32 MB for an agent of
     * {@code skep up} ({@code -Xmx128m}).
     */
    public static long defaultHeldLimit() {
        return Math.max(CLIENT_HELD_LIMIT, PlatformDependent.maxDirectMemory() / 4);
    }
}
