package dev.skep.netty;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One Netty event loop group together with the channel classes that match its transport: native epoll
 * where available (Linux x86_64 with the native library loadable), NIO otherwise. Every Netty component of
 * Skep (peer transport, proxy, sentinel endpoint) is built from an instance of this class, so that the
 * choice of transport is made in one place and a group is never paired with a channel class of another
 * transport (Netty rejects that at registration time, which would surface only at run time).
 *
 * <p>Thread-safe: the accessors return immutable values; {@link #close()} may be called from any thread
 * except one of this group's own event loops (it waits for them to stop), and more than once.
 */
public final class EventLoops implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EventLoops.class);

    /** Quiet period of the graceful shutdown: long enough to flush a last write, short enough for a fast exit. */
    private static final Duration QUIET_PERIOD = Duration.ofMillis(50);
    /** Bound of the graceful shutdown: a stuck task must not hold the process on its way down. */
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(3);

    private final EventLoopGroup group;
    private final boolean epoll;
    private final String namePrefix;
    /** Each loop's select strategy, when the loops may spin; empty otherwise. */
    private final Map<Executor, SpinThenSleep> strategies;

    private EventLoops(EventLoopGroup group, boolean epoll, String namePrefix, Map<Executor, SpinThenSleep> strategies) {
        this.group = group;
        this.strategies = strategies;
        this.epoll = epoll;
        this.namePrefix = namePrefix;
    }

    /**
     * Creates a group of non-daemon threads named {@code namePrefix-N-M}.
     *
     * @param threads    number of event loops (at least 1)
     * @param namePrefix thread name prefix, shown in thread dumps and logs (e.g. {@code skep-peer})
     */
    public static EventLoops create(int threads, String namePrefix) {
        return create(threads, namePrefix, false);
    }

    /**
     * Creates a group of threads named {@code namePrefix-N-M}.
     *
     * @param daemon true for daemon threads (they do not keep the JVM alive; tests and short-lived CLI
     *               commands), false for the agent, whose shutdown hook closes the group in order
     */
    public static EventLoops create(int threads, String namePrefix, boolean daemon) {
        return create(threads, namePrefix, daemon, 0);
    }

    /**
     * Creates a group of threads named {@code namePrefix-N-M} whose loops may poll instead of sleeping while
     * their owner expects an answer soon (see {@link SpinThenSleep} and {@link #expecting}).
     *
     * @param spinNanos how long an idle loop keeps polling while an answer is expected; 0 for never (the loops
     *                  then always sleep in {@code epoll_wait}, as Netty's default). Ignored with NIO.
     */
    public static EventLoops create(int threads, String namePrefix, boolean daemon, long spinNanos) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads: " + threads + " (expected: at least 1)");
        }
        Objects.requireNonNull(namePrefix, "namePrefix");
        boolean useEpoll = Epoll.isAvailable();
        Map<Executor, SpinThenSleep> strategies = new ConcurrentHashMap<>();
        IoHandlerFactory handler;
        if (useEpoll && spinNanos > 0) {
            // one strategy per loop (it keeps state), found again by the loop it serves: Netty gives each loop's
            // handler factory call the loop itself
            handler = loop -> {
                SpinThenSleep strategy = new SpinThenSleep(spinNanos, System::nanoTime, Thread::yield);
                strategies.put(loop, strategy);
                return EpollIoHandler.newFactory(0, () -> strategy).newHandler(loop);
            };
        } else {
            handler = useEpoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        }
        if (!useEpoll) {
            // Not an error (macOS, other architectures), but worth knowing when comparing benchmarks.
            log.debug("native epoll unavailable, using NIO: {}", Epoll.unavailabilityCause().toString());
        }
        EventLoopGroup group =
                new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(namePrefix, daemon), handler);
        return new EventLoops(group, useEpoll, namePrefix, strategies);
    }

    /**
     * Lets {@code loop} poll rather than sleep, for a while, when {@code expecting} says an answer is due soon
     * (the proxy's requests out to redis). No effect when the group was created without spinning. Thread-safe;
     * {@code expecting} is called on {@code loop}'s thread only.
     *
     * @return true if the loop will spin, false if this group does not
     */
    public boolean expecting(EventLoop loop, BooleanSupplier expecting) {
        SpinThenSleep strategy = strategies.get(loop);
        if (strategy == null) {
            return false;
        }
        strategy.expecting(expecting);
        return true;
    }

    /** The event loop group; shared, never shut down by its users (only by {@link #close()}). */
    public EventLoopGroup group() {
        return group;
    }

    /** The server channel class matching {@link #group()}'s transport, for {@code ServerBootstrap.channel}. */
    public Class<? extends ServerSocketChannel> serverChannel() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** The client channel class matching {@link #group()}'s transport, for {@code Bootstrap.channel}. */
    public Class<? extends SocketChannel> channel() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** True when the group uses native epoll, false for NIO. */
    public boolean isEpoll() {
        return epoll;
    }

    /**
     * Shuts the group down gracefully (short quiet period) and waits for it, at most a few seconds.
     * Channels still open are closed by the shutdown. Idempotent.
     */
    @Override
    public void close() {
        group.shutdownGracefully(QUIET_PERIOD.toMillis(), SHUTDOWN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        try {
            // a little over the timeout: the group gives up on its own by then
            if (!group.terminationFuture().await(SHUTDOWN_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS)) {
                log.warn("event loops {} did not stop within {} ms", namePrefix, SHUTDOWN_TIMEOUT.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "EventLoops[" + namePrefix + ", " + (epoll ? "epoll" : "nio") + "]";
    }
}
