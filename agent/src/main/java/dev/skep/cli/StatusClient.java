package dev.skep.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/**
 * Fetches an agent's {@code /api/status} over HTTP with short timeouts, for {@code skep status} and
 * {@code skep up}. Thread-safe; used from the CLI's main thread.
 */
public final class StatusClient {
    private final HttpClient client;
    private final Duration timeout;

    public StatusClient(Duration timeout) {
        this.timeout = timeout;
        // HTTP/1.1: the JDK server does not speak h2c, and the upgrade attempt costs a round trip.
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .build();
    }

    /** The status URL of the agent whose admin HTTP is at {@code hostPort}. */
    public static URI statusUri(String hostPort) {
        return URI.create("http://" + hostPort + "/api/status");
    }

    /**
     * GETs {@code uri} and returns the body of a 200 answer.
     *
     * @throws IOException with a one-line reason (refused, timed out, HTTP code) otherwise
     */
    public String fetch(URI uri) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        HttpResponse<String> response;
        try {
            response = client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            throw new IOException("no answer within " + timeout.toMillis() + " ms", e);
        } catch (java.net.ConnectException e) {
            throw new IOException("connection refused (is the agent running?)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (response.statusCode() != 200) {
            throw new IOException("HTTP " + response.statusCode() + ": " + response.body().strip());
        }
        return response.body();
    }
}
