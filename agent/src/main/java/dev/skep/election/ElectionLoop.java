package dev.skep.election;

import dev.skep.discovery.PeerSource;
import dev.skep.lease.LeaseConflictException;
import dev.skep.lease.LeaseRecord;
import dev.skep.lease.LeaseStore;
import dev.skep.peer.PeerListener;
import dev.skep.peer.PeerTransport;
import dev.skep.redis.ProbeFailure;
import dev.skep.redis.RedisController;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.EventLog;
import dev.skep.status.HandoverResult;
import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import dev.skep.topology.TopologyHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The I/O shell around the pure {@link Election}: it turns time, peer messages and redis probes into
 * {@link ElectionEvent}s and carries out the {@link Effect}s the election returns.
 *
 * <p><b>Threads.</b> Three single threads, so that a slow part never delays another:
 * <ul>
 *   <li>{@code skep-control} owns the {@link Election} and everything derived from it: every event is
 *       handled there, one at a time, and the effects that need no I/O (sending to peers, publishing the
 *       topology, recording events) run there too;</li>
 *   <li>{@code skep-redis} talks to the local redis: the probe (PING + INFO every heartbeat, every third of a
 *       heartbeat after a failure so that a dead redis is declared in about one heartbeat), and the
 *       {@code REPLICAOF} effects, in order, so a probe never races a role change;</li>
 *   <li>{@code skep-discovery} asks the {@link PeerSource} (a DNS lookup may block) every heartbeat;</li>
 *   <li>{@code skep-lease} ({@code --election lease} only) reads the Lease every heartbeat and carries out the
 *       election's writes to it, in order.</li>
 * </ul>
 * Peer messages arrive on Netty event loops ({@link #onMessage}) and are handed to the control thread.
 * Public methods may be called from any thread.
 */
public final class ElectionLoop implements PeerListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ElectionLoop.class);
    private static final long REJECTED_LOG_INTERVAL_MS = 10_000;
    private static final long WARM_UP_MS = 2_000;
    /** A paused redis resumes by itself this long after a handover's deadline, should this agent die meanwhile. */
    private static final long PAUSE_MARGIN_MS = 1_000;

    private final ElectionSettings settings;
    private final RedisController redis;
    private final PeerSource peerSource;
    private final TopologyHolder topology;
    private final EventLog events;
    private final LongSupplier clock;
    /** {@code --election lease}: where the Lease is; null otherwise. */
    private final LeaseStore leaseStore;
    private final ScheduledExecutorService leaseThread;
    /** Replaced once by {@link #start}; then used by the control thread only. */
    private Election election;

    private final ScheduledExecutorService control = Executors.newSingleThreadScheduledExecutor(named("skep-control"));
    private final ScheduledExecutorService redisThread = Executors.newSingleThreadScheduledExecutor(named("skep-redis"));
    private final ScheduledExecutorService discoveryThread =
            Executors.newSingleThreadScheduledExecutor(named("skep-discovery"));
    /** Fences other nodes' orphaned redis servers: off the redis thread, so a dead host never delays our probes. */
    private final ScheduledExecutorService fenceThread = Executors.newSingleThreadScheduledExecutor(named("skep-fence"));
    /** A FenceOrphans effect waiting for the fence thread (the latest replaces an older one); fence thread and control. */
    private final java.util.concurrent.atomic.AtomicReference<Effect.FenceOrphans> orphansToFence =
            new java.util.concurrent.atomic.AtomicReference<>();
    /** The local redis process, when the agent can see it (busy or stopped?); redis thread only. */
    private final dev.skep.redis.RedisProcess redisProcess = new dev.skep.redis.RedisProcess();

    private final CountDownLatch ownMessageBack = new CountDownLatch(1);
    private volatile PeerTransport transport;
    private volatile HiveStatus status;
    private volatile boolean closed;

    // control thread only
    private Set<Endpoint> discovered = Set.of();
    private ScheduledFuture<?> extraTick;
    private ScheduledFuture<?> leaseCheck;
    private long leaseCheckAt;
    /** The handover request waiting for its outcome, if any. */
    private CompletableFuture<HandoverResult> pendingHandover;

    /** Told of each redis probe (metrics); set once at start. */
    private volatile ProbeObserver probeObserver = ProbeObserver.NONE;

    /** Told of each probe of the local redis. Called on the redis thread: cheap, thread-safe, never blocking. */
    public interface ProbeObserver {
        ProbeObserver NONE = (nanos, ok) -> {};

        /** A probe (PING + INFO) took {@code nanos} and succeeded ({@code ok}) or failed. */
        void probed(long nanos, boolean ok);
    }

    /** Reports every probe from now on to {@code observer}. */
    public void observeProbes(ProbeObserver observer) {
        this.probeObserver = Objects.requireNonNull(observer, "observer");
    }

    // any thread (rate limit of the rejected-message warning)
    private volatile long lastRejectedLogAt;
    private volatile String lastDiscoveryError = "";

    /**
     * @param settings   this node's election settings
     * @param redis      controller of the local redis (used only on the redis thread)
     * @param peerSource where peers are found (asked on the discovery thread)
     * @param topology   where the topology clients should follow is published
     * @param events     where events are recorded for operators
     * @param clock      wall clock in milliseconds ({@code System::currentTimeMillis}); epochs derive from it
     */
    public ElectionLoop(ElectionSettings settings, RedisController redis, PeerSource peerSource, TopologyHolder topology,
            EventLog events, LongSupplier clock) {
        this(settings, redis, peerSource, topology, events, clock, null);
    }

    /**
     * As above, with {@code leaseStore} holding the Lease when {@code settings.leaseElection()} (required then).
     * The store is closed with this loop.
     */
    public ElectionLoop(ElectionSettings settings, RedisController redis, PeerSource peerSource, TopologyHolder topology,
            EventLog events, LongSupplier clock, LeaseStore leaseStore) {
        if (settings.leaseElection() != (leaseStore != null)) {
            throw new IllegalArgumentException("a LeaseStore is needed exactly when the election uses a Lease");
        }
        this.leaseStore = leaseStore;
        this.leaseThread = leaseStore == null ? null : Executors.newSingleThreadScheduledExecutor(named("skep-lease"));
        this.settings = Objects.requireNonNull(settings, "settings");
        this.redis = Objects.requireNonNull(redis, "redis");
        this.peerSource = Objects.requireNonNull(peerSource, "peerSource");
        this.topology = Objects.requireNonNull(topology, "topology");
        this.events = Objects.requireNonNull(events, "events");
        this.clock = Objects.requireNonNull(clock, "clock");
        long now = clock.getAsLong();
        this.election = new Election(settings, now);
        this.status = StatusReport.of(election, now, events.snapshot(), 0);
    }

    /** Starts heartbeats, probes and discovery, sending to peers through {@code transport}. */
    public void start(PeerTransport transport) {
        this.transport = Objects.requireNonNull(transport, "transport");
        warmUp(transport);
        long hb = settings.heartbeatMs();
        // A new election, so that the listening period a joining node owes the hive starts now, not when
        // this object was built: starting the JVM and binding the ports may have taken longer than it.
        Election fresh = new Election(settings, clock.getAsLong());
        control.execute(() -> election = fresh);
        redisThread.execute(this::prepareRedis);
        redisThread.execute(this::probe);
        discoveryThread.scheduleWithFixedDelay(guarded(this::discover), 0, hb, TimeUnit.MILLISECONDS);
        if (leaseThread != null) {
            leaseThread.scheduleWithFixedDelay(guarded(this::readLease), 0, hb, TimeUnit.MILLISECONDS);
            log.info("election through the Lease {} (duration {} s)", leaseStore.describe(),
                    settings.leaseDurationSeconds());
        }
        // wrapped: a periodic task that throws is never run again, and the ticks are the node's pulse
        control.scheduleAtFixedRate(guarded(() -> handle(new ElectionEvent.Tick(clock.getAsLong()))), hb, hb,
                TimeUnit.MILLISECONDS);
        log.info("election started: node {}, redis {}, peers from {}, heartbeat {} ms, peer timeout {} ms",
                settings.self(), settings.redis(), peerSource, hb, settings.peerTimeoutMs());
    }

    /**
     * Sends our own status to ourselves over the peer port and waits (at most {@value #WARM_UP_MS} ms) until
     * it comes back. A cold JVM loads and compiles the whole peer path on its first messages, and in a
     * hive whose agents all started at once those first messages arrived about a second late: longer
     * than the listening period, so every node elected itself before hearing the others. The election
     * ignores messages from itself; the connection is closed by the first broadcast.
     */
    private void warmUp(PeerTransport transport) {
        transport.send(settings.self(), election.status(clock.getAsLong()));
        try {
            if (!ownMessageBack.await(WARM_UP_MS, TimeUnit.MILLISECONDS)) {
                log.warn("our own peer message did not come back through {} within {} ms: is --announce-host {} "
                        + "an address of this host?", settings.self(), WARM_UP_MS, settings.self().host());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
        if (leaseThread == null) {
            return;
        }
        CountDownLatch done = new CountDownLatch(2);
        try {
            control.execute(guarded(() -> {
                handle(new ElectionEvent.Stopping(cause, clock.getAsLong()));
                // the effects were queued on those threads in order: these run after them
                onRedis(done::countDown);
                onLease(done::countDown);
            }));
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            boolean finished = done.await(timeoutMs, TimeUnit.MILLISECONDS);
            // A renewal that was under way when we stepped down defers the release until it returns (the release is
            // written on the version it leaves): wait for that write too, or the next leader waits for expiry.
            while (finished && System.nanoTime() < deadline) {
                CompletableFuture<Boolean> pending = new CompletableFuture<>();
                control.execute(() -> pending.complete(election.leaseWritePending()));
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
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
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
        if (msg instanceof NodeStatus s) {
            if (s.node().equals(settings.self())) {
                ownMessageBack.countDown();
                return;
            }
            if (log.isTraceEnabled()) {
                log.trace("from {}: {} epoch {} leader {} offset {}", s.node(), s.state(), s.epoch(), s.leader(),
                        s.offset());
            }
            onControl(() -> handle(new ElectionEvent.PeerStatusReceived(s, clock.getAsLong())));
        }
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

    // ---- control thread ----

    private void handle(ElectionEvent event) {
        long now = event.now();
        List<Effect> effects = election.handle(event);
        for (Effect effect : effects) {
            execute(effect, now);
        }
        scheduleExtraTick();
        scheduleLeaseCheck(now);
        PeerTransport t = transport;
        status = StatusReport.of(election, now, events.snapshot(), t == null ? 0 : t.rejectedCount());
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

    /** --quorum majority: a leader checks its lease when it runs out, not up to a heartbeat later. */
    private void scheduleLeaseCheck(long now) {
        long at = election.leaseExpiresAt();
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
            broadcast(b.status(), now);
        } else if (effect instanceof Effect.PublishTopology p) {
            topology.publish(p.topology());
        } else if (effect instanceof Effect.Record r) {
            // the kind as a key-value too: JSON logs (--log-format json) carry it as a field of its own
            log.atInfo().addKeyValue("event", r.kind()).log("[{}] {}", r.kind(), r.message());
            events.add(new HiveEvent(now, settings.self().toString(), r.kind(), r.message()));
        } else if (effect instanceof Effect.Promote p) {
            onRedis(() -> promote(p));
        } else if (effect instanceof Effect.Follow f) {
            onRedis(() -> {
                RedisSnapshot snap = redis.follow(f.master(), f.reason());
                onControl(() -> handle(new ElectionEvent.ProbeSucceeded(snap, clock.getAsLong())));
            });
        } else if (effect instanceof Effect.Probe) {
            onRedis(() -> probeOnce());
        } else if (effect instanceof Effect.Detach d) {
            onRedis(() -> redis.detach(d.reason()));
        } else if (effect instanceof Effect.PrepareHandover h) {
            onRedis(() -> prepareHandover(h));
        } else if (effect instanceof Effect.ResumeWrites r) {
            onRedis(() -> redis.resumeWrites(r.reason()));
        } else if (effect instanceof Effect.WriteLease w) {
            onLease(() -> writeLease(w));
        } else if (effect instanceof Effect.FenceWrites f) {
            onRedis(() -> redis.setMinReplicasToWrite(f.minReplicas(), f.reason()));
        } else if (effect instanceof Effect.FenceOrphans f) {
            if (orphansToFence.getAndSet(f) == null) {
                try {
                    fenceThread.execute(guarded(this::fenceOrphans));
                } catch (RejectedExecutionException e) {
                    // closing
                }
            }
        } else if (effect instanceof Effect.HandoverDone d) {
            CompletableFuture<HandoverResult> pending = pendingHandover;
            pendingHandover = null;
            if (pending != null) {
                pending.complete(new HandoverResult(d.ok(), d.detail(), d.successor(), d.epoch(), d.pausedMs()));
            }
        }
    }

    /** Sends to every discovered peer and every live member (a node that joined knowing us, not yet in DNS). */
    private void broadcast(NodeStatus s, long now) {
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

    // ---- redis thread ----

    private void prepareRedis() {
        try {
            redis.prepare();
        } catch (Exception e) {
            // applied on the first connection that works (RedisController re-applies after every reconnect)
            log.warn("local redis {} not reachable to apply its settings yet: {}", settings.redis(), e.getMessage());
        }
    }

    /** The periodic probe: reschedules itself, sooner after a failure. */
    private void probe() {
        if (closed) {
            return;
        }
        boolean ok = probeOnce();
        long delay = ok ? settings.heartbeatMs() : Math.max(10, settings.heartbeatMs() / 3);
        try {
            redisThread.schedule(this::probe, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    /** Probes once and reports the result to the control thread; true when redis answered. */
    private boolean probeOnce() {
        long start = System.nanoTime();
        try {
            RedisSnapshot snap = redis.probe();
            probeObserver.probed(System.nanoTime() - start, true);
            redisProcess.identify(snap, clock.getAsLong());
            onControl(() -> handle(new ElectionEvent.ProbeSucceeded(snap, clock.getAsLong())));
            return true;
        } catch (Exception e) {
            probeObserver.probed(System.nanoTime() - start, false);
            ProbeFailure failure = ProbeFailure.classify(e, redisProcess::observe);
            onControl(() -> handle(new ElectionEvent.ProbeFailed(failure.reason(), failure.busy(), clock.getAsLong())));
            return false;
        }
    }

    /**
     * Promotes the local redis, unless it is no longer the redis that won: a different {@code run_id} (it
     * restarted, probably empty) or a lower offset (a full sync replaced its data) since it proposed.
     */
    private void promote(Effect.Promote p) {
        boolean ok;
        String detail;
        RedisSnapshot confirmed = null;
        try {
            RedisSnapshot now = redis.probe();
            if (!now.runId().equals(p.runId())) {
                ok = false;
                detail = "local redis restarted since the election (run_id " + now.runId() + ", was " + p.runId() + ")";
            } else if (now.replOffset() < p.minOffset()) {
                ok = false;
                detail = "local redis offset " + now.replOffset() + " fell below the proposed " + p.minOffset();
            } else {
                confirmed = redis.promote(p.reason());
                ok = true;
                detail = "role:master confirmed";
            }
        } catch (Exception e) {
            ok = false;
            detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        boolean result = ok;
        String why = detail;
        RedisSnapshot snap = confirmed;
        onControl(() -> {
            long now = clock.getAsLong();
            handle(new ElectionEvent.PromotionFinished(p.epoch(), result, why, now));
            if (snap != null) {
                handle(new ElectionEvent.ProbeSucceeded(snap, now));
            }
        });
    }

    /** Drains, pauses writes and waits for the successor (redis thread); reports to the control thread. */
    private void prepareHandover(Effect.PrepareHandover h) {
        boolean ok;
        long offset = 0;
        String detail;
        try {
            Thread.sleep(h.drainMs()); // requests already sent to us are answered meanwhile; new ones are held
            long remainingMs = Math.max(1, h.deadlineMillis() - clock.getAsLong());
            offset = redis.pauseAndAwait(h.successorRedis(), h.runId(), remainingMs + PAUSE_MARGIN_MS,
                    System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(remainingMs));
            ok = true;
            detail = "caught up";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ok = false;
            detail = "interrupted";
        } catch (Exception e) {
            ok = false;
            detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        boolean result = ok;
        long at = offset;
        String why = detail;
        onControl(() -> handle(new ElectionEvent.HandoverCaughtUp(result, at, why, clock.getAsLong())));
    }

    // ---- fence thread ----

    /** What each orphan check last found, to record an event only when it changes (fence thread only). */
    private final java.util.Map<Endpoint, RedisController.OrphanCheck> orphanChecks = new java.util.HashMap<>();

    private void fenceOrphans() {
        Effect.FenceOrphans f = orphansToFence.getAndSet(null);
        if (f == null) {
            return;
        }
        java.time.Duration timeout = java.time.Duration.ofMillis(Math.max(100, settings.heartbeatMs()));
        orphanChecks.keySet().retainAll(f.redis());
        for (Endpoint target : f.redis()) {
            RedisController.OrphanCheck outcome = redis.fenceIfMaster(target, timeout, f.reason());
            RedisController.OrphanCheck before = orphanChecks.put(target, outcome);
            if (outcome == RedisController.OrphanCheck.FENCED) {
                String message = "fenced redis " + target + ", a master whose agent is silent (" + f.reason() + ")";
                log.atInfo().addKeyValue("event", "fenced-orphan").log("[fenced-orphan] {}", message);
                events.add(new HiveEvent(clock.getAsLong(), settings.self().toString(), "fenced-orphan", message));
            } else if (outcome != before && outcome == RedisController.OrphanCheck.UNREACHABLE) {
                log.debug("redis {} (agent silent) not reachable to check for a fence", target);
            }
        }
    }

    // ---- lease thread ----

    private volatile String lastLeaseError = "";

    private void readLease() {
        try {
            LeaseRecord lease = leaseStore.read().orElse(null);
            leaseReadOk();
            onControl(() -> handle(new ElectionEvent.LeaseObserved(lease, clock.getAsLong())));
        } catch (IOException | RuntimeException e) {
            leaseError(e);
        }
    }

    private void writeLease(Effect.WriteLease w) {
        long sentAt = clock.getAsLong();
        LeaseRecord stored = null;
        boolean ok;
        String detail;
        try {
            stored = leaseStore.write(w.next());
            ok = true;
            detail = "stored";
            leaseReadOk();
        } catch (LeaseConflictException e) {
            ok = false;
            detail = "changed meanwhile";
            try {
                stored = leaseStore.read().orElse(null);
            } catch (IOException | RuntimeException again) {
                leaseError(again);
            }
        } catch (IOException | RuntimeException e) {
            ok = false;
            detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            leaseError(e);
        }
        if (!ok || w.kind() != Effect.LeaseWrite.RENEW) {
            log.info("Lease {} ({}): {}", w.kind(), w.reason(), detail);
        }
        boolean written = ok;
        LeaseRecord now = stored;
        String why = detail;
        onControl(() -> handle(new ElectionEvent.LeaseWritten(w.kind(), written, now, sentAt, why, clock.getAsLong())));
    }

    private void leaseReadOk() {
        if (!lastLeaseError.isEmpty()) {
            log.info("Lease {} reachable again", leaseStore.describe());
            lastLeaseError = "";
        }
    }

    private void leaseError(Exception e) {
        String error = String.valueOf(e.getMessage());
        if (!error.equals(lastLeaseError)) {
            log.warn("{}", error);
            lastLeaseError = error;
        }
    }

    private void onLease(Runnable action) {
        try {
            leaseThread.execute(guarded(action));
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    // ---- discovery thread ----

    private void discover() {
        try {
            Set<Endpoint> found = new HashSet<>(peerSource.peers());
            found.remove(settings.self());
            Set<Endpoint> result = Set.copyOf(found);
            lastDiscoveryError = "";
            onControl(() -> {
                if (!result.equals(discovered)) {
                    discovered = result;
                    handle(new ElectionEvent.PeersDiscovered(result, clock.getAsLong()));
                }
            });
        } catch (Exception e) {
            String error = String.valueOf(e.getMessage());
            if (!error.equals(lastDiscoveryError)) {
                // keep the last answer: a DNS hiccup must not make the hive forget its members
                log.warn("peer discovery through {} failed: {} (keeping the last answer)", peerSource, error);
                lastDiscoveryError = error;
            }
        }
    }

    // ---- plumbing ----

    private interface RedisAction {
        void run() throws Exception;
    }

    private void onRedis(RedisAction action) {
        try {
            redisThread.execute(() -> {
                try {
                    action.run();
                } catch (Exception e) {
                    // the next probe reports the state redis is really in; the election acts on that
                    log.warn("local redis {}: {}", settings.redis(), e.getMessage());
                }
            });
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    private void onControl(Runnable task) {
        try {
            control.execute(guarded(task));
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    private static Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("unexpected error in {} (continuing)", Thread.currentThread().getName(), e);
            }
        };
    }

    /** Stops the threads (waiting briefly for a redis command in progress); the transport is the caller's. */
    @Override
    public void close() {
        closed = true;
        control.shutdownNow();
        discoveryThread.shutdownNow();
        fenceThread.shutdownNow();
        if (leaseThread != null) {
            leaseThread.shutdownNow();
            leaseStore.close();
        }
        redisThread.shutdown();
        try {
            if (!redisThread.awaitTermination(2, TimeUnit.SECONDS)) {
                redisThread.shutdownNow();
            }
            control.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static java.util.concurrent.ThreadFactory named(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
