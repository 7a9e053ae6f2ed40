package dev.skep.proxy;

import dev.skep.proxy.RequestReader.Wait;
import dev.skep.proxy.Upstream.Port;
import dev.skep.topology.Endpoint;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * What a client sees when its session's dedicated connection goes (see {@link #handle}): the one place that tells a
 * crash from a kill, an unknown outcome from a clean break, and a session that can move to the new master from one
 * that must start again. Confined to the client channel's event loop.
 */
final class LinkLoss {
    private final DedicatedLink link;
    private final ClientSession session;
    private final LoopContext loop;
    private final Port route;
    private final PendingReplies slots;
    private final SessionState state;

    LinkLoss(DedicatedLink link, ClientSession session, LoopContext loop, Port route, PendingReplies slots,
            SessionState state) {
        this.link = link;
        this.session = session;
        this.loop = loop;
        this.route = route;
        this.slots = slots;
        this.state = state;
    }

    /**
     * The connection {@code d} is gone ({@code killSent}: the session had sent CLIENT KILL on it). What the client
     * sees depends on what it owed: a reply cut midway closes the client; a kill it asked for closes it as redis did; a subscribed-only session subscribes again on the new master;
     * with an unknown outcome (or state only that connection held) the client closes after the replies owed before
     * (--unknown-outcome close) or each lost request gets an error; an idle connection redis closed unasked is
     * told from a crash by a probe ({@link #verifyKilled}).
     */
    void handle(DedicatedUpstream d, String reason, boolean wasConnected, boolean killSent) {
        if (session.streamedMidReply()) {
            session.cutMidReply();
            return;
        }
        if (killSent && wasConnected && !d.deliberate) {
            // CLIENT KILL named this session's own connection (ID, ADDR, SKIPME no...): redis answered the kill and
            // closed it, and would have closed the client's connection: so does the proxy, after the replies
            link.closeAsRedisDid();
            return;
        }
        if (wasConnected && state.onlySubscribed() && !link.unknownOutcome()) {
            Endpoint target = loop.target(session);
            if (target != null && !target.equals(d.target) && !loop.isDown(target)) {
                resubscribe(target);
                return;
            }
        }
        if (loop.settings().closeOnUnknown() && (link.unknownOutcome() || (wasConnected && state.pinned()))) {
            // As a client of a demoted master sees under Sentinel: the connection closes, after the replies owed
            // before the first request whose outcome is unknown; libraries reconnect (and replay their state).
            if (state.pinned() && !link.unknownOutcome()) {
                loop.counters.increment(route, ProxyCount.SESSIONS_CLOSED);
                link.closeAsRedisDid();
            } else {
                link.dropHeldReply();
                slots.writeLocalReplies();
                session.cutMidReply();
            }
            return;
        }
        if (wasConnected && !d.deliberate && !link.unknownOutcome() && !state.pinned() && session.reader().waitState() == Wait.NONE
                && !session.reader().hasParked()) {
            verifyKilled(d.target);
            return;
        }
        String lost = "ERR " + reason + ": the command may or may not have been executed";
        if (link.dropHeldReply()) {
            session.write(ClientSession.errorReply(lost));
        }
        slots.failAll(s -> {
            if (!(s instanceof Slot.Confirmation)) { // a request of the client's: its reply will not come
                s.release();
                session.failover().lost();
                session.write(ClientSession.errorReply(lost));
            }
        });
        if (wasConnected && state.pinned()) {
            // MULTI, WATCH, subscriptions, MONITOR, tracking, replies off: state the new master cannot be
            // given; the client must see the break and start again.
            loop.counters.increment(route, ProxyCount.SESSIONS_CLOSED);
            session.client().writeAndFlush(ClientSession.errorReply("ERR " + reason + ": this connection's state "
                    + "(transaction, subscription...) cannot move to the new master; reconnect"))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        session.client().flush();
        // Continue whatever waited (a parked request reconnects with the state replayed, or holds), and
        // read again: the client may have been paused because the dying connection had stopped being writable.
        session.resume();
        session.maybeRead();
    }

    /**
     * Redis closed this session's idle connection, and the proxy did not ask it to: either the redis is gone
     * (crashed, stopped), and the session waits for a master as usual, or it is up and closed just that
     * connection ({@code CLIENT KILL} by another client, its {@code timeout}, an output buffer limit), and the
     * client's connection closes as it would have on redis. A TCP connect to the redis tells which; nothing of
     * the client's is read meanwhile.
     */
    private void verifyKilled(Endpoint target) {
        session.reader().waitFor(Wait.VERIFY);
        loop.connect(target, new ChannelInboundHandlerAdapter()).addListener((ChannelFutureListener) f -> {
            boolean up = f.isSuccess();
            if (up) {
                f.channel().close();
            }
            if (session.isClosed() || session.reader().waitState() != Wait.VERIFY) {
                return;
            }
            session.reader().waitFor(Wait.NONE);
            if (up && target.equals(loop.target(session))) {
                link.closeAsRedisDid();
            } else {
                session.goOn();
            }
        });
    }

    /**
     * The master changed under a session that is only subscribed (a Celery worker's remote control, a cache's
     * invalidation listener): it subscribes again on the new master, with its state replayed first, and the
     * confirmations are consumed, so the client sees nothing but the messages published from then on. Messages
     * published while it moved are not delivered, as pub/sub promises no more than once (a client of a demoted
     * master under Sentinel is closed instead, and misses them as well).
     */
    private void resubscribe(Endpoint target) {
        DedicatedUpstream next = new DedicatedUpstream(loop, target, route, link);
        link.resubscribed(next);
        session.failover().sentTo(target);
        next.start(state.replay(), state.resubscribe(), state.subscriptions(), state.protocol() == 3);
        session.client().flush();
        session.maybeRead();
    }
}
