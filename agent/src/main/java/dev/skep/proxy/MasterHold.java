package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * A session's wait for a master (invariant 4: with no master, requests wait up to a bound, then get
 * {@code -MASTERDOWN}): when it began, its timer, and what it is reported as when it ends. One hold covers every
 * request the session parks until a master takes one, so a request that waits after another that timed out starts
 * a hold of its own (ClientSessionTest: held, then -MASTERDOWN, then the next one held).
 *
 * <p>Confined to the client channel's event loop.
 */
final class MasterHold {
    private final LoopContext loop;
    private final ClientSession session;
    private final Port route;
    /** When the hold began (System.nanoTime); 0 when the session is not holding. */
    private long since;
    private ScheduledFuture<?> timer;

    MasterHold(LoopContext loop, ClientSession session, Port route) {
        this.loop = loop;
        this.session = session;
        this.route = route;
    }

    boolean active() {
        return since != 0;
    }

    /** Starts the hold, unless one is under way; {@code expired} runs after --hold-ms unless a master came first. */
    void begin(Channel client, Runnable expired) {
        if (since == 0) {
            loop.counters.increment(route, ProxyCount.HOLDS);
            since = System.nanoTime();
            timer = client.eventLoop().schedule(() -> {
                timer = null;
                if (since != 0) {
                    end(false);
                    expired.run();
                }
            }, loop.settings().holdMs(), TimeUnit.MILLISECONDS);
        }
        loop.held(session);
    }

    /** A master took the held request. */
    void served() {
        if (since != 0) {
            timer.cancel(false);
            timer = null;
            end(true);
        }
    }

    private void end(boolean served) {
        loop.observer.holdEnded(route == Port.READ, System.nanoTime() - since, served);
        if (!served) {
            loop.counters.increment(route, ProxyCount.ERRORS_MASTERDOWN);
        }
        since = 0;
        loop.released(session);
    }

    /** The session is gone. */
    void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
