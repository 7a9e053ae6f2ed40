package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;

import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A proxy loop with one client session, all on Netty's {@code EmbeddedChannel}s: the client's connection and
 * every connection the proxy opens to a redis, which the test answers by hand. No sockets, no threads: the
 * bytes the session writes are exactly what the test reads, in order, so ordering, parking, holding and
 * failover can be checked byte for byte. Not a redis: the test plays each redis's part.
 */
final class SessionBench implements AutoCloseable {
    static final Endpoint A = new Endpoint("10.0.0.1", 6379);
    static final Endpoint B = new Endpoint("10.0.0.2", 6379);
    static final Endpoint PEER_A = new Endpoint("10.0.0.1", 7380);
    static final Endpoint PEER_B = new Endpoint("10.0.0.2", 7380);

    /** One connection the proxy opened to a redis. */
    static final class Conn {
        final Endpoint target;
        final EmbeddedChannel channel;
        /** What the proxy sent on its own when the connection opened (AUTH, HELLO 3, a session's state). */
        String setup = "";

        Conn(Endpoint target, EmbeddedChannel channel) {
            this.target = target;
            this.channel = channel;
        }

        /** What the proxy sent on this connection since the last call, as text. */
        String sent() {
            channel.runPendingTasks();
            StringBuilder b = new StringBuilder();
            for (Object o; (o = channel.readOutbound()) != null; ) {
                ByteBuf buf = (ByteBuf) o;
                b.append(buf.toString(StandardCharsets.UTF_8));
                buf.release();
            }
            return b.toString();
        }

        /** Redis answers with these bytes. */
        void reply(String resp) {
            channel.writeInbound(Unpooled.copiedBuffer(resp, StandardCharsets.UTF_8));
        }

        /** The redis dies: the connection closes under the proxy. */
        void crash() {
            channel.close();
        }

        boolean open() {
            return channel.isOpen();
        }
    }

    final List<Conn> conns = new ArrayList<>();
    /** Redis servers that refuse connections. */
    final Set<Endpoint> down = new HashSet<>();
    final EmbeddedChannel loopChannel = new EmbeddedChannel();
    final LoopContext loop;
    final EmbeddedChannel client;
    private long epoch;

    SessionBench(ProxySettings settings, Port port) {
        // virtual time only: an EmbeddedChannel's clock otherwise also runs with the machine's, and on a loaded
        // machine "advance(499)" after a hold of 500 ms found it already over (a CI run)
        loopChannel.freezeTime();
        LoopContext.Connector connector = this::connect;
        loop = new LoopContext(loopChannel.eventLoop(), settings, connector, ProxyServer.Observer.NONE,
                settings.heldLimit(), new AtomicReference<>(), new HivePassword(settings.upstreamPassword()));
        client = new EmbeddedChannel(new ClientSession(loop, port));
        client.freezeTime();
        pump();
    }

    /** Write port, nothing held back, connections closed on an unknown outcome (the defaults). */
    static SessionBench writePort() {
        return new SessionBench(settings(""), Port.WRITE);
    }

    static ProxySettings settings(String password) {
        return new ProxySettings("127.0.0.1", 0, 0, 500, 100, password, 1, 1 << 20, 1 << 24);
    }

    private ChannelFuture connect(Endpoint target, ChannelHandler handler) {
        EmbeddedChannel ch = new EmbeddedChannel(handler);
        ch.freezeTime();
        if (down.contains(target)) {
            return ch.newFailedFuture(new ConnectException("Connection refused"));
        }
        conns.add(new Conn(target, ch));
        return ch.newSucceededFuture();
    }

    /** The hive names {@code master} (of {@code leader}), a new epoch. */
    SessionBench master(Endpoint leader, Endpoint master) {
        loop.onTopology(new Topology(++epoch, leader, master, List.of()));
        pump();
        return this;
    }

    /** Reads what the connections open now sent on their own (AUTH...) into their {@link Conn#setup}. */
    SessionBench setupSent() {
        for (Conn c : conns) {
            c.setup += c.sent();
        }
        return this;
    }

    /** A planned handover from {@code master} has begun: it answers what it was sent, new writes wait. */
    SessionBench handover(Endpoint leader, Endpoint master) {
        loop.onTopology(new Topology(epoch, leader, master, List.of(), true));
        pump();
        return this;
    }

    /** {@code --quorum majority}: {@code master}, each write confirmed by {@code replicas} replicas. */
    SessionBench masterWithQuorum(Endpoint leader, Endpoint master, int replicas) {
        loop.onTopology(new Topology(++epoch, leader, master, List.of(), false, replicas));
        pump();
        return this;
    }

    /** The hive has no master for the moment. */
    SessionBench noMaster() {
        loop.onTopology(new Topology(epoch, null, null, List.of()));
        pump();
        return this;
    }

    /** The client sends these bytes (one read). */
    void send(String resp) {
        client.writeInbound(Unpooled.copiedBuffer(resp, StandardCharsets.UTF_8));
        pump();
    }

    /** What the client received since the last call, as text. */
    String received() {
        pump();
        StringBuilder b = new StringBuilder();
        for (Object o; (o = client.readOutbound()) != null; ) {
            ByteBuf buf = (ByteBuf) o;
            b.append(buf.toString(StandardCharsets.UTF_8));
            buf.release();
        }
        return b.toString();
    }

    /** The connection to {@code target} that has requests the test has not read yet (exactly one must). */
    Conn with(Endpoint target) {
        pump();
        Conn found = null;
        for (Conn c : conns) {
            if (c.target.equals(target) && !c.channel.outboundMessages().isEmpty()) {
                if (found != null) {
                    throw new AssertionError("requests on more than one connection to " + target);
                }
                found = c;
            }
        }
        if (found == null) {
            throw new AssertionError("no requests waiting on a connection to " + target);
        }
        return found;
    }

    /** True when no connection to {@code target} has anything unread from the proxy. */
    boolean nothingSentTo(Endpoint target) {
        pump();
        return conns.stream().filter(c -> c.target.equals(target)).allMatch(c -> c.channel.outboundMessages().isEmpty());
    }

    /** Lets time pass on the client's loop (timers: the hold, the retire bound). */
    void advance(long ms) {
        client.advanceTimeBy(ms, TimeUnit.MILLISECONDS);
        loopChannel.advanceTimeBy(ms, TimeUnit.MILLISECONDS);
        client.runScheduledPendingTasks();
        loopChannel.runScheduledPendingTasks();
        pump();
    }

    /** Runs every task the channels have queued (flushes are tasks), until none is left. */
    void pump() {
        for (int round = 0; round < 100; round++) {
            boolean any = false;
            for (EmbeddedChannel ch : channels()) {
                if (ch.hasPendingTasks()) {
                    ch.runPendingTasks();
                    any = true;
                }
            }
            if (!any) {
                return;
            }
        }
        throw new AssertionError("tasks keep coming");
    }

    private List<EmbeddedChannel> channels() {
        List<EmbeddedChannel> all = new ArrayList<>();
        all.add(loopChannel);
        if (client != null) {
            all.add(client);
        }
        for (Conn c : new ArrayList<>(conns)) {
            all.add(c.channel);
        }
        return all;
    }

    /** A request in RESP, as clients send it. */
    static String cmd(String... args) {
        StringBuilder b = new StringBuilder("*").append(args.length).append("\r\n");
        for (String a : args) {
            b.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
        }
        return b.toString();
    }

    @Override
    public void close() {
        client.finishAndReleaseAll();
        for (Conn c : conns) {
            c.channel.finishAndReleaseAll();
        }
        loopChannel.finishAndReleaseAll();
    }
}
