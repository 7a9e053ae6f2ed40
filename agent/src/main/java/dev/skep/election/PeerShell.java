package dev.skep.election;

import dev.skep.peer.PeerListener;
import dev.skep.peer.PeerTransport;
import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * The I/O shell around the peer port ({@link PeerTransport}): warms the peer path up at start, hands every status a
 * peer sends to the {@link ControlThread}, logs dropped messages (rate-limited), and sends this node's status to its
 * peers. {@link #onMessage} and {@link #onRejected} are called on Netty event loops and never block; {@link #start}
 * on the thread that starts the loop; {@link #broadcast} on the control thread.
 */
final class PeerShell implements PeerListener {
    private static final Logger log = LoggerFactory.getLogger(PeerShell.class);
    private static final long REJECTED_LOG_INTERVAL_MS = 10_000;
    private static final long WARM_UP_MS = 2_000;
    /** The kernel's USER_HZ, the unit of /proc's times: 100 on every Linux architecture the agent runs on. */
    private static final long CLOCK_TICKS_PER_SECOND = 100;

    private final ElectionSettings settings;
    private final ControlThread control;
    private final LongSupplier clock;
    private final CountDownLatch ownMessageBack = new CountDownLatch(1);
    private volatile PeerTransport transport;
    /** When the last dropped message was logged; any thread. */
    private volatile long lastRejectedLogAt;
    /** Whether a status from another node has arrived yet (logged once); any event loop. */
    private final AtomicBoolean heardPeer = new AtomicBoolean();

    PeerShell(ElectionSettings settings, ControlThread control, LongSupplier clock) {
        this.settings = settings;
        this.control = control;
        this.clock = clock;
    }

    /**
     * Sends through {@code transport} from now on, starting with {@code own} to ourselves over the peer port, and waits
     * (at most {@value #WARM_UP_MS} ms) until it comes back. A cold JVM loads and compiles the whole peer path on its
     * first messages, and in a hive whose agents all started at once those first messages arrived about a second late:
     * longer than the listening period, so every node elected itself before hearing the others. The election ignores
     * messages from itself; the connection is closed by the first broadcast.
     */
    void start(PeerTransport transport, NodeStatus own) {
        this.transport = transport;
        transport.send(settings.self(), own);
        try {
            if (!ownMessageBack.await(WARM_UP_MS, TimeUnit.MILLISECONDS)) {
                log.warn("our own peer message did not come back through {} within {} ms: is --announce-host {} "
                        + "an address of this host?", settings.self(), WARM_UP_MS, settings.self().host());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Messages dropped so far (0 before start). */
    long rejectedCount() {
        PeerTransport t = transport;
        return t == null ? 0 : t.rejectedCount();
    }

    /**
     * Sends {@code s} to every {@code discovered} peer and every live member of {@code election} (a node that joined
     * knowing us, not yet in DNS); the connections to any other node are closed.
     */
    void broadcast(NodeStatus s, Set<Endpoint> discovered, Election election, long now) {
        PeerTransport t = transport;
        if (t == null) {
            return;
        }
        Set<Endpoint> targets = new HashSet<>(discovered);
        for (Endpoint member : election.members().keySet()) {
            if (election.isLive(member, now)) {
                targets.add(member);
            }
        }
        targets.remove(settings.self());
        t.retainPeers(targets);
        for (Endpoint to : targets) {
            if (!election.isLive(to, now)) {
                t.reconnectIfOlder(to, settings.peerTimeoutMs()); // see PeerTransport#reconnectIfOlder
            }
            t.send(to, s);
        }
    }

    /**
     * When this process started, in ms since the epoch; -1 where /proc cannot tell. From /proc's start tick and a boot
     * time taken from /proc/uptime: {@link ProcessHandle.Info#startInstant} adds the tick to /proc/stat's boot time,
     * which is in whole seconds, truncated, so a process looks up to a second older than it is.
     */
    static long processStartMillis() {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" "); // from field 3, after the name
            long startTicks = Long.parseLong(fields[19]); // field 22
            double uptime = Double.parseDouble(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/uptime"))
                    .split(" ")[0]);
            long boot = System.currentTimeMillis() - Math.round(uptime * 1000);
            return boot + startTicks * 1000 / CLOCK_TICKS_PER_SECOND;
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void onMessage(PeerMessage msg) {
        if (msg instanceof NodeStatus s) {
            if (s.node().equals(settings.self())) {
                ownMessageBack.countDown();
                return;
            }
            if (!heardPeer.get() && heardPeer.compareAndSet(false, true)) {
                // once: how long after the process started peer messages flow (bench/footprint.sh reads it)
                long started = processStartMillis();
                log.info("first status from a peer: {}, {} ms after the process started", s.node(),
                        started < 0 ? "?" : Long.toString(clock.getAsLong() - started));
            }
            if (log.isTraceEnabled()) {
                log.trace("from {}: {} epoch {} leader {} offset {}", s.node(), s.state(), s.epoch(), s.leader(),
                        s.offset());
            }
            control.handle(now -> new ElectionEvent.PeerStatusReceived(s, now));
        }
    }

    @Override
    public void onClosed(Endpoint node) {
        control.handle(now -> new ElectionEvent.PeerClosed(node, now));
    }

    @Override
    public void onRejected(String reason, String remoteAddress) {
        long now = clock.getAsLong();
        if (now - lastRejectedLogAt >= REJECTED_LOG_INTERVAL_MS) {
            lastRejectedLogAt = now;
            PeerTransport t = transport;
            log.warn("dropped a peer message from {}: {} ({} dropped so far; is --peer-secret the same on every node?)",
                    remoteAddress, reason, t == null ? "?" : t.rejectedCount());
        }
    }
}
