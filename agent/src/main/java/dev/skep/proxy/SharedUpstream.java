package dev.skep.proxy;

import dev.skep.resp.RespWriter;
import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A connection shared by many plain sessions: their requests are pipelined on it together, and its
 * replies, which redis returns in request order, go back to the sessions in that same order. This is what
 * lets redis do one read and one write for many clients' commands.
 *
 * <p>Only requests on the shared allowlist are sent here (see {@code resp.CommandTable}): they depend on no
 * connection state, so whose connection runs them does not matter. Event-loop confined.
 */
final class SharedUpstream extends Upstream {
    /** What a reply on this connection answers: a session's request, or the proxy's own WAIT. */
    sealed interface Awaited permits SharedLink, Confirmed, OwnWait {}

    /**
     * --quorum majority: a request of a batch that holds a write, whose reply reaches the client only once the
     * WAIT after it says enough replicas have it (an error otherwise).
     */
    record Confirmed(SharedLink link) implements Awaited {}

    /** The WAIT the proxy sent after writes, and how many replicas it needs. */
    record OwnWait(WriteConfirmation needed) implements Awaited {}

    /** What each request sent and not yet answered is, in order. */
    private final ArrayDeque<Awaited> waiting = new ArrayDeque<>();
    /** Replies that arrived while a WAIT covering them was out. */
    private final ConfirmationGate<SharedLink> gate = new ConfirmationGate<>();
    private final ConfirmationGate.Sink<SharedLink> release = new ConfirmationGate.Sink<>() {
        @Override
        public void reply(SharedLink link, ByteBuf reply) {
            link.onReply(reply);
            replied(link);
        }

        @Override
        public void unconfirmed(SharedLink link, String error) {
            link.onError(error);
            replied(link);
        }
    };
    /**
     * What the writes sent since the last WAIT need confirmed (the strictest count any of them was sent under);
     * null when none was sent under a quorum. Fixed at send time: see {@link WriteConfirmation}.
     */
    private WriteConfirmation sinceWait;
    /**
     * Sessions that got replies during the current read batch, each once ({@link SharedLink#flushPending}):
     * their clients are flushed after it. A list and a flag rather than a set: no node allocated per reply.
     */
    private final ArrayList<SharedLink> replied = new ArrayList<>();
    /** Sessions that use this connection (to resume their reads when it becomes writable again). */
    final Set<ClientSession> attached = new LinkedHashSet<>();
    /** Sessions waiting for this connection to come up. */
    private final List<ClientSession> awaitingConnect = new ArrayList<>();

    /** This connection speaks RESP3 (HELLO 3 at connect): for sessions that asked for it. */
    final boolean resp3;

    SharedUpstream(LoopContext loop, Endpoint target, Port route) {
        this(loop, target, route, false);
    }

    SharedUpstream(LoopContext loop, Endpoint target, Port route, boolean resp3) {
        super(loop, target, route);
        this.resp3 = resp3;
    }

    /** Connects and authenticates as {@code identity}, or (null) with the proxy's {@code password} if it has one. */
    void start(Identity identity, String password) {
        List<byte[]> setup = new ArrayList<>();
        if (identity != null) {
            setup.add(RespWriter.request("AUTH", identity.user(), identity.password()));
        } else if (!password.isEmpty()) {
            setup.add(RespWriter.request("AUTH", password));
        }
        if (resp3) {
            setup.add(RespWriter.request("HELLO", "3"));
        }
        connect(setup);
    }

    /**
     * Sends {@code count} consecutive requests of {@code session} in one buffer (the connection must be
     * connected); flushed by {@link #flush()}.
     */
    void send(SharedLink link, ByteBuf requests, int count, boolean hasWrite) {
        WriteConfirmation needed = hasWrite && route == Port.WRITE ? loop.confirmation() : null;
        Awaited entry = needed != null ? new Confirmed(link) : link;
        for (int i = 0; i < count; i++) {
            waiting.add(entry);
        }
        if (needed != null) {
            sinceWait = needed.max(sinceWait);
        }
        inFlight(waiting.size());
        channel.write(requests, channel.voidPromise());
    }

    /**
     * Flushes once all the sessions that read in this event-loop iteration have written their requests: the
     * flush runs as a task, after the loop has handled every ready socket. So the requests of many clients
     * leave in one write, and redis answers them with one read and one write (as twemproxy does), instead
     * of a write per client.
     */
    void flush() {
        if (connected && !flushScheduled) {
            flushScheduled = true;
            channel.eventLoop().execute(flushTask);
        }
    }

    private boolean flushScheduled;
    private final Runnable flushTask = () -> {
        flushScheduled = false;
        if (connected) {
            if (sinceWait != null) {
                // --quorum majority: the replies to these requests are held until a majority has them, as many
                // replicas as they were sent needing, even if the topology has changed since
                WriteConfirmation wait = sinceWait;
                sinceWait = null;
                waiting.add(new OwnWait(wait));
                inFlight(waiting.size());
                gate.waitSent();
                channel.write(channel.alloc().buffer().writeBytes(wait.request()), channel.voidPromise());
            }
            channel.flush();
        }
    };

    void awaitConnect(ClientSession session) {
        awaitingConnect.add(session);
    }

    @Override
    void onConnected() {
        loop.upstreamUp(this);
        List<ClientSession> ready = new ArrayList<>(awaitingConnect);
        awaitingConnect.clear();
        for (ClientSession s : ready) {
            s.resume();
        }
    }

    /**
     * Consecutive replies for the same session go to its client as one slice (one buffer, one write) rather
     * than one buffer per reply: at {@code -P 16} a client's sixteen replies arrive together.
     */
    @Override
    void onFrame(ByteBuf in, int length, boolean push) {
        Awaited next = push ? null : waiting.poll();
        if (next == null || push) {
            in.skipBytes(length); // shared connections never subscribe: nothing unsolicited is expected
            return;
        }
        if (gate.closed()) {
            endOfFrames(in);
            gated(next, in.readRetainedSlice(length));
            return;
        }
        SharedLink s = link(next);
        int at = in.readerIndex();
        if (route == Port.WRITE && in.getByte(at) == '-' && startsWith(in, at, READONLY)) {
            // The master this connection reached is a replica now (demoted in a handover this proxy has not heard
            // of yet): the request did not run. Its client is told as at an unknown outcome (closed, or redis's
            // own error with --unknown-outcome error), and the connection fails, so that no more requests go to
            // that redis until the topology names it again; the sessions wait for the new master meanwhile.
            endOfFrames(in);
            loop.masterDemoted(target);
            if (loop.settings().closeOnUnknown()) {
                in.skipBytes(length);
                s.onLost("redis " + target + " is a replica now");
            } else {
                s.onReply(in.readRetainedSlice(length));
            }
            replied(s);
            fail("redis " + target + " answered -READONLY: it is a replica now", true);
            return;
        }
        if (s == runSession && runEnd == at && s.canTakeRepliesTogether()) {
            runEnd += length;
            runCount++;
            runLargest = Math.max(runLargest, length);
        } else {
            endOfFrames(in);
            if (s.canTakeRepliesTogether()) {
                runSession = s;
                runStart = at;
                runEnd = at + length;
                runCount = 1;
                runLargest = length;
            } else {
                s.onReply(in.retainedSlice(at, length));
                replied(s);
            }
        }
        in.skipBytes(length);
    }

    @Override
    void endOfFrames(ByteBuf in) {
        if (runSession != null) {
            SharedLink s = runSession;
            runSession = null;
            s.onReplies(in.retainedSlice(runStart, runEnd - runStart), runCount, runLargest);
            replied(s);
        }
    }

    private SharedLink runSession;
    private int runStart;
    private int runEnd;
    private int runCount;
    private int runLargest;

    /**
     * The start of the next reply, passed to its session as it streams in: only when nothing holds it back (no
     * WAIT is out whose answer decides what the client gets). For a session that is gone, the bytes are dropped
     * as they come: replies to a client the proxy closed are never gathered.
     */
    @Override
    int onPartial(ByteBuf in, int n) {
        if (gate.closed() || !(waiting.peek() instanceof SharedLink s)) {
            return 0;
        }
        s.onPartial(in.readRetainedSlice(n));
        replied(s);
        return n;
    }

    @Override
    void onReply(ByteBuf frame, boolean push) {
        Awaited next = waiting.poll();
        if (next == null || push) {
            frame.release(); // shared connections never subscribe: nothing unsolicited is expected
            return;
        }
        if (gate.closed()) {
            gated(next, frame);
            return;
        }
        SharedLink s = link(next);
        s.onReply(frame);
        replied(s);
    }

    /**
     * A reply while a WAIT is out: held, or, when it is the WAIT's own answer, the release of what was held (to the
     * clients when enough replicas have the writes; otherwise each write's reply becomes an error).
     */
    private void gated(Awaited next, ByteBuf frame) {
        if (next instanceof OwnWait w) {
            gate.answered(w.needed(), frame, release);
        } else {
            gate.hold(link(next), frame, next instanceof Confirmed);
        }
    }

    /** The session a request belongs to (never called for the proxy's own WAIT). */
    private static SharedLink link(Awaited a) {
        return a instanceof Confirmed c ? c.link() : (SharedLink) a;
    }

    private void replied(SharedLink s) {
        if (!s.flushPending) {
            s.flushPending = true;
            replied.add(s);
        }
    }

    @Override
    void afterReads() {
        // by index: a flush that fails this connection (onFailed) comes back here and empties the list
        for (int i = 0; i < replied.size(); i++) {
            SharedLink s = replied.get(i);
            s.flushPending = false;
            s.session().flushClient();
        }
        replied.clear();
        inFlight(waiting.size());
    }

    @Override
    boolean readWanted() {
        return true; // shared: one slow client must not stall the others (its own reads stop instead)
    }

    @Override
    void onWritable() {
        for (ClientSession s : List.copyOf(attached)) {
            s.maybeRead();
        }
    }

    @Override
    void onFailed(String reason, boolean wasConnected) {
        loop.upstreamGone(this, reason);
        // Requests sent and unanswered (or answered, not yet confirmed by replicas): their outcome is unknown,
        // each gets an error in its place, in order.
        ArrayDeque<SharedLink> lost = new ArrayDeque<>();
        gate.fail(lost::add);
        for (Awaited a : waiting) {
            if (!(a instanceof OwnWait)) {
                lost.add(link(a));
            }
        }
        waiting.clear();
        sinceWait = null;
        for (SharedLink s : lost) {
            s.onLost(reason);
        }
        for (ClientSession s : Set.copyOf(attached)) {
            s.detachShared(this);
        }
        attached.clear();
        List<ClientSession> parked = new ArrayList<>(awaitingConnect);
        awaitingConnect.clear();
        for (ClientSession s : parked) {
            s.resume(); // they will find the target down, and hold
        }
        afterReads();
        for (SharedLink s : lost) {
            s.session().flushClient();
        }
    }

    int waitingCount() {
        return waiting.size();
    }
}
