package dev.skep.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

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
}
