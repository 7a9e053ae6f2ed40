package dev.skep.proxy;

import dev.skep.proxy.RequestReader.Wait;
import dev.skep.proxy.Upstream.Port;
import dev.skep.resp.RequestArguments;
import dev.skep.resp.Route;
import dev.skep.topology.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Where each framed request of a session goes: refused in its place, answered by the proxy ({@link LocalCommand}),
 * over the shared connections (plain requests, while the session has needed nothing else), or over the session's
 * dedicated connection (from its first request off the shared allowlist on, once its shared requests are answered,
 * so replies stay in order; also once its replies turn out large). Confined to the client channel's event loop.
 */
final class Dispatcher {
    private static final byte[] OK = "+OK\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NOAUTH = "-NOAUTH Authentication required.\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] WRONGPASS = ("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
            .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SYNC_REFUSAL = ("-ERR SYNC is not allowed through the Skep proxy: under --quorum "
            + "majority, redis would count a SYNC replica as holding every write (WAIT), and confirm writes no "
            + "majority has\r\n").getBytes(StandardCharsets.US_ASCII);

    private final ClientSession session;
    private final LoopContext loop;
    private final Port route;
    private final PendingReplies slots;
    private final SessionState state;
    private final SharedLink shared;
    private final DedicatedLink dedicated;
    private final ReplyWindow window;
    /** The session uses its dedicated connection for everything from now on. */
    private boolean dedicatedMode;
    /** A password is set and the client has not given it yet. */
    private boolean needAuth;
    /** The request being dispatched is a write (for --quorum majority's confirmation of writes). */
    private boolean write;

    Dispatcher(ClientSession session, LoopContext loop, Port route, PendingReplies slots, SessionState state,
            SharedLink shared, DedicatedLink dedicated, ReplyWindow window) {
        this.session = session;
        this.loop = loop;
        this.route = route;
        this.slots = slots;
        this.state = state;
        this.shared = shared;
        this.dedicated = dedicated;
        this.window = window;
        this.needAuth = loop.password().required();
    }

    boolean dedicatedMode() {
        return dedicatedMode;
    }

    /** True while the session's plain requests may go over the shared connections. */
    boolean sharedPath() {
        return !dedicatedMode && !window.largeReplies() && !needAuth;
    }

    /**
     * Sends, answers or parks one request. Returns false when it was parked (the session then waits for a
     * connection, for the shared replies to drain, or for a master), true when it was dealt with.
     */
    boolean dispatch(ByteBuf request, Route kind, String refusal, boolean write) {
        this.write = write;
        if (kind == Route.REFUSED) {
            request.release();
            loop.counters.increment(route,
                    refusal.startsWith("READONLY") ? ProxyCount.ERRORS_READONLY : ProxyCount.ERRORS_REFUSED);
            ByteBuf error = ClientSession.errorReply(refusal);
            if (!dedicated.abortTransaction(error)) {
                session.local(error);
            }
            return true;
        }
        if (kind == Route.SHARED && !dedicatedMode) {
            if (needAuth) {
                request.release();
                loop.counters.increment(route, ProxyCount.ERRORS_AUTH);
                session.local(Unpooled.wrappedBuffer(NOAUTH));
                return true;
            }
            if (!window.largeReplies()) {
                return sendShared(request, kind, refusal);
            }
            // Replies this large would stand ahead of every other session's on the shared connection, and be held
            // by the proxy while this client lags: from now on the session has a connection of its own (once its
            // shared requests are answered, so replies stay in order), as a stateful one does.
            if (slots.inFlight() > 0) {
                session.reader().park(request, kind, refusal, Wait.DRAIN);
                return false;
            }
            toDedicated();
            return sendDedicated(request, kind, refusal, null);
        }
        if (kind == Route.SHARED) {
            return sendDedicated(request, kind, refusal, null); // plain command, no state change to track
        }
        List<byte[]> args = dev.skep.resp.RequestArguments.decode(request);
        LocalCommand local = LocalCommand.of(args, new LocalCommand.Situation(dedicatedMode,
                dedicated.canQuitThroughRedis(), loop.password().required(),
                !needAuth && !window.largeReplies(), loop.settings().refuseSync()));
        switch (local) {
            case QUIT_THROUGH_REDIS -> {
                session.dropRestOfInput();
                if (state.raw()) {
                    dedicated.quitThroughRedis();
                    session.quitting();
                } else {
                    session.closeWhenAnswered();
                }
                return sendDedicated(request, kind, refusal, args);
            }
            case QUIT -> {
                answer(request, OK, ProxyCount.COMMANDS_LOCAL);
                session.closeWhenAnswered(); // requests pipelined after it are dropped unread, as redis drops them
                session.dropRestOfInput();
                return true;
            }
            case SYNC_REFUSED -> {
                answer(request, SYNC_REFUSAL, ProxyCount.ERRORS_REFUSED);
                return true;
            }
            case SYNC -> {
                // the connection becomes a replica link: every reply before it must be in, as its bytes are not framed
                if (slots.inFlight() > 0) {
                    session.reader().park(request, kind, refusal, Wait.DRAIN);
                    return false;
                }
                session.dropRestOfInput(); // nothing the client sends after it goes to redis
            }
            case CLIENT_CAPA -> {
                answer(request, OK, ProxyCount.COMMANDS_LOCAL);
                return true;
            }
            case CLIENT_SETINFO -> {
                // Client libraries (Jedis 5, redis-py 5) send it on every connect: answered here, it does not cost
                // the session its shared path
                answer(request, OK, ProxyCount.COMMANDS_LOCAL);
                return true;
            }
            case AUTH -> {
                boolean ok = loop.password().accepts(args.get(1)); // constant time: no timing hint
                if (ok) {
                    needAuth = false;
                    state.apply(new SessionState.Change("AUTH", args), false);
                }
                answer(request, ok ? OK : WRONGPASS, ok ? ProxyCount.COMMANDS_LOCAL : ProxyCount.ERRORS_AUTH);
                return true;
            }
            case AUTH_CHECK, HELLO_3_AUTH -> {
                if (local == LocalCommand.HELLO_3_AUTH && window.largeReplies()) {
                    break; // its replies go over its own connection anyway
                }
                if (slots.inFlight() > 0) {
                    // the replies before it come from the connections of the identity they were sent as
                    session.reader().park(request, kind, refusal, Wait.DRAIN);
                    return false;
                }
                return checkCredentials(request, kind, refusal, args, local == LocalCommand.HELLO_3_AUTH);
            }
            case HELLO_3 -> {
                // Lettuce and redis-py 5 open with HELLO 3. The session stays on the shared path, over connections
                // that speak RESP3 themselves, once its RESP2 requests are answered (replies come back in order
                // only from one connection at a time)
                if (!shared.resp3()) {
                    if (slots.inFlight() > 0) {
                        session.reader().park(request, kind, refusal, Wait.DRAIN);
                        return false;
                    }
                    shared.switchToResp3();
                    state.apply(new SessionState.Change("HELLO", args), false); // replayed if it moves to dedicated
                }
                return sendShared(request, kind, refusal);
            }
            case NONE -> {
            }
        }
        if (!dedicatedMode) {
            if (slots.inFlight() > 0) {
                session.reader().park(request, kind, refusal, Wait.DRAIN);
                return false;
            }
            toDedicated();
        }
        return sendDedicated(request, kind, refusal, args);
    }

    /**
     * Checks the client's credentials against redis ({@link CredentialCheck}), the session waiting meanwhile. Good
     * ones move its plain requests to shared connections authenticated as that user (a HELLO 3 AUTH then goes on as
     * HELLO 3 does); a refusal is redis's own error. With no master to check against, the request waits for one.
     */
    private boolean checkCredentials(ByteBuf request, Route kind, String refusal, List<byte[]> args, boolean hello) {
        Endpoint target = loop.target(session);
        if (target == null || loop.isDown(target)) {
            return session.hold(request, kind, refusal);
        }
        byte[] user = hello ? args.get(3) : args.size() == 3 ? args.get(1) : DEFAULT_USER;
        byte[] password = hello ? args.get(4) : args.get(args.size() - 1);
        Identity identity = new Identity(new String(user, StandardCharsets.UTF_8),
                new String(password, StandardCharsets.UTF_8));
        byte[] auth = dev.skep.resp.RespWriter.request("AUTH", identity.user(), identity.password());
        session.reader().waitFor(Wait.AUTH);
        boolean write = this.write;
        new CredentialCheck(loop, target, route, auth, new CredentialCheck.Outcome() {
            @Override
            public void answered(ByteBuf reply) {
                if (session.isClosed()) {
                    reply.release();
                    request.release();
                    return;
                }
                session.reader().waitFor(Wait.NONE);
                session.holdDone();
                if (reply.getByte(reply.readerIndex()) != '+') {
                    request.release();
                    loop.counters.increment(route, ProxyCount.ERRORS_AUTH);
                    session.local(reply); // redis's own words: -WRONGPASS..., -NOPERM...
                } else {
                    needAuth = false;
                    shared.switchIdentity(identity, hello);
                    state.apply(new SessionState.Change(hello ? "HELLO" : "AUTH", args), false); // for a dedicated one
                    if (hello) {
                        reply.release();
                        Dispatcher.this.write = write;
                        sendShared(request, kind, refusal); // HELLO's own reply, from a RESP3 connection of the user
                    } else {
                        request.release();
                        loop.counters.increment(route, ProxyCount.COMMANDS_LOCAL);
                        session.local(reply);
                    }
                }
                session.flushClient();
                session.goOn();
            }

            @Override
            public void failed(String reason) {
                if (session.isClosed()) {
                    request.release();
                    return;
                }
                session.reader().waitFor(Wait.NONE);
                session.hold(request, kind, refusal); // checked again once the master can be reached
            }
        }).start();
        return false;
    }

    private static final byte[] DEFAULT_USER = "default".getBytes(StandardCharsets.US_ASCII);

    /** Answers {@code request} here with {@code reply}, counted as {@code count}. */
    private void answer(ByteBuf request, byte[] reply, ProxyCount count) {
        request.release();
        loop.counters.increment(route, count);
        session.local(Unpooled.wrappedBuffer(reply));
    }

    private void toDedicated() {
        dedicatedMode = true;
        shared.leave();
    }

    private boolean sendShared(ByteBuf request, Route kind, String refusal) {
        return shared.send(request, kind, refusal, write);
    }

    private boolean sendDedicated(ByteBuf request, Route kind, String refusal, List<byte[]> args) {
        boolean sent = dedicated.send(request, kind, refusal, args, write);
        if (sent && args != null && RequestArguments.upper(args, 0).equals("SYNC")) {
            session.replicaStream();
        }
        return sent;
    }
}
