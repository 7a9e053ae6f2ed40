package dev.skep;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What the entry point sets before anything loads Netty. */
class SkepTest {
    private static final String JFR = "io.netty.jfr.enabled";
    private final String before = System.getProperty(JFR);

    @AfterEach
    void restore() {
        if (before == null) {
            System.clearProperty(JFR);
        } else {
            System.setProperty(JFR, before);
        }
    }

    @Test
    void nettysFlightRecorderEventsAreOffUnlessTheOperatorSaidOtherwise() {
        System.clearProperty(JFR);
        Skep.quietNetty();
        assertThat(System.getProperty(JFR)).isEqualTo("false");

        System.setProperty(JFR, "true");
        Skep.quietNetty();
        assertThat(System.getProperty(JFR)).isEqualTo("true");
    }
}
