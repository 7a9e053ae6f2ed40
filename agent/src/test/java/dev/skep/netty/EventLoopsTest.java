package dev.skep.netty;

import io.netty.channel.EventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.EventExecutor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
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
}
