package dev.skep.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.core.ConsoleAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;

/** The logging an agent starts with, set up without an XML file. */
class SkepLogConfiguratorTest {
    @Test
    void logbackFindsItAndLinesGoToStandardErrorInTheTextPattern() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);

        assertThat(root.getAppender("STDERR")).isInstanceOfSatisfying(ConsoleAppender.class, a -> {
            assertThat(a.getTarget()).isEqualTo("System.err");
            assertThat(((PatternLayoutEncoder) a.getEncoder()).getPattern()).isEqualTo(SkepLogConfigurator.PATTERN);
        });
        assertThat(context.getLogger("io.netty").getLevel()).isEqualTo(Level.WARN);
    }

    @Test
    void aFreshContextGetsTheSameAndStopsThere() {
        LoggerContext context = new LoggerContext();
        SkepLogConfigurator configurator = new SkepLogConfigurator();
        configurator.setContext(context);

        assertThat(configurator.configure(context)).isEqualTo(ch.qos.logback.classic.spi.Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDERR")).isNotNull();
        assertThat(context.getLogger("io.netty.channel").getEffectiveLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("dev.skep.election.Election").getEffectiveLevel())
                .isEqualTo(SkepLogConfigurator.rootLevel(System.getenv("SKEP_LOG_LEVEL")));
    }

    @Test
    void theRootLevelComesFromSkepLogLevelInAnyCaseAndIsInfoOtherwise() {
        assertThat(SkepLogConfigurator.rootLevel(null)).isEqualTo(Level.INFO);
        assertThat(SkepLogConfigurator.rootLevel(" ")).isEqualTo(Level.INFO);
        assertThat(SkepLogConfigurator.rootLevel("debug")).isEqualTo(Level.DEBUG);
        assertThat(SkepLogConfigurator.rootLevel("WARN")).isEqualTo(Level.WARN);
        assertThat(SkepLogConfigurator.rootLevel("loud")).isEqualTo(Level.INFO);
    }
}
