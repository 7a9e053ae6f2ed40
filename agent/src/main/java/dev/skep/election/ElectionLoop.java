package dev.skep.election;

import dev.skep.discovery.PeerSource;
import dev.skep.lease.LeaseStore;
import dev.skep.peer.PeerListener;
import dev.skep.peer.PeerTransport;
import dev.skep.redis.RedisController;
import dev.skep.status.EventLog;
import dev.skep.status.HandoverResult;
import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import dev.skep.topology.TopologyHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;

import static dev.skep.election.ShellThreads.guarded;

/**
 * The I/O shell around the pure {@link Election}: it turns time, peer messages and redis probes into
 * {@link ElectionEvent}s and carries out the {@link Effect}s the election returns.
 *
 * <p><b>Threads.</b> Single threads, so that a slow part never delays another:
 * <ul>
 *   <li>{@code skep-control} owns the {@link Election} and everything derived from it: every event is
 *       handled there, one at a time, and the effects that need no I/O (sending to peers, publishing the
 *       topology, recording events) run there too;</li>
 *   <li>{@code skep-redis} ({@link RedisShell}) probes the local redis and carries out the effects on it, in
 *       order;</li>
 *   <li>{@code skep-discovery} ({@link DiscoveryShell}) asks the {@link PeerSource} every heartbeat;</li>
 *   <li>{@code skep-fence} ({@link FenceShell}) fences other nodes' orphaned redis servers;</li>
 *   <li>{@code skep-lease} ({@link LeaseShell}, {@code --election lease} only) reads the Lease every heartbeat and
 *       carries out the election's writes to it, in order.</li>
 * </ul>
 * The shells hand what they learn to the control thread ({@link ControlThread}). Peer messages arrive on Netty event
 * loops ({@link #onMessage}) and {@link PeerShell} hands them to the control thread too; it also sends this node's
 * status to its peers, from the control thread. Public methods may be called from any thread.
 */
public final class ElectionLoop implements PeerListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ElectionLoop.class);

    private final ElectionSettings settings;
    private final TopologyHolder topology;
    private final EventLog events;
    private final LongSupplier clock;
    /** Replaced once by {@link #start}; then used by the control thread only. */
    private Election election;

    private final ScheduledExecutorService control = ShellThreads.single("skep-control");
    private final ControlThread toControl = this::handleOnControl;
    private final PeerShell peers;
    private final RedisShell localRedis;
    private final DiscoveryShell discovery;
    private final FenceShell orphans;
    /** {@code --election lease}: the Lease's reads and writes; null otherwise. */
    private final LeaseShell lease;

    private volatile HiveStatus status;
    private volatile boolean closed;

    // control thread only
    private ScheduledFuture<?> extraTick;
    private ScheduledFuture<?> leaseCheck;
    private long leaseCheckAt;
    /** The handover request waiting for its outcome, if any. */
    private CompletableFuture<HandoverResult> pendingHandover;

    /** Told of each probe of the local redis. Called on the redis thread: cheap, thread-safe, never blocking. */
    public interface ProbeObserver {
        ProbeObserver NONE = (nanos, ok) -> {};

        /** A probe (PING + INFO) took {@code nanos} and succeeded ({@code ok}) or failed. */
        void probed(long nanos, boolean ok);
    }

    /** Reports every probe from now on to {@code observer}. */
    public void observeProbes(ProbeObserver observer) {
        localRedis.observeProbes(observer);
    }

    /**
     * @param settings   this node's election settings
     * @param redis      controller of the local redis (used only on the redis and fence threads)
     * @param peerSource where peers are found (asked on the discovery thread)
     * @param topology   where the topology clients should follow is published
     * @param events     where events are recorded for operators
     * @param clock      wall clock in milliseconds ({@code System::currentTimeMillis}); epochs derive from it
     */
    public ElectionLoop(ElectionSettings settings, RedisController redis, PeerSource peerSource,
            TopologyHolder topology, EventLog events, LongSupplier clock) {
        this(settings, redis, peerSource, topology, events, clock, null);
    }

    /**
     * As above, with {@code leaseStore} holding the Lease when {@code settings.leaseElection()} (required then).
     * The store is closed with this loop.
     */
    public ElectionLoop(ElectionSettings settings, RedisController redis, PeerSource peerSource,
            TopologyHolder topology, EventLog events, LongSupplier clock, LeaseStore leaseStore) {
        if (settings.leaseElection() != (leaseStore != null)) {
            throw new IllegalArgumentException("a LeaseStore is needed exactly when the election uses a Lease");
        }
        this.settings = Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(redis, "redis");
        Objects.requireNonNull(peerSource, "peerSource");
        this.topology = Objects.requireNonNull(topology, "topology");
        this.events = Objects.requireNonNull(events, "events");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.lease = leaseStore == null ? null : new LeaseShell(leaseStore, toControl, clock);
        this.peers = new PeerShell(settings, toControl, clock);
        this.localRedis = new RedisShell(settings, redis, toControl, clock);
        this.discovery = new DiscoveryShell(peerSource, settings.self(), toControl);
        this.orphans = new FenceShell(settings, redis, events, clock);
        long now = clock.getAsLong();
        this.election = new Election(settings, now);
        this.status = StatusReport.of(election, now, events.snapshot(), 0);
    }

    /** Starts heartbeats, probes and discovery, sending to peers through {@code transport}. */
    public void start(PeerTransport transport) {
        peers.start(Objects.requireNonNull(transport, "transport"), election.status(clock.getAsLong()));
        long hb = settings.heartbeatMs();
        // A new election, so that the listening period a joining node owes the hive starts now, not when
        // this object was built: starting the JVM and binding the ports may have taken longer than it.
        Election fresh = new Election(settings, clock.getAsLong());
        control.execute(() -> election = fresh);
        localRedis.start();
        discovery.start(hb);
        if (lease != null) {
            lease.start(hb, settings.leaseDurationSeconds());
        }
        // wrapped: a periodic task that throws is never run again, and the ticks are the node's pulse
        control.scheduleAtFixedRate(guarded(() -> handle(new ElectionEvent.Tick(clock.getAsLong()))), hb, hb,
                TimeUnit.MILLISECONDS);
        log.info("election started: node {}, redis {}, peers from {}, heartbeat {} ms, peer timeout {} ms",
                settings.self(), settings.redis(), discovery.source(), hb, settings.peerTimeoutMs());
    }

    /** The latest operator's view, rebuilt after every event. */
    public HiveStatus status() {
        return status;
    }

    /**
     * Asks this node to hand its leadership over gracefully (DESIGN.md invariant 5). Completes when the
     * successor leads and this node follows it, or with {@code ok == false} when this node does not lead,
     * no replica is in sync, or the successor did not catch up within {@code --handover-timeout-ms}.
     *
     * @param to    the successor's peer address, or null for the in-sync replica with the most data
     * @param cause for the event log
     */
    public CompletableFuture<HandoverResult> requestHandover(Endpoint to, String cause) {
        CompletableFuture<HandoverResult> result = new CompletableFuture<>();
        try {
            control.execute(guarded(() -> {
                if (pendingHandover != null && !pendingHandover.isDone()) {
                    result.complete(new HandoverResult(false, "a handover is already under way", null, 0, 0));
                    return;
                }
                pendingHandover = result;
                handle(new ElectionEvent.HandoverRequested(to, cause, clock.getAsLong()));
            }));
        } catch (RejectedExecutionException e) {
            result.complete(new HandoverResult(false, "the agent is stopping", null, 0, 0));
        }
        return result;
    }

    /**
     * {@code --election lease}: this agent stops while it still leads (no successor took over): fence the local
     * redis and release the Lease, waiting at most {@code timeoutMs} for both to be done, so that the next
     * leader need not wait for the Lease to expire. No-op otherwise.
     */
    public void releaseLeadershipForStop(String cause, long timeoutMs) {
        if (lease == null) {
            return;
        }
        CountDownLatch done = new CountDownLatch(2);
        try {
            control.execute(guarded(() -> {
                handle(new ElectionEvent.Stopping(cause, clock.getAsLong()));
                // the effects were queued on those threads in order: these run after them
                localRedis.queue(done::countDown);
                lease.queue(done::countDown);
            }));
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            boolean finished = done.await(timeoutMs, TimeUnit.MILLISECONDS);
            // A renewal that was under way when we stepped down defers the release until it returns (the release is
            // written on the version it leaves): wait for that write too, or the next leader waits for expiry.
            while (finished && System.nanoTime() < deadline) {
                CompletableFuture<Boolean> pending = new CompletableFuture<>();
                control.execute(() -> pending.complete(election.guard().writePending()));
                if (!pending.get(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())),
                        TimeUnit.MILLISECONDS)) {
                    break;
                }
                Thread.sleep(5);
            }
            if (!finished || System.nanoTime() >= deadline) {
                log.warn("stopping: the Lease release did not finish within {} ms (it expires by itself)", timeoutMs);
            }
        } catch (RejectedExecutionException e) {
            // already closing
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("stopping: could not tell whether the Lease release finished: {}", e.toString());
        }
    }

    /** Whether this node leads right now (as the control thread last saw it). */
    public boolean leading() {
        return status.state() == NodeState.LEADING;
    }

    // ---- peer messages (Netty event loop) ----

    @Override
    public void onMessage(PeerMessage msg) {
        peers.onMessage(msg);
    }

    @Override
    public void onRejected(String reason, String remoteAddress) {
        peers.onRejected(reason, remoteAddress);
    }

    @Override
    public void onClosed(Endpoint node) {
        peers.onClosed(node);
    }

    // ---- control thread ----

    private void handle(ElectionEvent event) {
        long now = event.now();
        List<Effect> effects = election.handle(event);
        for (Effect effect : effects) {
            execute(effect, now);
        }
        scheduleExtraTick();
        scheduleLeaseCheck(now);
        status = StatusReport.of(election, now, events.snapshot(), peers.rejectedCount());
    }

    /**
     * A proposal is decided on the next event after half a heartbeat; ticks come only every heartbeat, so
     * wake up once in between rather than let a failover wait for the next tick.
     */
    private void scheduleExtraTick() {
        if (election.state() != NodeState.PROPOSING || (extraTick != null && !extraTick.isDone()) || closed) {
            return;
        }
        extraTick = control.schedule(guarded(() -> handle(new ElectionEvent.Tick(clock.getAsLong()))),
                Math.max(1, settings.heartbeatMs() / 2), TimeUnit.MILLISECONDS);
    }

    /** A leader checks its hold (majority or Lease) when it runs out, not up to a heartbeat later. */
    private void scheduleLeaseCheck(long now) {
        long at = election.guard().leaseExpiresAt();
        if (at == Long.MAX_VALUE || at == leaseCheckAt || closed) {
            return;
        }
        if (leaseCheck != null) {
            leaseCheck.cancel(false);
        }
        leaseCheckAt = at;
        leaseCheck = control.schedule(guarded(() -> handle(new ElectionEvent.Tick(clock.getAsLong()))),
                Math.max(1, at - now + 1), TimeUnit.MILLISECONDS);
    }

    private void execute(Effect effect, long now) {
        if (effect instanceof Effect.Broadcast b) {
            peers.broadcast(b.status(), discovery.discovered(), election, now);
        } else if (effect instanceof Effect.PublishTopology p) {
            topology.publish(p.topology());
        } else if (effect instanceof Effect.Record r) {
            // the kind as a key-value too: JSON logs (--log-format json) carry it as a field of its own
            log.atInfo().addKeyValue("event", r.kind()).log("[{}] {}", r.kind(), r.message());
            events.add(new HiveEvent(now, settings.self().toString(), r.kind(), r.message()));
        } else if (effect instanceof Effect.Promote p) {
            localRedis.promote(p);
        } else if (effect instanceof Effect.Follow f) {
            localRedis.follow(f);
        } else if (effect instanceof Effect.Probe) {
            localRedis.probeNow();
        } else if (effect instanceof Effect.Detach d) {
            localRedis.detach(d);
        } else if (effect instanceof Effect.PrepareHandover h) {
            localRedis.prepareHandover(h);
        } else if (effect instanceof Effect.ResumeWrites r) {
            localRedis.resumeWrites(r);
        } else if (effect instanceof Effect.WriteLease w) {
            lease.write(w);
        } else if (effect instanceof Effect.FenceWrites f) {
            localRedis.fenceWrites(f);
        } else if (effect instanceof Effect.FenceOrphans f) {
            orphans.fence(f);
        } else if (effect instanceof Effect.HandoverDone d) {
            CompletableFuture<HandoverResult> pending = pendingHandover;
            pendingHandover = null;
            if (pending != null) {
                pending.complete(new HandoverResult(d.ok(), d.detail(), d.successor(), d.epoch(), d.pausedMs()));
            }
        }
    }

    /** What the shells hand over ({@link ControlThread}): events built with the time on the control thread. */
    private void handleOnControl(LongFunction<List<ElectionEvent>> build) {
        try {
            control.execute(guarded(() -> {
                for (ElectionEvent event : build.apply(clock.getAsLong())) {
                    handle(event);
                }
            }));
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    /** Stops the threads (waiting briefly for a redis command in progress); the transport is the caller's. */
    @Override
    public void close() {
        closed = true;
        localRedis.closing();
        control.shutdownNow();
        discovery.close();
        orphans.close();
        if (lease != null) {
            lease.close();
        }
        try {
            localRedis.close();
            control.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
