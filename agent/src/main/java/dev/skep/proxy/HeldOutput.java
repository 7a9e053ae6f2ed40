package dev.skep.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;

/**
 * What one client's outbound buffer holds that the client has not taken yet, counted in its loop's total: the
 * proxy's own memory spent on a client that does not read. The session observes it after each flush ({@link
 * #observe}); past {@link ProxySettings#clientHeldLimit} for this client, or when the loop's clients together pass
 * the loop's share of {@link ProxySettings#heldLimit} and this one holds the most, the client is to be closed, as
 * redis closes one over its {@code client-output-buffer-limit} (ProxyOverloadIT). While anything is held, a
 * listener observes again once it has all been written, so the count goes back down without new replies.
 *
 * <p>Confined to the client channel's event loop.
 */
final class HeldOutput {
    /** What {@link #observe} found. */
    enum Verdict { WITHIN, OVER_CLIENT_LIMIT, CLOSED_FOR_THE_LOOP }

    private final LoopContext loop;
    private final ClientSession session;
    private Channel client;
    /** Bytes the client's outbound buffer held at the last observation, as counted in the loop's total. */
    private long held;
    /** A listener waits for the client's outbound buffer to drain, to observe it again then. */
    private boolean drainWatched;
    private boolean stopped;

    HeldOutput(LoopContext loop, ClientSession session) {
        this.loop = loop;
        this.session = session;
    }

    void attach(Channel client) {
        this.client = client;
    }

    /** After replies were written and flushed: counts what is held and checks it against the bounds. */
    Verdict observe() {
        long now = refresh();
        if (now == 0) {
            return Verdict.WITHIN; // the common case: the socket took everything
        }
        if (now > loop.settings().clientHeldLimit()) {
            return Verdict.OVER_CLIENT_LIMIT;
        }
        if (loop.heldBytes() > loop.heldBytesLimit && loop.overHeldLimit(session)) {
            return Verdict.CLOSED_FOR_THE_LOOP;
        }
        watchDrain();
        return Verdict.WITHIN;
    }

    /**
     * Observes again once the client has taken what its outbound buffer holds now: an empty write completes when
     * everything before it is written. Its listener runs in the middle of Netty's flush (before the entry's own
     * overhead is uncounted), so the observation is a task of its own after it.
     */
    private void watchDrain() {
        if (drainWatched || stopped) {
            return;
        }
        drainWatched = true;
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> client.eventLoop().execute(drained));
    }

    private final Runnable drained = () -> {
        drainWatched = false;
        if (refresh() > 0) {
            watchDrain(); // more was written meanwhile
        }
    };

    /** Observes what the client's outbound buffer holds now, and counts the change in the loop's total. */
    long refresh() {
        long now = 0;
        if (!stopped) {
            io.netty.channel.ChannelOutboundBuffer out = client.unsafe().outboundBuffer();
            now = out == null ? 0 : out.totalPendingWriteBytes();
        }
        if (now != held) {
            loop.heldBytesChanged(now - held);
            held = now;
        }
        return now;
    }

    /** What the client's outbound buffer held at the last observation. */
    long held() {
        return held;
    }

    /** The client is closed: what it held leaves the loop's total, and nothing is counted for it any more. */
    void stop() {
        stopped = true;
        loop.heldBytesChanged(-held);
        held = 0;
    }
}
