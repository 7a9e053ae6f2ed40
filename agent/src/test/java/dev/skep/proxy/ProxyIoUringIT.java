package dev.skep.proxy;

import dev.skep.netty.EventLoops;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringSocketChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every test of {@link ProxyIT} again, with the proxy's event loops on io_uring ({@code --io-transport io_uring}):
 * what clients see must not depend on the transport. Skipped where the kernel does not offer io_uring.
 */
class ProxyIoUringIT extends ProxyIT {
    @BeforeAll
    static void onIoUring() {
        assumeTrue(IoUring.isAvailable(), () -> "io_uring unavailable here: " + IoUring.unavailabilityCause());
        System.setProperty(ProxyFixture.TRANSPORT_PROPERTY, "io_uring");
    }

    @AfterAll
    static void backToTheDefault() {
        System.clearProperty(ProxyFixture.TRANSPORT_PROPERTY);
    }

    @Test
    void theProxyRunsOnIoUring() {
        try (ProxyFixture p = new ProxyFixture(2000, "")) {
            assertThat(p.loops.transport()).isEqualTo(EventLoops.Transport.IO_URING);
            assertThat(p.loops.channel()).isEqualTo(IoUringSocketChannel.class);
        }
    }
}
