package dev.skep.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skep.http.StatusJson;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code skep failover [--to HOST:PORT] [--http HOST:PORT]}: a planned handover. Asks any agent (its admin
 * HTTP) who leads, then asks the leader's agent ({@code POST /api/failover}) to hand over: writes are held
 * and paused, the successor catches up and is promoted, and nothing acknowledged is lost. Prints the
 * outcome; exit status 0 when the successor leads. Runs on the CLI's main thread.
 */
@Command(name = "failover", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Hand leadership over gracefully to the in-sync replica with the most data (or --to).")
public final class FailoverCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--http", paramLabel = "HOST:PORT", defaultValue = "${env:SKEP_HTTP:-127.0.0.1:7005}",
            description = "Admin HTTP address of any agent of the hive. Env SKEP_HTTP. "
                    + "Default: ${DEFAULT-VALUE} (node 0 of `skep up`).")
    String http;

    @Option(names = "--to", paramLabel = "HOST:PORT",
            description = "The successor's peer address (as `skep status` lists nodes). Default: the in-sync "
                    + "replica with the most data.")
    String to;

    @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "30000",
            description = "Give up waiting for the answer after this long. Default: ${DEFAULT-VALUE}.")
    int timeoutMs;

    @Override
    public Integer call() {
        Endpoint successor = null;
        if (to != null) {
            try {
                successor = Endpoint.parse(to.trim());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--to: '" + to + "' (expected: host:port)");
            }
        }
        URI statusUri;
        try {
            statusUri = StatusClient.statusUri(http.trim());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--http: '" + http + "' (expected: host:port)");
        }
        Duration timeout = Duration.ofMillis(Math.max(1, timeoutMs));
        HiveStatus status;
        try {
            status = StatusJson.read(new StatusClient(timeout).fetch(statusUri));
        } catch (IOException | RuntimeException e) {
            spec.commandLine().getErr().println("cannot read the hive's status from " + statusUri + ": " + e.getMessage());
            return 1;
        }
        HiveStatus.Member leader = status.members().stream()
                .filter(m -> m.alive() && m.state() == NodeState.LEADING).findFirst().orElse(null);
        if (leader == null) {
            spec.commandLine().getErr().println("no leader in the hive as " + http + " sees it: nothing to hand over");
            return 1;
        }
        URI failoverUri = URI.create("http://" + new Endpoint(leader.node().host(), leader.httpPort())
                + "/api/failover" + (successor == null ? "" : "?to=" + successor));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
        HttpResponse<String> response;
        try {
            response = client.send(HttpRequest.newBuilder(failoverUri).timeout(timeout)
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            spec.commandLine().getErr().println("cannot reach the leader's agent at " + failoverUri + ": " + e);
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
        try {
            JsonNode r = StatusJson.mapper().readTree(response.body());
            if (r.path("ok").asBoolean()) {
                spec.commandLine().getOut().printf("handed over from %s to %s (epoch %d): writes held %d ms%n",
                        leader.node(), r.path("successor").asText(), r.path("epoch").asLong(), r.path("pausedMs").asLong());
                return 0;
            }
            spec.commandLine().getErr().println("no handover: " + r.path("detail").asText());
            return 1;
        } catch (IOException e) {
            spec.commandLine().getErr().println("the leader's agent answered HTTP " + response.statusCode() + ": "
                    + response.body().strip());
            return 1;
        }
    }
}
