package dev.skep.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.skep.status.HiveStatus;
import dev.skep.topology.Endpoint;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The JSON form of {@link HiveStatus} served at {@code /api/status} and read by {@code skep status}.
 *
 * <p>Field names are the record components' names, in <b>camelCase</b> ({@code readyReason},
 * {@code members[].replOffset}, {@code members[].redisProcessId}, ...). Every {@link Endpoint} is written
 * as a {@code "host:port"} string (IPv6 as {@code "[v6]:port"}); absent values (no leader, no master) are
 * {@code null}. Unknown fields are ignored when reading, so an older {@code skep status} can read a newer
 * agent.
 *
 * <p>Thread-safe: the shared {@link ObjectMapper} is configured once and only used afterwards.
 */
public final class StatusJson {
    private static final ObjectMapper MAPPER = newMapper();

    private StatusJson() {}

    /** The configured mapper (Endpoint as "host:port"); shared, do not reconfigure it. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** Serializes a status to UTF-8 JSON bytes. */
    public static byte[] write(HiveStatus status) {
        try {
            return MAPPER.writeValueAsBytes(status);
        } catch (JsonProcessingException e) {
            // Records of strings, numbers and endpoints cannot fail to serialize: a bug if it happens.
            throw new IllegalStateException("cannot serialize status: " + e.getMessage(), e);
        }
    }

    /** Parses the JSON of {@code /api/status}; throws {@link UncheckedIOException} when it is not one. */
    public static HiveStatus read(String json) {
        try {
            return MAPPER.readValue(json, HiveStatus.class);
        } catch (IOException e) {
            throw new UncheckedIOException("not a skep status: " + e.getMessage(), e);
        }
    }

    private static ObjectMapper newMapper() {
        SimpleModule endpoints = new SimpleModule("skep-endpoints");
        endpoints.addSerializer(Endpoint.class, new JsonSerializer<>() {
            @Override
            public void serialize(Endpoint value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
                gen.writeString(value.toString());
            }
        });
        endpoints.addDeserializer(Endpoint.class, new JsonDeserializer<>() {
            @Override
            public Endpoint deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                String text = p.getValueAsString();
                try {
                    return Endpoint.parse(text);
                } catch (IllegalArgumentException | NullPointerException e) {
                    return (Endpoint) ctxt.handleWeirdStringValue(Endpoint.class, text, "expected host:port");
                }
            }
        });
        return new ObjectMapper()
                .registerModule(endpoints)
                .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    }
}
