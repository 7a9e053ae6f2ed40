package dev.skep.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import org.slf4j.event.KeyValuePair;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Set;

/**
 * Logback encoder for {@code --log-format json}: one JSON object per line, for log collectors.
 *
 * <pre>{"time":"2025-05-01T12:00:00.123Z","level":"INFO","logger":"dev.skep.election.ElectionLoop",
 *  "thread":"skep-control","message":"[promoted] leading epoch 7: ...","event":"promoted"}</pre>
 *
 * The message is formatted (arguments filled in); SLF4J key-value pairs become fields of their own
 * ({@code event}: the kind of a hive event), unless they would overwrite one of the fixed fields; a throwable
 * is one string field, {@code error}, with its stack trace. Logback's own {@code JsonEncoder} writes the
 * unformatted pattern and its arguments apart, which log collectors cannot search as a sentence.
 *
 * <p>Thread-safe: called by the appender (which serializes calls) from any logging thread.
 */
public final class JsonLogEncoder extends EncoderBase<ILoggingEvent> {
    private static final JsonFactory JSON = new JsonFactory();
    private static final Set<String> FIXED = Set.of("time", "level", "logger", "thread", "message", "error");
    private static final byte[] NOTHING = new byte[0];

    @Override
    public byte[] headerBytes() {
        return NOTHING;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("time", Instant.ofEpochMilli(event.getTimeStamp()).toString());
            g.writeStringField("level", event.getLevel().toString());
            g.writeStringField("logger", event.getLoggerName());
            g.writeStringField("thread", event.getThreadName());
            g.writeStringField("message", event.getFormattedMessage());
            if (event.getKeyValuePairs() != null) {
                for (KeyValuePair kv : event.getKeyValuePairs()) {
                    if (kv.key != null && !FIXED.contains(kv.key)) {
                        g.writeStringField(kv.key, String.valueOf(kv.value));
                    }
                }
            }
            IThrowableProxy error = event.getThrowableProxy();
            if (error != null) {
                g.writeStringField("error", ThrowableProxyUtil.asString(error));
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory: not expected
        }
        out.write('\n');
        return out.toByteArray();
    }

    @Override
    public byte[] footerBytes() {
        return NOTHING;
    }
}
