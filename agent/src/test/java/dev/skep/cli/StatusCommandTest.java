package dev.skep.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skep.http.AdminHttpServer;
import dev.skep.http.CannedHiveStatus;
import dev.skep.http.StatusJson;
import dev.skep.status.HiveStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code skep status} against a real admin HTTP server serving a canned status: the table (plain and
 * coloured, aligned the same), the JSON, {@code --watch}, and an agent that cannot be reached.
 */
class StatusCommandTest {
    private AdminHttpServer server;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeEach
    void start() throws Exception {
        HiveStatus canned = CannedHiveStatus.threeNodes(true, "")
                .withTraffic(m -> m.alive() ? new HiveStatus.Traffic(m.self() ? 12 : 3, m.self() ? 1234.5 : 7.25) : null);
        server = new AdminHttpServer("127.0.0.1", 0, () -> canned);
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private int run(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of("status", "--http", "127.0.0.1:" + server.port()));
        all.addAll(List.of(args));
        return SkepCommand.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(all.toArray(String[]::new));
    }

    private static String strip(String s) {
        return s.replaceAll("\u001b\\[[0-9;]*[A-Za-z]", "");
    }

    @Test
    void printsTheHiveAsAnAlignedTableWithClientsAndThroughput() {
        assertThat(run("--color", "never")).isEqualTo(0);
        String text = out.toString();
        assertThat(text).doesNotContain("\u001b[");
        List<String> lines = text.lines().toList();
        String header = lines.stream().filter(l -> l.startsWith("NODE")).findFirst().orElseThrow();
        assertThat(header).containsSubsequence("NODE", "STATE", "ROLE", "REDIS", "OFFSET", "LAG", "EPOCH", "CLIENTS",
                "OPS/S", "PID", "HEARD");
        int h = lines.indexOf(header);
        assertThat(lines.get(h + 1)).containsSubsequence("127.0.0.1:7004", "FOLLOWING", "replica", "1200", "0", "3",
                "12", "1235", "4101", "self");
        assertThat(lines.get(h + 2)).containsSubsequence("127.0.0.1:7014 *", "LEADING", "master", "3", "3", "7.3");
        assertThat(lines.get(h + 3)).containsSubsequence("127.0.0.1:7024", "NOT_READY", "?", "2", "?", "?");
        int clients = header.indexOf("CLIENTS");
        // every row's CLIENTS value starts under the header's
        assertThat(lines.get(h + 1).substring(clients)).startsWith("12 ");
        assertThat(lines.get(h + 2).substring(clients)).startsWith("3 ");
        assertThat(lines.get(h + 3).substring(clients)).startsWith("? ");
    }

    @Test
    void colouredOnRequestAndAlignedExactlyAsWithout() {
        assertThat(run("--color", "never")).isEqualTo(0);
        String plain = out.toString();
        out.getBuffer().setLength(0);
        assertThat(run("--color", "always")).isEqualTo(0);
        String coloured = out.toString();
        assertThat(coloured).contains("\u001b[1;32mLEADING\u001b[0m").contains("\u001b[31mNOT_READY\u001b[0m")
                .contains("\u001b[32mready\u001b[0m");
        assertThat(strip(coloured)).isEqualTo(plain);
    }

    @Test
    void jsonIsTheStatusTheAgentServes() throws Exception {
        assertThat(run("--json")).isEqualTo(0);
        JsonNode json = StatusJson.mapper().readTree(out.toString());
        assertThat(json.get("leader").asText()).isEqualTo("127.0.0.1:7014");
        assertThat(json.get("members")).hasSize(3);
        assertThat(json.get("members").get(0).get("clients").asInt()).isEqualTo(12);
        assertThat(json.get("members").get(0).get("opsPerSec").asDouble()).isEqualTo(1234.5);
        assertThat(json.get("members").get(2).get("clients").isNull()).isTrue();
        assertThat(StatusJson.read(out.toString()).members().get(1).clients()).isEqualTo(3);
    }

    @Test
    void watchRedrawsInPlace() {
        assertThat(run("--watch", "--watch-count", "3", "--interval-ms", "50", "--color", "always")).isEqualTo(0);
        String text = out.toString();
        assertThat(text.split(java.util.regex.Pattern.quote(StatusCommand.CLEAR), -1)).hasSize(4);
        assertThat(text.lines().filter(l -> strip(l).startsWith("NODE")).count()).isEqualTo(3);
        assertThat(text).contains("every 50 ms: http://127.0.0.1:" + server.port() + "/api/status");
    }

    @Test
    void anAgentThatCannotBeReachedIsSaidSo() {
        int port = server.port();
        server.close();
        List<String> args = List.of("status", "--http", "127.0.0.1:" + port, "--timeout-ms", "500");
        int code = SkepCommand.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(args.toArray(String[]::new));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).contains("cannot reach skep at http://127.0.0.1:" + port + "/api/status");
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThat(run("--color", "sometimes")).isEqualTo(2);
        assertThat(err.toString()).contains("--color: 'sometimes' (expected: auto, always or never)");
    }
}
