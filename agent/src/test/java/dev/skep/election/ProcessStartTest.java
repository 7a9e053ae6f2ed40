package dev.skep.election;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The process start the agent logs with its first peer status ("N ms after the process started", which
 * bench/footprint.sh reads): within the launcher's time before the JVM's own start, never after it, and not off by
 * the fraction of a second that /proc/stat's whole-second boot time loses.
 */
class ProcessStartTest {
    @Test
    void theProcessStartedJustBeforeItsJvm() {
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
        long processStart = PeerShell.processStartMillis();

        // /proc counts in 10 ms ticks, and the boot time from /proc/uptime is as coarse
        assertThat(processStart).as("process start, ms since the epoch").isLessThanOrEqualTo(jvmStart + 20);
        assertThat(jvmStart - processStart).as("the launcher's time before the JVM started (ms)").isLessThan(400);
    }
}
