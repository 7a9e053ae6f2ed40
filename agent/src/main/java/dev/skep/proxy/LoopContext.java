package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Everything the proxy keeps per event loop: the topology as this loop last applied it, the shared upstream
 * connections, the sessions, and which redis was found unreachable. Confined to its event loop: sessions and
 * upstreams on the loop use it without locks; others reach it only through {@link EventLoop#execute}.
 */
final class LoopContext {
    private static final Logger log = LoggerFactory.getLogger(LoopContext.class);
    /** After a failed connection, a redis is not tried again for this long (held requests retry then). */
    static final long RETRY_MS = 100;

    private final EventLoop eventLoop;
    private final ProxySettings settings;
    private final java.util.Map<String, String> hiveValues;
    private final Connector connector;
    private Topology topology = Topology.NONE;
    /**
     * A planned handover is under way: new write-port requests wait (held) while those already sent to the
     * master are answered; the connections to it stay open in case the handover is abandoned.
     */
    boolean holdWrites;

    /** The master before the current gap with none, whose connections are kept until the next master is known. */
    private Endpoint lastMaster;
    /**
     * Replicas that must confirm a write (WAIT) before the proxy acknowledges it, as the current topology says.
     * Read when a write is sent, never when its WAIT is answered: the confirmation a write needs is fixed when it
     * leaves (see {@link WriteConfirmation}).
     */
    int syncReplicas;
    /** How long such a WAIT may take before the writes it covers are answered with an error. */
    long syncTimeoutMs = 1000;

    /** What a write sent now must have confirmed before it is acknowledged; null when nothing (no quorum). */
    WriteConfirmation confirmation() {
        return syncReplicas > 0 ? new WriteConfirmation(syncReplicas, syncTimeoutMs) : null;
    }
    private final SharedPools pools;
    private final HivePassword password;
    /** The master last found demoted ({@link #masterDemoted}), shared by the proxy's loops; null when none. */
    private final java.util.concurrent.atomic.AtomicReference<Demotion> demotion;
    /** Connected dedicated connections to the master no session uses yet ({@link #takeSpare}). */
    private final java.util.ArrayDeque<DedicatedUpstream> spares = new java.util.ArrayDeque<>();
    /** How many spares each loop keeps to the master: enough for a few sessions leaving the shared path at once. */
    static final int SPARES = 2;
    private final Map<Endpoint, Long> downUntil = new HashMap<>();
    private final Set<ClientSession> sessions = new LinkedHashSet<>();
    private final Set<ClientSession> held = new LinkedHashSet<>();
    private final Map<Endpoint, Integer> readersPerReplica = new HashMap<>();
    private ScheduledFuture<?> retry;
    /** The epoch of the topology this loop applied last, for tests and status (read from any thread). */
    volatile long appliedEpoch;
    /** This loop's counts: incremented by its sessions, read by scrapes. */
    final LoopCounters counters = new LoopCounters();
    final ProxyServer.Observer observer;
    /**
     * Requests this loop's shared connections sent and redis has not answered, plus its dedicated connections
     * that await a reply: while one is, the loop may poll for the reply rather than sleep.
     */
    int inFlight;
    /**
     * Above this many requests in flight the loop sleeps as usual: it is woken once for several replies
     * anyway, and under load a polling loop keeps its processor looking busy, so the scheduler does not move
     * redis or a client that waits on the other one there (at {@code -c 50} on 2 cores, polling up to 4 in
     * flight took p99 from 1.2 to 2-3.5 ms). With one in flight (a lone client waiting for its reply) polling
     * saves a thread wake-up per request.
     */
    private static final int POLL_UP_TO_IN_FLIGHT = 1;

    /**
     * Bytes of replies written to this loop's clients that they have not taken yet (what their connections'
     * outbound buffers hold), as each session last observed its own ({@link HeldOutput}). Written
     * on the loop only, read by scrapes.
     */
    private volatile long heldBytes;
    /** This loop's share of {@link ProxySettings#heldLimit}. */
    final long heldBytesLimit;
    /** Says which clients were closed for what the proxy held for them. */
    final OverloadLog overloadLog;

    LoopContext(EventLoop eventLoop, ProxySettings settings, Class<? extends SocketChannel> channelClass,
            java.util.function.Supplier<SslContext> tls, ProxyServer.Observer observer, long heldLimit,
            java.util.concurrent.atomic.AtomicReference<Demotion> demotion, HivePassword password) {
        this(eventLoop, settings, tcp(eventLoop, channelClass, tls), observer, heldLimit, demotion, password);
    }

    /** With the upstream connections {@code connector} makes (ClientSessionTest: channels of its own). */
    LoopContext(EventLoop eventLoop, ProxySettings settings, Connector connector, ProxyServer.Observer observer,
            long heldLimit, java.util.concurrent.atomic.AtomicReference<Demotion> demotion, HivePassword password) {
        this.eventLoop = eventLoop;
        this.demotion = demotion;
        this.settings = settings;
        this.hiveValues = dev.skep.resp.CommandTable.hiveValues(settings.upstreamPassword());
        this.observer = observer;
        this.heldBytesLimit = heldLimit;
        this.overloadLog = new OverloadLog(heldLimit, settings.clientHeldLimit());
        this.pools = new SharedPools(settings.sharedPerLoop());
        this.password = password;
        this.connector = connector;
    }

    /** Opens the proxy's connections to a redis: the one seam between the proxy's logic and the network. */
    @FunctionalInterface
    interface Connector {
        /** A connection to {@code target} whose pipeline is {@code handler}; completes when connected. */
        ChannelFuture connect(Endpoint target, ChannelHandler handler);
    }

    /** Plain TCP, or TLS on it when {@code tls} gives the context (asked at each connection: it may be reloaded). */
    private static Connector tcp(EventLoop eventLoop, Class<? extends SocketChannel> channelClass,
            java.util.function.Supplier<SslContext> tls) {
        Bootstrap bootstrap = new Bootstrap()
                .group(eventLoop)
                .channel(channelClass)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 1000)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024));
        if (tls == null) {
            return (target, handler) -> bootstrap.clone().handler(handler).connect(target.host(), target.port());
        }
        return (target, handler) -> bootstrap.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(tls.get().newHandler(ch.alloc(), target.host(), target.port()), handler);
            }
        }).connect(target.host(), target.port());
    }

    /** Whether replies from redis are due soon; called by the loop's select strategy, on the loop. */
    boolean expectingReplies() {
        return inFlight > 0 && inFlight <= POLL_UP_TO_IN_FLIGHT;
    }

    ProxySettings settings() {
        return settings;
    }

    /** The hive password: what the proxy's connections authenticate with, what clients' AUTH is checked against. */
    HivePassword password() {
        return password;
    }

    /** The CONFIG values the hive keeps on the master, masterauth being the hive's password (one map per loop). */
    java.util.Map<String, String> hiveValues() {
        return hiveValues;
    }

    EventLoop eventLoop() {
        return eventLoop;
    }

    ChannelFuture connect(Endpoint target, ChannelHandler handler) {
        return connector.connect(target, handler);
    }

    // ---- where traffic goes ----

    /** The redis this session's next request should go to; null when there is none (hold). */
    Endpoint target(ClientSession s) {
        if (s.route == Port.WRITE) {
            Endpoint m = topology.master();
            Demotion d = demotion.get();
            return m != null && d != null && m.equals(d.master()) && appliedEpoch == d.epoch() ? null : m;
        }
        Endpoint current = s.readReplica;
        if (current != null && topology.replicas().contains(current) && !isDown(current)) {
            return current;
        }
        if (current != null) {
            readersPerReplica.merge(current, -1, Integer::sum);
            s.readReplica = null;
        }
        // the replicas of this node's zone first (--availability-zone: no cross-zone hop, nor its cost), spread evenly;
        // any other when none of them is up
        Endpoint best = leastRead(topology.nearReplicas());
        if (best == null) {
            best = leastRead(topology.replicas());
        }
        if (best != null) {
            s.readReplica = best;
            readersPerReplica.merge(best, 1, Integer::sum);
            return best;
        }
        return topology.master(); // no healthy replica: reads go to the master
    }

    /** Of {@code replicas}, the one up with the fewest read sessions of this loop; null when none is up. */
    private Endpoint leastRead(List<Endpoint> replicas) {
        Endpoint best = null;
        int fewest = Integer.MAX_VALUE;
        for (Endpoint r : replicas) {
            int n = readersPerReplica.getOrDefault(r, 0);
            if (!isDown(r) && n < fewest) {
                best = r;
                fewest = n;
            }
        }
        return best;
    }

    /** A shared connection to {@code target} for {@code route}, opened when needed; null when it is down. */
    SharedUpstream shared(Port route, Endpoint target) {
        return shared(route, target, false);
    }

    /**
     * A shared connection to {@code target} for {@code route} speaking RESP3 ({@code resp3}) or RESP2, opened
     * when needed; null when the target is down. A pool holds the RESP2 connections first, then as many RESP3
     * ones, so that everything that walks a pool (failover, failures) handles both.
     */
    SharedUpstream shared(Port route, Endpoint target, boolean resp3) {
        return shared(route, target, null, resp3);
    }

    /** As {@link #shared(Port, Endpoint, boolean)}, authenticated as {@code identity} (null: the proxy's own). */
    SharedUpstream shared(Port route, Endpoint target, Identity identity, boolean resp3) {
        return isDown(target) ? null : pools.get(this, route, target, identity, resp3);
    }

    /**
     * A connected dedicated connection to {@code target} (the master, for the write port) that no session uses, or
     * null; another is opened in its place. So a session's first stateful or blocking request is written at once,
     * in the order its client sent it relative to other clients' requests, as on a direct connection: after a
     * connect of its own, requests other clients sent later on the shared connections would reach redis first (a
     * blocking XREADGROUP would miss the XADD sent after it).
     */
    DedicatedUpstream takeSpare(Port route, Endpoint target) {
        if (route != Port.WRITE) {
            return null;
        }
        DedicatedUpstream found = null;
        for (java.util.Iterator<DedicatedUpstream> it = spares.iterator(); it.hasNext(); ) {
            DedicatedUpstream d = it.next();
            if (d.target.equals(target) && d.connected && !d.closed && d.channel.isWritable()) {
                it.remove();
                found = d;
                break;
            }
        }
        fillSpares(target);
        return found;
    }

    /** Opens spares to {@code master} until there are {@link #SPARES}. */
    private void fillSpares(Endpoint master) {
        if (isDown(master)) {
            return;
        }
        long have = spares.stream().filter(d -> d.target.equals(master)).count();
        for (long i = have; i < SPARES; i++) {
            spares.add(DedicatedUpstream.spare(this, master, password.current()));
        }
    }

    /** A spare failed or closed: it is dropped (not replaced until one is taken, so a refusing redis costs nothing). */
    void spareGone(DedicatedUpstream d) {
        spares.remove(d);
    }

    private void closeSpares(Endpoint target) {
        for (DedicatedUpstream d : new ArrayList<>(spares)) {
            if (target == null || d.target.equals(target)) {
                spares.remove(d);
                d.close();
            }
        }
    }

    boolean isDown(Endpoint target) {
        Long until = downUntil.get(target);
        return until != null && System.nanoTime() < until;
    }

    void upstreamUp(Upstream u) {
        downUntil.remove(u.target);
    }

    /**
     * The write port's master answered as a replica (demoted in a handover whose new topology has not reached
     * this proxy yet): until a newer topology comes, the write port has no master, so requests wait for the new
     * one rather than be sent again to a replica.
     */
    void masterDemoted(Endpoint master) {
        if (master.equals(topology.master())) {
            demotion.set(new Demotion(master, appliedEpoch)); // every loop's sessions wait, not only this one's
        }
    }

    /** A master found to be a replica while the topology of {@code epoch} still named it. */
    record Demotion(Endpoint master, long epoch) {}

    /** An upstream connection failed or closed: its redis is presumed down for a moment. */
    void upstreamGone(Upstream u, String reason) {
        pools.forget(u);
        if (!u.deliberate) {
            log.debug("upstream {} gone: {}", u.target, reason);
            downUntil.put(u.target, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_MS));
        }
    }

    // ---- sessions ----

    void sessionOpened(ClientSession s) {
        sessions.add(s);
    }

    void sessionClosed(ClientSession s) {
        sessions.remove(s);
        held.remove(s);
        if (s.readReplica != null) {
            readersPerReplica.merge(s.readReplica, -1, Integer::sum);
            s.readReplica = null;
        }
    }

    /** {@code s} waits for a master: retried on every topology change and every {@link #RETRY_MS}. */
    void held(ClientSession s) {
        held.add(s);
        if (retry == null) {
            retry = eventLoop.scheduleWithFixedDelay(this::retryHeld, RETRY_MS, RETRY_MS, TimeUnit.MILLISECONDS);
        }
    }

    void released(ClientSession s) {
        held.remove(s);
        stopRetryIfIdle();
    }

    private void retryHeld() {
        for (ClientSession s : new ArrayList<>(held)) {
            s.resume();
        }
        stopRetryIfIdle();
    }

    private void stopRetryIfIdle() {
        if (held.isEmpty() && retry != null) {
            retry.cancel(false);
            retry = null;
        }
    }

    int sessionCount() {
        return sessions.size();
    }

    // ---- bytes held for clients ----

    /** What this loop's clients hold now (as last observed); any thread. */
    long heldBytes() {
        return heldBytes;
    }

    /** A session observed that what it holds changed by {@code delta}; on the loop. */
    void heldBytesChanged(long delta) {
        heldBytes += delta; // one writer (this loop): no lost update
    }

    /**
     * This loop's clients hold more than its share of the bound (as last observed): observes every session
     * afresh, then closes the clients that hold the most until the rest are within it, as redis's
     * {@code maxmemory-clients} evicts the clients that use the most memory first. Which clients hold the most
     * is what counts: a client that reads keeps little held whatever it asks for, so these are the ones that
     * stopped reading (or read much slower than their replies come).
     *
     * @return true when {@code current} itself was closed
     */
    boolean overHeldLimit(ClientSession current) {
        for (ClientSession s : sessions) {
            s.output().refresh();
        }
        boolean closedCurrent = false;
        while (heldBytes > heldBytesLimit) {
            ClientSession most = null;
            for (ClientSession s : sessions) {
                if (s.output().held() > 0 && (most == null || s.output().held() > most.output().held())) {
                    most = s;
                }
            }
            if (most == null) {
                break;
            }
            most.overload(true);
            closedCurrent |= most == current;
        }
        return closedCurrent;
    }

    // ---- failover ----

    /**
     * Applies a new topology. Shared connections to a redis that is no longer where their route goes are
     * closed (the requests in flight on them are answered with an error naming the failover); sessions move
     * on their next request, and held sessions retry at once.
     */
    void onTopology(Topology next) {
        Topology previous = topology;
        topology = next;
        appliedEpoch = next.epoch();
        holdWrites = next.writesHeld();
        // A topology without a master carries no count: writes already sent keep the count they left with
        // (WriteConfirmation), and none are sent until a master is known again.
        syncReplicas = next.syncReplicas();
        String reason = next.hasMaster()
                ? "failover: the master is now " + next.master() + " (epoch " + next.epoch() + ")"
                : "failover: the hive has no master at the moment";
        // With no master known for a moment (a leader that went silent, often only briefly), the connections to
        // the last one stay: requests in flight on it get its replies (if its redis is gone, the connection
        // fails by itself), new requests wait. They close when a different master is published.
        Endpoint was = previous.master() != null ? previous.master() : lastMaster;
        if (next.master() == null) {
            lastMaster = was;
        } else {
            lastMaster = null;
            if (was != null && !was.equals(next.master())) {
                // counted before the old master's connections close: what each session had in flight decides
                for (ClientSession s : sessions) {
                    s.countMasterChange(was);
                }
                pools.close(Port.WRITE, was, reason);
                closeSpares(was);
                downUntil.remove(was);
            }
        }
        for (Endpoint r : pools.targets(Port.READ)) {
            if (!next.replicas().contains(r) && !r.equals(next.master())) {
                pools.close(Port.READ, r, "replica " + r + " is no longer healthy");
            }
        }
        if (next.master() != null) {
            downUntil.remove(next.master());
            // connect now, so that the first requests after a failover do not pay for it
            for (int i = 0; i < settings.sharedPerLoop(); i++) {
                shared(Port.WRITE, next.master());
            }
            fillSpares(next.master());
        }
        for (ClientSession s : new ArrayList<>(sessions)) {
            s.onTopologyChanged(reason);
        }
    }

    /** Asks every session to close once it has nothing outstanding. */
    void drainSessions() {
        for (ClientSession s : new ArrayList<>(sessions)) {
            s.closeWhenIdle();
        }
    }

    /** Closes every session and upstream (the proxy is stopping). */
    void closeAll() {
        for (ClientSession s : new ArrayList<>(sessions)) {
            s.closeClient();
        }
        pools.closeAll("proxy stopping");
        closeSpares(null);
        if (retry != null) {
            retry.cancel(false);
        }
    }
}
