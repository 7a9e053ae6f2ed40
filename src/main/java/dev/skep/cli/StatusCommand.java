package dev.skep.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skep.http.StatusJson;
import dev.skep.topology.HiveStatus;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.time.ZoneId;
import java.util.concurrent.Callable;

/**
 * {@code skep status [--http HOST:PORT] [--json]}: asks one agent's admin HTTP for {@code /api/status} and
 * prints the hive as a table, or as pretty-printed JSON. Runs on the CLI's main thread.
 */
@Command(name = "status", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Print the hive as one agent sees it: leader, master, every member, last events.")
public final class StatusCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--http", paramLabel = "HOST:PORT", defaultValue = "${env:SKEP_HTTP:-127.0.0.1:7005}",
            description = "Admin HTTP address of the agent to ask. Env SKEP_HTTP. "
                    + "Default: ${DEFAULT-VALUE} (node 0 of `skep up`).")
    String http;

    @Option(names = "--json", description = "Print the status as JSON instead of a table.")
    boolean json;

    @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "2000",
            description = "Give up after this long. Default: ${DEFAULT-VALUE}.")
    int timeoutMs;

    @Override
    public Integer call() {
        URI uri;
        try {
            uri = StatusClient.statusUri(http.trim());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--http: '" + http + "' (expected: host:port)");
        }
        String body;
        try {
            body = new StatusClient(Duration.ofMillis(Math.max(1, timeoutMs))).fetch(uri);
        } catch (IOException e) {
            spec.commandLine().getErr().println("cannot reach skep at " + uri + ": " + e.getMessage());
            return 1;
        }
        try {
            if (json) {
                JsonNode tree = StatusJson.mapper().readTree(body);
                spec.commandLine().getOut().println(
                        StatusJson.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(tree));
            } else {
                HiveStatus status = StatusJson.read(body);
                spec.commandLine().getOut().print(StatusTable.render(status, ZoneId.systemDefault()));
            }
            spec.commandLine().getOut().flush();
            return 0;
        } catch (IOException | UncheckedIOException e) {
            spec.commandLine().getErr().println("skep at " + uri + " answered something that is not a status: "
                    + e.getMessage());
            return 1;
        }
    }
}
