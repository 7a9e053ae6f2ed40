package dev.skep.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skep.status.HandoverResult;
import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.HiveStatus.Member;
import dev.skep.status.HiveStatus.Traffic;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The agent's hand-written JSON against the object mapper's own form of the same records: every component, in
 * every shape a status takes (nulls, a Lease, TLS, traffic, IPv6, text that needs escaping). A component added to
 * a record and not to the writer shows here as a field the mapper writes and the agent does not.
 */
class StatusJsonTest {
    private static final ObjectMapper MAPPER = StatusJson.mapper();

    private static HiveStatus full() {
        Endpoint v6 = Endpoint.parse("[fd00::7]:7380");
        List<Member> members = new ArrayList<>(CannedHiveStatus.threeNodes(true, "").members());
        members.set(0, members.get(0).withTraffic(new Traffic(12, 3456.7)));
        members.add(new Member(v6, Endpoint.parse("[fd00::7]:6379"), 8080, NodeState.PROPOSING, 9, null, "MASTER",
                77, 3, true, 99, "run-\"q\"", false, true, 250, 4, 1.0, "0.2.0"));
        List<HiveEvent> events = List.of(new HiveEvent(5, "n\u00e9ud", "kind", "line\nbreak \"quoted\" \\ tab\t\u0001"));
        return new HiveStatus(v6, NodeState.LEADING, Long.MAX_VALUE, v6, Endpoint.parse("10.0.0.1:6379"), false,
                "redis \"busy\"", members, events, 17, new HiveStatus.Lease("10.0.0.2:7380", true, 4, 2, -1),
                new HiveStatus.Tls("CN=skep,O=h\u00efve", 1_800_000_000_000L, "OPENSSL"));
    }

    private static JsonNode written(HiveStatus s) throws IOException {
        return MAPPER.readTree(new String(StatusJson.write(s), StandardCharsets.UTF_8));
    }

    /** The mapper's own JSON of {@code value}, parsed as the agent's is (numbers typed by their text). */
    private static JsonNode mapped(Object value) throws IOException {
        return MAPPER.readTree(MAPPER.writeValueAsBytes(value));
    }

    @Test
    void everyComponentIsWrittenAsTheMapperWritesIt() throws IOException {
        HiveStatus full = full();
        assertThat(written(full)).isEqualTo(mapped(full));
        HiveStatus bare = CannedHiveStatus.threeNodes(false, "no leader");
        assertThat(written(bare)).isEqualTo(mapped(bare));
        HiveStatus none = new HiveStatus(Endpoint.parse("127.0.0.1:1"), NodeState.ALONE, 0, null, null, false, "",
                List.of(), List.of(), 0);
        assertThat(written(none)).isEqualTo(mapped(none));
        assertThat(written(none).get("leader").isNull()).isTrue();
    }

    @Test
    void whatTheAgentWritesTheToolsReadBack() {
        HiveStatus full = full();
        assertThat(StatusJson.read(new String(StatusJson.write(full), StandardCharsets.UTF_8))).isEqualTo(full);
    }

    @Test
    void aHandoverAnswerIsTheMappersFormOfTheResult() throws IOException {
        for (HandoverResult r : List.of(new HandoverResult(true, "promoted", Endpoint.parse("127.0.0.1:7014"), 5, 12),
                new HandoverResult(false, "no successor \"caught up\"", null, 4, 0))) {
            assertThat(MAPPER.readTree(StatusJson.write(r))).isEqualTo(mapped(r));
        }
    }

    @Test
    void anAgentsOwnTrafficIsReadFromItsAnswerWhereverTheMembersAre() throws IOException {
        String json = new String(StatusJson.write(full()), StandardCharsets.UTF_8);
        assertThat(StatusJson.selfTraffic(json)).isEqualTo(new Traffic(12, 3456.7));
        // fields in another order, nested objects and arrays before the members, unknown fields
        String reordered = "{\"lease\":{\"holder\":\"x\",\"deep\":[1,{\"self\":true}]},\"extra\":[[]],"
                + "\"members\":[{\"self\":false,\"clients\":1,\"opsPerSec\":2.0},"
                + "{\"clients\":3,\"nested\":{\"clients\":9},\"opsPerSec\":4,\"self\":true}]}";
        assertThat(StatusJson.selfTraffic(reordered)).isEqualTo(new Traffic(3, 4.0));
    }

    @Test
    void anAnswerWithoutTheFiguresGivesNoTraffic() throws IOException {
        // the canned status's own member has no traffic (an agent too old to say, or not measured yet)
        String unknown = new String(StatusJson.write(CannedHiveStatus.threeNodes(true, "")), StandardCharsets.UTF_8);
        assertThat(StatusJson.selfTraffic(unknown)).isNull();
        assertThat(StatusJson.selfTraffic("{\"members\":[{\"self\":true,\"clients\":null,\"opsPerSec\":1}]}")).isNull();
        assertThat(StatusJson.selfTraffic("[1,2]")).isNull();
        assertThat(StatusJson.selfTraffic("{}")).isNull();
        assertThatThrownBy(() -> StatusJson.selfTraffic("<html>busy</html>")).isInstanceOf(IOException.class);
    }
}
