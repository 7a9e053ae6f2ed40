package dev.skep.proxy;

/**
 * How many requests one session may have unanswered, learned from the size of its replies: the session's flow
 * control. Pure bookkeeping (no I/O): the session asks {@link #full} before forwarding a request and reports
 * every reply's size ({@link #replied}) and every streamed chunk ({@link #streamed}).
 *
 * <p>The window is 1 at first, doubled each time replies come back to a session that had filled it, shrunk by an
 * eighth each time they come back to one that had not, and never more than its replies, at their estimated size,
 * fill {@link #SHARED_IN_FLIGHT_BYTES} (or {@link #DEDICATED_IN_FLIGHT_BYTES}), nor {@link
 * ProxySettings#MAX_IN_FLIGHT}. So it is as deep as the client pipelines, not deeper: a session that exchanged
 * small replies one at a time and then pipelines hundreds of large reads (a client's handshake, then the flood)
 * gets a couple out before their size is known, not 1024. Deep pipelines of small replies reach the full depth
 * after ten round trips (ClientSessionTest checks the first doublings byte for byte).
 *
 * <p>Why bytes, not requests: a shared connection must keep reading (one slow client must not stall the others), so
 * the replies to what a session sent arrive whether or not its client reads them, ahead of other sessions' replies,
 * and are held for a client that stopped reading: the window is what bounds them. A session whose replies turn out
 * large ({@link #LARGE_REPLY}) moves to a dedicated connection, where the proxy stops reading from redis while its
 * client lags and its replies hold up no one else's.
 *
 * <p>Confined to its session's event loop.
 */
final class ReplyWindow {
    /**
     * A session that gets a reply this large (or larger) sends its requests over a dedicated connection from then
     * on: on a shared one, such replies hold up every other session's behind them for as long as they take to
     * pass, and while its client lags they could only be held by the proxy. The size of a client's outbound high
     * water mark: above it, a reply alone stops the session being read.
     */
    static final long LARGE_REPLY = 256 * 1024;
    /**
     * Expected reply bytes a session may have in flight on a shared connection: what may stand ahead of other
     * sessions' replies on it, and what arrives for a client that has stopped reading, because of that session.
     */
    static final long SHARED_IN_FLIGHT_BYTES = 1024 * 1024;
    /**
     * The same on a dedicated connection, where it is redis that holds what a lagging client has not taken (the
     * proxy stops reading): enough to keep a client that reads large values busy.
     */
    static final long DEDICATED_IN_FLIGHT_BYTES = 8 * 1024 * 1024;

    /** The size of this session's replies so far (up at once, down gently); -1 until the first one. */
    private long replyEstimate = -1;
    private int window = 1;
    /** The session stopped forwarding because {@link #window} requests were unanswered: it wanted more. */
    private boolean wantedMore;
    /** A reply of {@link #LARGE_REPLY} or more was seen: plain requests go over a dedicated connection too. */
    private boolean largeReplies;
    /** Bytes of the reply in progress already passed to the client as they streamed in; 0 between replies. */
    private long streamed;
    /**
     * The most requests the session had unanswered when it asked to forward another, in its current burst (since it
     * last had none unanswered) and in the burst before: how deep the client pipelines.
     */
    private int burstDepth;
    private int lastBurstDepth;

    /** True when {@code inFlight} requests fill the window (and the session is noted as wanting more). */
    boolean full(int inFlight) {
        if (inFlight >= window) {
            wantedMore = true;
            return true;
        }
        burstDepth = Math.max(burstDepth, inFlight);
        return false;
    }

    /** A chunk of {@code bytes} of the reply in progress went to the client before the reply was complete. */
    void streamed(long bytes) {
        streamed += bytes;
        if (streamed >= LARGE_REPLY) {
            largeReplies = true;
        }
    }

    /** Bytes of the reply in progress that already streamed to the client (a cut now would leave it half-sent). */
    long streamedSoFar() {
        return streamed;
    }

    /** A frame that is not a reply (a pub/sub message, a MONITOR line) completed what streamed of it. */
    void frameDone() {
        streamed = 0;
    }

    /**
     * {@code count} replies of {@code bytes} together (the largest {@code largest}) are complete, with what of the
     * first had streamed ahead, and {@code stillInFlight} requests are unanswered after them: their size adjusts the
     * estimate, hence the window. Up at once, since one large reply is enough to hold others up; down by a quarter of
     * the difference per batch.
     *
     * <p>The window shrinks no lower than one more than the client's pipeline has been deep in its last two bursts
     * (within the ceiling its replies' size sets): a client that sends 16 requests and waits for their 16 replies
     * would otherwise fill a window shrunk to 16 every few turns, and each time its connection's reads would be
     * stopped and resumed (two {@code epoll_ctl} calls: one system call in eight at {@code -c 50 -P 16}), for
     * requests it does not send before its replies come anyway.
     */
    void replied(long bytes, int count, long largest, boolean dedicated, int stillInFlight) {
        bytes += streamed;
        largest = Math.max(largest, streamed);
        streamed = 0;
        if (largest >= LARGE_REPLY) {
            largeReplies = true;
        }
        long size = bytes / count;
        long was = replyEstimate;
        replyEstimate = was < 0 || size > was ? size : was - ((was - size) >> 2);
        long budget = dedicated ? DEDICATED_IN_FLIGHT_BYTES : SHARED_IN_FLIGHT_BYTES;
        int ceiling = (int) Math.max(1, Math.min(ProxySettings.MAX_IN_FLIGHT, budget / Math.max(1, replyEstimate)));
        if (wantedMore) {
            wantedMore = false;
            window = Math.min(ceiling, window * 2);
        } else {
            int floor = Math.max(burstDepth, lastBurstDepth) + 1;
            window = Math.min(ceiling, Math.max(floor, window - (window >> 3)));
        }
        if (stillInFlight == 0) {
            lastBurstDepth = burstDepth;
            burstDepth = 0;
        }
    }

    /** A reply of {@link #LARGE_REPLY} or more was seen. */
    boolean largeReplies() {
        return largeReplies;
    }

    int size() {
        return window;
    }
}
