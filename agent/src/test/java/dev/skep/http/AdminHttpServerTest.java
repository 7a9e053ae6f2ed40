package dev.skep.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skep.status.HiveStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class AdminHttpServerTest {
    private final AtomicReference<HiveStatus> status =
            new AtomicReference<>(CannedHiveStatus.threeNodes(true, ""));
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private AdminHttpServer server;

    private HttpResponse<String> call(String method, String path) throws Exception {
        if (server == null) {
            server = new AdminHttpServer("127.0.0.1", 0, status::get);
            server.start();
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(5))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void livezIsOk() throws Exception {
        HttpResponse<String> r = call("GET", "/livez");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok\n");
    }

    @Test
    void readyzFollowsTheStatus() throws Exception {
        HttpResponse<String> ready = call("GET", "/readyz");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).isEqualTo("ready\n");

        status.set(CannedHiveStatus.threeNodes(false, "no leader known"));
        HttpResponse<String> notReady = call("GET", "/readyz");
        assertThat(notReady.statusCode()).isEqualTo(503);
        assertThat(notReady.body()).isEqualTo("no leader known\n");

        status.set(null);
        assertThat(call("GET", "/readyz").statusCode()).isEqualTo(503);
    }

    @Test
    void anOperatorsStatusRequestIsAViewAndAPeersPollOrAProbeIsNot() throws Exception {
        java.util.concurrent.atomic.AtomicInteger views = new java.util.concurrent.atomic.AtomicInteger();
        call("GET", "/livez");
        server.onStatusViewed(views::incrementAndGet);

        assertThat(call("GET", "/api/status").statusCode()).isEqualTo(200);
        assertThat(views).hasValue(1);
        // another agent asking for its traffic figures, and the probes, do not count
        assertThat(call("GET", "/api/status?" + AdminHttpServer.PEER_POLL_QUERY).statusCode()).isEqualTo(200);
        call("GET", "/readyz");
        call("GET", "/livez");
        assertThat(views).hasValue(1);
    }

    @Test
    void apiStatusIsJsonThatParsesBack() throws Exception {
        HttpResponse<String> r = call("GET", "/api/status");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");

        HiveStatus back = StatusJson.read(r.body());
        assertThat(back).isEqualTo(status.get());
        assertThat(back.members()).hasSize(3);
        assertThat(back.events()).hasSize(7);

        JsonNode tree = StatusJson.mapper().readTree(r.body());
        assertThat(tree.get("leader").asText()).isEqualTo("127.0.0.1:7014");
        assertThat(tree.get("readyReason").asText()).isEmpty();
        assertThat(tree.get("members").get(0).get("redis").asText()).isEqualTo("127.0.0.1:7000");
        assertThat(tree.get("members").get(0).get("redisProcessId").asLong()).isEqualTo(4101);
        assertThat(tree.get("members").get(2).get("leader").isNull()).isTrue();
        assertThat(tree.get("events").get(6).get("kind").asText()).isEqualTo("event-7");
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() throws Exception {
        assertThat(call("GET", "/nope").statusCode()).isEqualTo(404);
        assertThat(call("GET", "/metrics").statusCode()).as("no metrics source given").isEqualTo(404);
        HttpResponse<String> post = call("POST", "/api/status");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
        assertThat(call("DELETE", "/livez").statusCode()).isEqualTo(405);
    }

    @Test
    void theStatusPageIsServedFromTheJarAndLoadsNothingFromElsewhere() throws Exception {
        HttpResponse<String> r = call("GET", "/");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(r.body()).startsWith("<!doctype html>").contains("fetch(\"/api/status\"")
                .contains("name=\"viewport\"");
        // no scripts, styles, fonts or images by address: everything is inline
        assertThat(r.body()).doesNotContainPattern("(src|href)\\s*=")
                .doesNotContainPattern("@import|url\\(");
        assertThat(call("HEAD", "/").statusCode()).isEqualTo(200);
    }

    @Test
    void metricsAreServedAsPrometheusText() throws Exception {
        server = new AdminHttpServer("127.0.0.1", 0, status::get, () -> "# TYPE x gauge\nx 1.0\n");
        server.start();
        HttpResponse<String> r = call("GET", "/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(r.body()).isEqualTo("# TYPE x gauge\nx 1.0\n");
    }

    @Test
    void portIsTheBoundOneAndCloseReleasesIt() throws Exception {
        assertThat(call("GET", "/livez").statusCode()).isEqualTo(200);
        int port = server.port();
        assertThat(port).isPositive();
        server.close();
        server.close(); // idempotent
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
        }
        server = null;
    }
}
