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
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One Netty event loop group together with the channel classes that match its transport: native epoll
 * where available (Linux x86_64 with the native library loadable), NIO otherwise; io_uring when asked for
 * ({@link Transport#IO_URING}) and available (Linux 5.14 or later, x86_64, not disabled by the kernel or a
 * seccomp profile), epoll (then NIO) otherwise. Every Netty component of Skep (peer transport, proxy, sentinel
 * endpoint) is built from an instance of this class, so that the choice of transport is made in one place and a
 * group is never paired with a channel class of another transport (Netty rejects that at registration time,
 * which would surface only at run time).
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

    /** The I/O transports Netty offers here ({@code --io-transport}). */
    public enum Transport {
        /** Native epoll where it loads, NIO otherwise: the default. */
        AUTO,
        EPOLL,
        /** Linux's io_uring (Netty's IoUringIoHandler): epoll where it is not available. */
        IO_URING,
        NIO;

        /** The transport named {@code name} ({@code auto}, {@code epoll}, {@code io_uring}, {@code nio}), any case. */
        public static Transport parse(String name) {
            for (Transport t : values()) {
                if (t.flag().equals(name.trim().toLowerCase(Locale.ROOT))) {
                    return t;
                }
            }
            throw new IllegalArgumentException("'" + name + "' (expected: auto, epoll, io_uring or nio)");
        }

        /** How {@code --io-transport} names it. */
        public String flag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final EventLoopGroup group;
    /** The transport in use: never AUTO. */
    private final Transport transport;
    private final String namePrefix;
    /** Each loop's select strategy, when the loops may spin; empty otherwise. */
    private final Map<Executor, SpinThenSleep> strategies;

    private EventLoops(EventLoopGroup group, Transport transport, String namePrefix,
            Map<Executor, SpinThenSleep> strategies) {
        this.group = group;
        this.strategies = strategies;
        this.transport = transport;
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
     * their owner expects an answer soon (see {@link SpinThenSleep} and {@link #expecting}), on the default
     * transport.
     *
     * @param spinNanos how long an idle loop keeps polling while an answer is expected; 0 for never (the loops
     *                  then always sleep in {@code epoll_wait}, as Netty's default). Ignored with NIO.
     */
    public static EventLoops create(int threads, String namePrefix, boolean daemon, long spinNanos) {
        return create(threads, namePrefix, daemon, spinNanos, Transport.AUTO);
    }

    /**
     * Creates a group of threads named {@code namePrefix-N-M} on {@code wanted}'s transport, or the next one
     * available (io_uring, then epoll, then NIO; logged at WARN when it is not the one asked for).
     *
     * @param spinNanos how long an idle loop keeps polling while an answer is expected; 0 for never. Epoll only:
     *                  ignored with io_uring and NIO (whose loops always sleep until an event comes)
     */
    public static EventLoops create(int threads, String namePrefix, boolean daemon, long spinNanos,
            Transport wanted) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads: " + threads + " (expected: at least 1)");
        }
        Objects.requireNonNull(namePrefix, "namePrefix");
        Transport transport = resolve(wanted);
        Map<Executor, SpinThenSleep> strategies = new ConcurrentHashMap<>();
        IoHandlerFactory handler;
        if (transport == Transport.IO_URING) {
            handler = IoUringIoHandler.newFactory();
        } else if (transport == Transport.EPOLL && spinNanos > 0) {
            // one strategy per loop (it keeps state), found again by the loop it serves: Netty gives each loop's
            // handler factory call the loop itself
            handler = loop -> {
                SpinThenSleep strategy = new SpinThenSleep(spinNanos, System::nanoTime, Thread::yield);
                strategies.put(loop, strategy);
                return EpollIoHandler.newFactory(0, () -> strategy).newHandler(loop);
            };
        } else {
            handler = transport == Transport.EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        }
        EventLoopGroup group =
                new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(namePrefix, daemon), handler);
        return new EventLoops(group, transport, namePrefix, strategies);
    }

    /** The transport to use for {@code wanted}: itself when available, else the next one that is. */
    static Transport resolve(Transport wanted) {
        if (wanted == Transport.IO_URING) {
            if (IoUring.isAvailable()) {
                return Transport.IO_URING;
            }
            log.warn("io_uring unavailable, using {}: {}", Epoll.isAvailable() ? "epoll" : "NIO",
                    IoUring.unavailabilityCause().toString());
        }
        if (wanted == Transport.NIO) {
            return Transport.NIO;
        }
        if (Epoll.isAvailable()) {
            return Transport.EPOLL;
        }
        // Not an error for the default (macOS, other architectures), but worth knowing when comparing benchmarks.
        if (wanted == Transport.EPOLL) {
            log.warn("native epoll unavailable, using NIO: {}", Epoll.unavailabilityCause().toString());
        } else {
            log.debug("native epoll unavailable, using NIO: {}", Epoll.unavailabilityCause().toString());
        }
        return Transport.NIO;
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
        return switch (transport) {
            case IO_URING -> IoUringServerSocketChannel.class;
            case EPOLL -> EpollServerSocketChannel.class;
            default -> NioServerSocketChannel.class;
        };
    }

    /** The client channel class matching {@link #group()}'s transport, for {@code Bootstrap.channel}. */
    public Class<? extends SocketChannel> channel() {
        return switch (transport) {
            case IO_URING -> IoUringSocketChannel.class;
            case EPOLL -> EpollSocketChannel.class;
            default -> NioSocketChannel.class;
        };
    }

    /** True when the group uses native epoll. */
    public boolean isEpoll() {
        return transport == Transport.EPOLL;
    }

    /** The transport the group uses: {@link Transport#EPOLL}, {@link Transport#IO_URING} or {@link Transport#NIO}. */
    public Transport transport() {
        return transport;
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
        return "EventLoops[" + namePrefix + ", " + transport.flag() + "]";
    }
}
