package dev.skep.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skep.cli.SkepCommand;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code --log-format}: the values, the usage error, and the JSON lines the encoder writes. */
class LogFormatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void textAndJsonInAnyCaseAndNothingElse() {
        assertThat(LogFormat.parse("text")).isEqualTo(LogFormat.TEXT);
        assertThat(LogFormat.parse(" JSON ")).isEqualTo(LogFormat.JSON);
        assertThatThrownBy(() -> LogFormat.parse("xml")).hasMessage("--log-format: 'xml' (expected: text or json)");
    }

    @Test
    void aBadValueExitsWithAUsageErrorNamingTheFlag() {
        StringWriter err = new StringWriter();
        int code = SkepCommand.commandLine().setErr(new PrintWriter(err))
                .execute("agent", "--peers", "127.0.0.1:7380", "--log-format", "yaml");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--log-format: 'yaml' (expected: text or json)").contains("Usage: skep agent");
    }

    @Test
    void checkConfigShowsTheFormat() {
        StringWriter out = new StringWriter();
        int code = SkepCommand.commandLine().setOut(new PrintWriter(out))
                .execute("agent", "--peers", "127.0.0.1:7380", "--log-format", "json", "--check-config");
        assertThat(code).isEqualTo(0);
        assertThat(out.toString()).contains("log format json");
    }

    @Test
    void oneJsonObjectPerLineWithTheFormattedMessageTheEventKindAndTheError() throws Exception {
        LoggerContext context = new LoggerContext();
        Logger logger = context.getLogger("dev.skep.election.ElectionLoop");
        LoggingEvent event = new LoggingEvent("fqcn", logger, Level.INFO, "[{}] {}", null,
                new Object[] {"promoted", "leading epoch 7: \"role:master\"\nconfirmed"});
        event.setThreadName("skep-control");
        event.setTimeStamp(1_714_564_800_123L);
        event.setKeyValuePairs(List.of(new KeyValuePair("event", "promoted"), new KeyValuePair("message", "ignored")));
        JsonLogEncoder encoder = new JsonLogEncoder();
        encoder.setContext(context);
        encoder.start();

        String line = new String(encoder.encode(event), StandardCharsets.UTF_8);
        assertThat(line).endsWith("\n");
        assertThat(line.substring(0, line.length() - 1)).doesNotContain("\n");
        JsonNode json = JSON.readTree(line);
        assertThat(json.get("time").asText()).isEqualTo("2024-05-01T12:00:00.123Z");
        assertThat(json.get("level").asText()).isEqualTo("INFO");
        assertThat(json.get("logger").asText()).isEqualTo("dev.skep.election.ElectionLoop");
        assertThat(json.get("thread").asText()).isEqualTo("skep-control");
        assertThat(json.get("message").asText()).isEqualTo("[promoted] leading epoch 7: \"role:master\"\nconfirmed");
        assertThat(json.get("event").asText()).isEqualTo("promoted");
        assertThat(json.has("error")).isFalse();

        LoggingEvent failure = new LoggingEvent("fqcn", logger, Level.WARN, "probe failed", new IllegalStateException("boom"), null);
        JsonNode withError = JSON.readTree(new String(encoder.encode(failure), StandardCharsets.UTF_8));
        assertThat(withError.get("error").asText()).startsWith("java.lang.IllegalStateException: boom")
                .contains("at dev.skep.logging.LogFormatTest");
    }
}
