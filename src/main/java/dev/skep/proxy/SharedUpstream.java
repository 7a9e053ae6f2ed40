package dev.skep.proxy;

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
    /** The session of each request sent and not yet answered, in order. */
    private final ArrayDeque<ClientSession> waiting = new ArrayDeque<>();
    /** Sessions that got replies during the current read batch: their clients are flushed after it. */
    private final Set<ClientSession> replied = new LinkedHashSet<>();
    /** Sessions that use this connection (to resume their reads when it becomes writable again). */
    final Set<ClientSession> attached = new LinkedHashSet<>();
    /** Sessions waiting for this connection to come up. */
    private final List<ClientSession> awaitingConnect = new ArrayList<>();

    SharedUpstream(LoopContext loop, Endpoint target, Port route) {
        super(loop, target, route);
    }

    void start(String password) {
        connect(password.isEmpty() ? List.of() : List.of(RequestArgs.encode("AUTH", password)));
    }

    /**
     * Sends {@code count} consecutive requests of {@code session} in one buffer (the connection must be
     * connected); flushed by {@link #flush()}.
     */
    void send(ClientSession session, ByteBuf requests, int count) {
        for (int i = 0; i < count; i++) {
            waiting.add(session);
        }
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
        ClientSession s = push ? null : waiting.poll();
        if (s == null || push) {
            in.skipBytes(length); // shared connections never subscribe: nothing unsolicited is expected
            return;
        }
        int at = in.readerIndex();
        if (s == runSession && runEnd == at && s.canTakeRepliesTogether()) {
            runEnd += length;
            runCount++;
        } else {
            endOfFrames(in);
            if (s.canTakeRepliesTogether()) {
                runSession = s;
                runStart = at;
                runEnd = at + length;
                runCount = 1;
            } else {
                s.onUpstreamReply(in.retainedSlice(at, length));
                replied.add(s);
            }
        }
        in.skipBytes(length);
    }

    @Override
    void endOfFrames(ByteBuf in) {
        if (runSession != null) {
            ClientSession s = runSession;
            runSession = null;
            s.onUpstreamReplies(in.retainedSlice(runStart, runEnd - runStart), runCount);
            replied.add(s);
        }
    }

    private ClientSession runSession;
    private int runStart;
    private int runEnd;
    private int runCount;

    @Override
    void onReply(ByteBuf frame, boolean push) {
        ClientSession s = waiting.poll();
        if (s == null || push) {
            frame.release(); // shared connections never subscribe: nothing unsolicited is expected
            return;
        }
        s.onUpstreamReply(frame);
        replied.add(s);
    }

    @Override
    void afterReads() {
        for (ClientSession s : replied) {
            s.flushClient();
        }
        replied.clear();
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
        // Requests sent and unanswered: their outcome is unknown, each gets an error in its place.
        ArrayDeque<ClientSession> lost = new ArrayDeque<>(waiting);
        waiting.clear();
        for (ClientSession s : lost) {
            s.onUpstreamLost(this, reason);
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
        for (ClientSession s : lost) {
            s.flushClient();
        }
    }

    int waitingCount() {
        return waiting.size();
    }
}
