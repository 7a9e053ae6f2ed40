package dev.skep.netty;

import io.netty.channel.EventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.EventExecutor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class EventLoopsTest {
    @Test
    void channelClassesMatchTheTransportAndThreadsAreNamed() throws Exception {
        EventLoops loops = EventLoops.create(1, "skep-test", true);
        try {
            assertThat(loops.isEpoll()).isEqualTo(Epoll.isAvailable());
            assertThat(loops.channel()).isEqualTo(Epoll.isAvailable() ? EpollSocketChannel.class : NioSocketChannel.class);
            CompletableFuture<Thread> thread = new CompletableFuture<>();
            loops.group().execute(() -> thread.complete(Thread.currentThread()));
            Thread t = thread.get(5, TimeUnit.SECONDS);
            assertThat(t.getName()).startsWith("skep-test");
            assertThat(t.isDaemon()).isTrue();
        } finally {
            loops.close();
        }
        assertThat(loops.group().isTerminated()).isTrue();
        loops.close(); // idempotent
    }

    @Test
    void everyLoopOfASpinningGroupAsksItsOwnerWhetherRepliesAreDueOnItsOwnThread() throws Exception {
        EventLoops loops = EventLoops.create(2, "skep-spin", true, TimeUnit.MICROSECONDS.toNanos(50));
        try {
            Set<String> askedOn = ConcurrentHashMap.newKeySet();
            for (EventExecutor e : loops.group()) {
                boolean spins = loops.expecting((EventLoop) e, () -> {
                    askedOn.add(Thread.currentThread().getName());
                    return false;
                });
                assertThat(spins).as("only native epoll spins").isEqualTo(Epoll.isAvailable());
            }
            if (Epoll.isAvailable()) {
                for (EventExecutor e : loops.group()) {
                    e.execute(() -> {}); // after the task the loop is idle: it asks before it sleeps
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> askedOn.size() == 2);
                assertThat(askedOn).allMatch(name -> name.startsWith("skep-spin"));
            }
        } finally {
            loops.close();
        }
        EventLoops plain = EventLoops.create(1, "skep-plain", true);
        try {
            assertThat(plain.expecting((EventLoop) plain.group().next(), () -> true)).isFalse();
        } finally {
            plain.close();
        }
    }

    @Test
    void eachTransportAskedForIsUsedWhereAvailableAndTheNextOneOtherwise() throws Exception {
        EventLoops.Transport native_ = Epoll.isAvailable() ? EventLoops.Transport.EPOLL : EventLoops.Transport.NIO;
        EventLoops.Transport uring = IoUring.isAvailable() ? EventLoops.Transport.IO_URING : native_;
        assertThat(EventLoops.resolve(EventLoops.Transport.AUTO)).isEqualTo(native_);
        assertThat(EventLoops.resolve(EventLoops.Transport.EPOLL)).isEqualTo(native_);
        assertThat(EventLoops.resolve(EventLoops.Transport.NIO)).isEqualTo(EventLoops.Transport.NIO);
        assertThat(EventLoops.resolve(EventLoops.Transport.IO_URING)).isEqualTo(uring);

        EventLoops nio = EventLoops.create(1, "skep-nio", true, TimeUnit.MICROSECONDS.toNanos(50),
                EventLoops.Transport.NIO);
        try {
            assertThat(nio.channel()).isEqualTo(NioSocketChannel.class);
            assertThat(nio.serverChannel()).isEqualTo(NioServerSocketChannel.class);
            assertThat(nio.expecting((EventLoop) nio.group().next(), () -> true)).as("epoll only spins").isFalse();
        } finally {
            nio.close();
        }
        EventLoops loops = EventLoops.create(1, "skep-uring", true, TimeUnit.MICROSECONDS.toNanos(50),
                EventLoops.Transport.IO_URING);
        try {
            assertThat(loops.transport()).isEqualTo(uring);
            if (uring == EventLoops.Transport.IO_URING) {
                assertThat(loops.channel()).isEqualTo(IoUringSocketChannel.class);
                assertThat(loops.serverChannel()).isEqualTo(IoUringServerSocketChannel.class);
                assertThat(loops.expecting((EventLoop) loops.group().next(), () -> true)).isFalse();
            }
            CompletableFuture<String> ran = new CompletableFuture<>();
            loops.group().execute(() -> ran.complete(Thread.currentThread().getName()));
            assertThat(ran.get(5, TimeUnit.SECONDS)).startsWith("skep-uring");
        } finally {
            loops.close();
        }
    }

    @Test
    void transportsAreNamedAsTheFlagNamesThem() {
        assertThat(EventLoops.Transport.parse(" IO_URING ")).isEqualTo(EventLoops.Transport.IO_URING);
        assertThat(EventLoops.Transport.parse("auto")).isEqualTo(EventLoops.Transport.AUTO);
        assertThat(EventLoops.Transport.IO_URING.flag()).isEqualTo("io_uring");
        assertThatThrownBy(() -> EventLoops.Transport.parse("kqueue")).hasMessageContaining("expected: auto, epoll");
    }
}
