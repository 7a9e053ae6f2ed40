package dev.skep.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.skep.status.HandoverResult;
import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.HiveStatus.Member;
import dev.skep.status.HiveStatus.Traffic;
import dev.skep.topology.Endpoint;

import java.io.ByteArrayOutputStream;
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
 * <p>The agent writes with Jackson's streaming generator, field by field ({@link #write}, {@link #selfTraffic}):
 * its object mapper is about 500 classes and 3 MiB of an agent's memory, loaded at the first {@code /api/status}
 * and kept for good (docs/benchmarks.md#agent-footprint). The mapper reads, in the command-line tools
 * ({@link #read}, {@link #mapper}), loaded at their first call; StatusJsonTest holds the writer to the mapper's
 * own form of every component.
 *
 * <p>Thread-safe: the factory and the mapper are configured once and only used afterwards.
 */
public final class StatusJson {
    private static final JsonFactory JSON = new JsonFactory();

    private StatusJson() {}

    /** The configured mapper (Endpoint as "host:port"); shared, do not reconfigure it. Loads Jackson's databind. */
    public static ObjectMapper mapper() {
        return Mapper.MAPPER;
    }

    /** Serializes a status to UTF-8 JSON bytes. */
    public static byte[] write(HiveStatus status) {
        return bytes(2048, g -> {
            g.writeStartObject();
            endpoint(g, "node", status.node());
            g.writeStringField("state", status.state().name());
            g.writeNumberField("epoch", status.epoch());
            endpoint(g, "leader", status.leader());
            endpoint(g, "master", status.master());
            g.writeBooleanField("ready", status.ready());
            g.writeStringField("readyReason", status.readyReason());
            g.writeArrayFieldStart("members");
            for (Member m : status.members()) {
                member(g, m);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("events");
            for (HiveEvent e : status.events()) {
                g.writeStartObject();
                g.writeNumberField("atMillis", e.atMillis());
                g.writeStringField("node", e.node());
                g.writeStringField("kind", e.kind());
                g.writeStringField("message", e.message());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeNumberField("peerMessagesRejected", status.peerMessagesRejected());
            HiveStatus.Lease l = status.lease();
            objectOrNull(g, "lease", l == null ? null : o -> {
                o.writeStringField("holder", l.holder());
                o.writeBooleanField("heldHere", l.heldHere());
                o.writeNumberField("epoch", l.epoch());
                o.writeNumberField("transitions", l.transitions());
                o.writeNumberField("unchangedMs", l.unchangedMs());
            });
            HiveStatus.Tls t = status.tls();
            objectOrNull(g, "tls", t == null ? null : o -> {
                o.writeStringField("subject", t.subject());
                o.writeNumberField("notAfterMillis", t.notAfterMillis());
                o.writeStringField("provider", t.provider());
            });
            g.writeEndObject();
        });
    }

    /** The answer of {@code POST /api/failover}: ok, detail, successor ("host:port" or null), epoch, pausedMs. */
    public static byte[] write(HandoverResult r) {
        return bytes(256, g -> {
            g.writeStartObject();
            g.writeBooleanField("ok", r.ok());
            g.writeStringField("detail", r.detail());
            endpoint(g, "successor", r.successor());
            g.writeNumberField("epoch", r.epoch());
            g.writeNumberField("pausedMs", r.pausedMs());
            g.writeEndObject();
        });
    }

    /** Part of a JSON document (the whole of it, or an object's fields), written to a generator. */
    @FunctionalInterface
    private interface Part {
        void write(JsonGenerator g) throws IOException;
    }

    /** The UTF-8 bytes of the document {@code body} writes ({@code size}: a first guess of its length). */
    private static byte[] bytes(int size, Part body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory: not expected
        }
        return out.toByteArray();
    }

    /** {@code "name": null} when {@code fields} is null, else {@code "name": {...}} with what it writes. */
    private static void objectOrNull(JsonGenerator g, String name, Part fields) throws IOException {
        if (fields == null) {
            g.writeNullField(name);
            return;
        }
        g.writeObjectFieldStart(name);
        fields.write(g);
        g.writeEndObject();
    }

    /** {@code "name": value}, or null. */
    private static void numberOrNull(JsonGenerator g, String name, Number value) throws IOException {
        g.writeFieldName(name);
        if (value == null) {
            g.writeNull();
        } else if (value instanceof Integer i) {
            g.writeNumber(i);
        } else {
            g.writeNumber(value.doubleValue());
        }
    }

    private static void member(JsonGenerator g, Member m) throws IOException {
        g.writeStartObject();
        endpoint(g, "node", m.node());
        endpoint(g, "redis", m.redis());
        g.writeNumberField("httpPort", m.httpPort());
        g.writeStringField("state", m.state() == null ? null : m.state().name());
        g.writeNumberField("epoch", m.epoch());
        endpoint(g, "leader", m.leader());
        g.writeStringField("redisRole", m.redisRole());
        g.writeNumberField("replOffset", m.replOffset());
        g.writeNumberField("lagBytes", m.lagBytes());
        g.writeBooleanField("linkUp", m.linkUp());
        g.writeNumberField("redisProcessId", m.redisProcessId());
        g.writeStringField("redisRunId", m.redisRunId());
        g.writeBooleanField("self", m.self());
        g.writeBooleanField("alive", m.alive());
        g.writeNumberField("lastHeardMs", m.lastHeardMs());
        numberOrNull(g, "clients", m.clients());
        numberOrNull(g, "opsPerSec", m.opsPerSec());
        g.writeStringField("version", m.version());
        g.writeEndObject();
    }

    private static void endpoint(JsonGenerator g, String name, Endpoint e) throws IOException {
        g.writeStringField(name, e == null ? null : e.toString());
    }

    /**
     * The traffic the agent that wrote {@code json} (an {@code /api/status} answer) gives for itself: the member
     * marked {@code self}, when it has both figures; otherwise null. Streams over the answer without building it.
     *
     * @throws IOException when {@code json} is not JSON
     */
    public static Traffic selfTraffic(String json) throws IOException {
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("members") && value == JsonToken.START_ARRAY) {
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        Traffic t = memberTraffic(p);
                        if (t != null) {
                            return t;
                        }
                    }
                    return null;
                }
                p.skipChildren();
            }
            return null;
        }
    }

    /** One member object, the parser on its START_OBJECT: its traffic if it is {@code self} and has both figures. */
    private static Traffic memberTraffic(JsonParser p) throws IOException {
        boolean self = false;
        Integer clients = null;
        Double ops = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "self" -> self = value == JsonToken.VALUE_TRUE;
                case "clients" -> clients = value == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : null;
                case "opsPerSec" -> ops = value.isNumeric() ? p.getDoubleValue() : null;
                default -> p.skipChildren();
            }
        }
        return self && clients != null && ops != null ? new Traffic(clients, ops) : null;
    }

    /** Parses the JSON of {@code /api/status}; throws {@link UncheckedIOException} when it is not one. */
    public static HiveStatus read(String json) {
        try {
            return Mapper.MAPPER.readValue(json, HiveStatus.class);
        } catch (IOException e) {
            throw new UncheckedIOException("not a skep status: " + e.getMessage(), e);
        }
    }

    /** The object mapper, loaded at the first read (the command-line tools), never by an agent's own answers. */
    private static final class Mapper {
        static final ObjectMapper MAPPER = newMapper();

        private static ObjectMapper newMapper() {
            SimpleModule endpoints = new SimpleModule("skep-endpoints");
            endpoints.addSerializer(Endpoint.class, new JsonSerializer<>() {
                @Override
                public void serialize(Endpoint value, JsonGenerator gen, SerializerProvider serializers)
                        throws IOException {
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
}
