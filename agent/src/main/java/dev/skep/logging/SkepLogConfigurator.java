package dev.skep.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

import java.util.Locale;

/**
 * The agent's logging set up in code rather than from an XML file: a line per event on standard error
 * ({@link #PATTERN}), {@code io.netty} at WARN, the root at {@code SKEP_LOG_LEVEL} (INFO when unset or not a
 * level). Parsing {@code logback.xml} loaded about 600 classes (Joran and the JDK's XML parser) for these few
 * lines, and took a tenth of the agent's start-up (docs/benchmarks.md#agent-footprint). {@code --log-format json}
 * swaps the encoder afterwards ({@link LogFormat#apply}).
 *
 * <p>A file named by {@code -Dlogback.configurationFile} still wins: then this configurator steps aside and
 * logback reads that file as usual. Found by logback through {@code META-INF/services}; called once, by the
 * first thread that asks SLF4J for a logger.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class SkepLogConfigurator extends ContextAwareBase implements Configurator {
    /** The text format: {@code 12:34:56.789 INFO  [skep-control] Election - ...}. */
    public static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{0} - %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(rootLevel(System.getenv("SKEP_LOG_LEVEL")));
        root.addAppender(stderr);
        context.getLogger("io.netty").setLevel(Level.WARN);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** The root level for {@code SKEP_LOG_LEVEL}: INFO when unset, blank or not a level name. */
    static Level rootLevel(String env) {
        return env == null || env.isBlank() ? Level.INFO : Level.toLevel(env.trim().toUpperCase(Locale.ROOT), Level.INFO);
    }
}
