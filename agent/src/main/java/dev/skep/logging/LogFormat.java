package dev.skep.logging;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import org.slf4j.LoggerFactory;

import java.util.Iterator;
import java.util.Locale;

/**
 * How the agent writes its logs ({@code --log-format}, {@code SKEP_LOG_FORMAT}): {@code text} for people
 * ({@link SkepLogConfigurator#PATTERN}), {@code json} for collectors (one object per line,
 * {@link JsonLogEncoder}). Applied once at start, by the thread that parses the command line, before the
 * agent's threads start logging.
 */
public enum LogFormat {
    TEXT, JSON;

    /** {@code text} or {@code json} (any case); thrown with the expected values otherwise. */
    public static LogFormat parse(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "text" -> TEXT;
            case "json" -> JSON;
            default -> throw new IllegalArgumentException("--log-format: '" + value + "' (expected: text or json)");
        };
    }

    /**
     * Makes the console appenders of the root logger write in this format. {@code TEXT} leaves the
     * configuration of {@link SkepLogConfigurator} as it is.
     */
    public void apply() {
        if (this == TEXT || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
            if (it.next() instanceof OutputStreamAppender<ILoggingEvent> appender) {
                JsonLogEncoder encoder = new JsonLogEncoder();
                encoder.setContext(context);
                encoder.start();
                // stop, swap, start: the appender must not be writing with the old encoder meanwhile
                appender.stop();
                appender.setEncoder(encoder);
                appender.start();
            }
        }
    }
}
