package dev.skep.election;

import dev.skep.discovery.PeerSource;
import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The I/O shell around peer discovery: asks the {@link PeerSource} every heartbeat on a thread of its own,
 * {@code skep-discovery} (a DNS lookup may block), and tells the election through the {@link ControlThread} when the
 * answer changes. A failed lookup keeps the last answer and is logged once per distinct error.
 */
final class DiscoveryShell {
    private static final Logger log = LoggerFactory.getLogger(DiscoveryShell.class);

    private final PeerSource source;
    private final Endpoint self;
    private final ControlThread control;
    private final ScheduledExecutorService thread = ShellThreads.single("skep-discovery");
    /** The last error logged; discovery thread only. */
    private String lastError = "";
    /**
     * The peers last handed to the control thread; discovery thread only. An unchanged answer (every heartbeat with
     * static peers) is not handed over at all: waking the control thread for nothing was a few per cent of an idle
     * agent's CPU.
     */
    private Set<Endpoint> lastFound;
    /** The peers last told to the election; control thread only. */
    private Set<Endpoint> discovered = Set.of();

    DiscoveryShell(PeerSource source, Endpoint self, ControlThread control) {
        this.source = source;
        this.self = self;
        this.control = control;
    }

    /** Asks the source now and, unless its answer is {@link PeerSource#fixed fixed}, every {@code heartbeatMs}. */
    void start(long heartbeatMs) {
        if (source.fixed()) {
            thread.execute(ShellThreads.guarded(this::discover)); // a static list: its thread then sleeps for good
        } else {
            thread.scheduleWithFixedDelay(ShellThreads.guarded(this::discover), 0, heartbeatMs, TimeUnit.MILLISECONDS);
        }
    }

    /** The peers last found, this node apart; control thread only. */
    Set<Endpoint> discovered() {
        return discovered;
    }

    PeerSource source() {
        return source;
    }

    private void discover() {
        try {
            Set<Endpoint> found = new HashSet<>(source.peers());
            found.remove(self);
            Set<Endpoint> result = Set.copyOf(found);
            lastError = "";
            if (result.equals(lastFound)) {
                return;
            }
            lastFound = result;
            control.handleAll(now -> {
                if (result.equals(discovered)) {
                    return List.of();
                }
                discovered = result;
                return List.of(new ElectionEvent.PeersDiscovered(result, now));
            });
        } catch (Exception e) {
            String error = String.valueOf(e.getMessage());
            if (!error.equals(lastError)) {
                // keep the last answer: a DNS hiccup must not make the hive forget its members
                log.warn("peer discovery through {} failed: {} (keeping the last answer)", source, error);
                lastError = error;
            }
        }
    }

    /** Stops the thread; a lookup under way is interrupted. */
    void close() {
        thread.shutdownNow();
    }
}
