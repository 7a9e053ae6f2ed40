package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import dev.skep.topology.Endpoint;

/**
 * What master changes did to one session, for the proxy's failover counters: where its requests went last, and
 * whether it lost any in flight since the master last changed. Confined to the session's event loop.
 */
final class FailoverTally {
    private final LoopContext loop;
    private final Port route;
    private Endpoint lastUpstream;
    private boolean lostRequests;

    FailoverTally(LoopContext loop, Port route) {
        this.loop = loop;
        this.route = route;
    }

    /** The session's requests went to {@code target}. */
    void sentTo(Endpoint target) {
        lastUpstream = target;
    }

    /** A request of the session's was lost with its connection (its error, or the close, is the caller's). */
    void lost() {
        loop.counters.increment(route, ProxyCount.ERRORS_FAILOVER);
        lostRequests = true;
    }

    /**
     * The master changed from {@code oldMaster}: a write-port session whose requests went there counts as failed
     * (it lost requests, or has {@code inFlight} unanswered whose outcome the change makes unknown) or reattached;
     * a {@code pinned} one is counted when it is closed instead (SESSIONS_CLOSED).
     */
    void masterChanged(Endpoint oldMaster, boolean pinned, int inFlight) {
        if (route != Port.WRITE || !oldMaster.equals(lastUpstream)) {
            return;
        }
        boolean failed = lostRequests || inFlight > 0;
        lostRequests = false;
        if (!pinned) {
            loop.counters.increment(route, failed ? ProxyCount.SESSIONS_FAILED : ProxyCount.SESSIONS_REATTACHED);
        }
    }
}
