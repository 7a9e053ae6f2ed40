package dev.skep.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skep.http.StatusJson;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.concurrent.Callable;

/**
 * {@code skep status [--http HOST:PORT] [--json] [--watch]}: asks one agent's admin HTTP for
 * {@code /api/status} and prints the hive as an aligned table (coloured on a terminal), or as pretty-printed
 * JSON; {@code --watch} redraws it in place every {@code --interval-ms} until interrupted. Runs on the CLI's
 * main thread.
 */
@Command(name = "status", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Print the hive as one agent sees it: leader, master, every member, last events.")
public final class StatusCommand implements Callable<Integer> {
    /** Home, then clear the screen: each refresh replaces the last one instead of scrolling. */
    static final String CLEAR = "\u001b[H\u001b[2J";

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--http", paramLabel = "HOST:PORT", defaultValue = "${env:SKEP_HTTP:-127.0.0.1:7005}",
            description = "Admin HTTP address of the agent to ask. Env SKEP_HTTP. "
                    + "Default: ${DEFAULT-VALUE} (node 0 of `skep up`).")
    String http;

    @Option(names = "--json", description = "Print the status as JSON instead of a table.")
    boolean json;

    @Option(names = "--watch", description = "Refresh in place every --interval-ms until interrupted (Ctrl-C).")
    boolean watch;

    @Option(names = "--interval-ms", paramLabel = "MS", defaultValue = "1000",
            description = "Refresh period of --watch. Default: ${DEFAULT-VALUE}.")
    int intervalMs;

    @Option(names = "--color", paramLabel = "WHEN", defaultValue = "${env:SKEP_COLOR:-auto}",
            description = "Colours in the table: auto (on a terminal, unless NO_COLOR is set), always, never. "
                    + "Env SKEP_COLOR. Default: ${DEFAULT-VALUE}.")
    String color;

    @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "2000",
            description = "Give up after this long. Default: ${DEFAULT-VALUE}.")
    int timeoutMs;

    /** For tests: stop --watch after this many refreshes (0: never). */
    @Option(names = "--watch-count", hidden = true, defaultValue = "0")
    int watchCount;

    @Override
    public Integer call() {
        URI uri;
        try {
            uri = StatusClient.statusUri(http.trim());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--http: '" + http + "' (expected: host:port)");
        }
        boolean colour = colour();
        if (intervalMs < 50) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--interval-ms: " + intervalMs + " (expected: at least 50)");
        }
        StatusClient client = new StatusClient(Duration.ofMillis(Math.max(1, timeoutMs)));
        if (!watch) {
            return once(client, uri, colour, "");
        }
        for (int n = 1; watchCount == 0 || n <= watchCount; n++) {
            String heading = "every " + intervalMs + " ms: " + uri + "  (" + LocalTime.now().withNano(0) + ")\n\n";
            once(client, uri, colour, (colour ? CLEAR : "\n") + heading);
            if (watchCount != 0 && n == watchCount) {
                break;
            }
            try {
                Thread.sleep(intervalMs); // the refresh period itself, not a wait for a condition
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 0;
            }
        }
        return 0;
    }

    /** Fetches and prints once, after {@code prefix}; returns the exit code of a single run. */
    private int once(StatusClient client, URI uri, boolean colour, String prefix) {
        PrintWriter out = spec.commandLine().getOut();
        String body;
        try {
            body = client.fetch(uri);
        } catch (IOException e) {
            out.print(prefix);
            out.flush();
            spec.commandLine().getErr().println("cannot reach skep at " + uri + ": " + e.getMessage());
            spec.commandLine().getErr().flush();
            return 1;
        }
        try {
            String text;
            if (json) {
                JsonNode tree = StatusJson.mapper().readTree(body);
                text = StatusJson.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(tree) + "\n";
            } else {
                text = StatusTable.render(StatusJson.read(body), ZoneId.systemDefault(), colour);
            }
            // one write per refresh, so a terminal never shows half a table
            out.print(prefix + text);
            out.flush();
            return 0;
        } catch (IOException | UncheckedIOException e) {
            spec.commandLine().getErr().println("skep at " + uri + " answered something that is not a status: "
                    + e.getMessage());
            return 1;
        }
    }

    /** Whether to colour: --color, and for auto a terminal without NO_COLOR and not TERM=dumb. */
    private boolean colour() {
        return switch (color == null ? "" : color.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "always" -> true;
            case "never" -> false;
            case "auto" -> System.console() != null && System.getenv("NO_COLOR") == null
                    && !"dumb".equals(System.getenv("TERM")) && !json;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--color: '" + color + "' (expected: auto, always or never)");
        };
    }
}
