package dev.skep.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skep.deploy.KubeManifests;
import dev.skep.support.Helm;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import dev.skep.support.PrometheusText;
import dev.skep.support.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.skep.deploy.KubeManifests.list;
import static dev.skep.deploy.KubeManifests.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The chart's alerts (PrometheusRule) and Grafana dashboard use only metrics the agent really exports: every metric
 * name in their PromQL, every label value they match on and every label they group by is checked against
 * {@code /metrics} of a running TLS hive (TLS adds the certificate's expiry), so a renamed metric or label fails
 * here instead of leaving an alert that can never fire.
 */
@Needs(Need.HELM)
class MonitoringMetricsIT {
    /** Labels Prometheus gives a target scraped through a ServiceMonitor, not the agent's own. */
    private static final Set<String> TARGET_LABELS = Set.of("namespace", "job", "pod", "instance", "service",
            "container", "endpoint");
    /** Series Prometheus makes itself for every target. */
    private static final Set<String> PROMETHEUS_SERIES = Set.of("up");
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset");

    private HiveFixture hive;

    @AfterEach
    void stop() {
        if (hive != null) {
            hive.close();
        }
    }

    @Test
    void everyMetricAndLabelTheAlertsAndTheDashboardUseIsOneTheAgentExports(@TempDir Path dir) throws Exception {
        Map<String, String> queries = chartQueries();
        TestCertificates certs = TestCertificates.create(dir);
        hive = HiveFixture.startWithTls(3, certs);
        HiveFixture.Node leader = hive.awaitLeader(Duration.ofSeconds(10));
        await().atMost(Duration.ofSeconds(10)).until(() -> hive.nodes.stream().allMatch(n -> n.status().ready()));
        System.gc(); // jvm_gc_* appear after the first collection

        // a leader and a follower: together every series either role has
        HttpClient https = HttpClient.newBuilder().sslContext(certs.clientContext(certs.issue("prometheus"))).build();
        Exported exported = new Exported();
        for (HiveFixture.Node n : List.of(leader, hive.nodes.stream().filter(x -> x != leader).findFirst().orElseThrow())) {
            HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                    + n.config.httpPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            exported.add(PrometheusText.parse(r.body()));
        }
        assertThat(exported.labels).containsKeys("skep_node_state", "skep_tls_certificate_expiry_seconds");

        List<String> problems = new ArrayList<>();
        Set<String> used = new TreeSet<>();
        queries.forEach((where, promql) -> problems.addAll(check(where, promql, exported, used)));
        assertThat(problems).as("metrics and labels of the chart's alerts and dashboard the agent does not export")
                .isEmpty();
        assertThat(used).as("the metrics they use").contains("skep_node_state", "skep_replication_lag_bytes",
                "skep_elections_total", "skep_tls_certificate_expiry_seconds", "skep_proxy_commands_total",
                "skep_proxy_hold_seconds_bucket", "up");

        // the check finds what it must: a misspelt metric, an unknown label value, a label nobody exports
        assertThat(check("t", "rate(skep_leader_change_total[5m])", exported, new HashSet<>())).hasSize(1);
        assertThat(check("t", "skep_node_state{state=\"leader\"}", exported, new HashSet<>())).hasSize(1);
        assertThat(check("t", "max by (peer) (skep_replication_lag_bytes)", exported, new HashSet<>())).hasSize(1);
    }

    /** Every PromQL query of the chart: the PrometheusRule's (with TLS: all of them) and the dashboard's. */
    private static Map<String, String> chartQueries() throws Exception {
        KubeManifests m = KubeManifests.parse(Helm.template("default", "--set", "prometheusRule.enabled=true", "--set",
                "grafanaDashboard.enabled=true", "--set", "tls.enabled=true", "--set", "tls.existingSecret=x"));
        Map<String, String> queries = new LinkedHashMap<>();
        for (Map<String, Object> rule : list(list(map(m.ofKind("PrometheusRule").get(0), "spec"), "groups").get(0),
                "rules")) {
            queries.put("alert " + rule.get("alert") + " (" + map(rule, "labels").get("severity") + ")",
                    rule.get("expr").toString());
        }
        assertThat(queries).hasSizeGreaterThanOrEqualTo(10);
        JsonNode dashboard = new ObjectMapper().readTree(map(m.get("ConfigMap", "skep-dashboard"), "data")
                .get("skep.json").toString());
        int panels = 0;
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.path("targets")) {
                queries.put("panel " + panel.get("title").asText() + " " + target.get("refId").asText(),
                        target.get("expr").asText());
                panels++;
            }
        }
        for (JsonNode variable : dashboard.get("templating").get("list")) {
            if (variable.has("definition")) {
                queries.put("variable " + variable.get("name").asText(), variable.get("definition").asText());
            }
        }
        assertThat(panels).isGreaterThanOrEqualTo(20);
        return queries;
    }

    /** The series names of one or more scrapes, each with the label values it was seen with. */
    private static final class Exported {
        final Map<String, Map<String, Set<String>>> labels = new HashMap<>();

        void add(PrometheusText scrape) {
            for (PrometheusText.Family f : scrape.families().values()) {
                for (PrometheusText.Sample s : f.samples()) {
                    Map<String, Set<String>> byLabel = labels.computeIfAbsent(s.name(), k -> new HashMap<>());
                    s.labels().forEach((k, v) -> byLabel.computeIfAbsent(k, x -> new HashSet<>()).add(v));
                }
            }
        }
    }

    private static final Pattern SELECTOR = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)?\\s*\\{([^}]*)}");
    private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"([^\"]*)\"");
    private static final Pattern GROUPING = Pattern.compile(
            "\\b(by|without|on|ignoring|group_left|group_right)\\s*\\(([^)]*)\\)");
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\(\\s*([^,]+?)\\s*,\\s*(\\w+)\\s*\\)");
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![\\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?");

    /**
     * What in {@code promql} the agent does not export: metric names (Prometheus's {@code up} aside), label values
     * matched with = or =~ (each alternative of a plain a|b), labels grouped by or left out; target labels and
     * Grafana variables are not the agent's to export. Adds the metric names it meets to {@code used}.
     */
    static List<String> check(String where, String promql, Exported exported, Set<String> used) {
        List<String> problems = new ArrayList<>();
        String q = promql.replace("$__rate_interval", "5m").replace("$__range", "1h");
        Set<String> grouping = new HashSet<>();
        Matcher lv = LABEL_VALUES.matcher(q);
        StringBuilder rest = new StringBuilder();
        while (lv.find()) {
            grouping.add(lv.group(2));
            lv.appendReplacement(rest, Matcher.quoteReplacement(lv.group(1)));
        }
        lv.appendTail(rest);
        q = rest.toString();

        Set<String> metrics = new HashSet<>();
        Matcher sel = SELECTOR.matcher(q);
        while (sel.find()) {
            String metric = sel.group(1);
            if (metric == null || metric.isBlank()) {
                problems.add(where + ": a selector without a metric name: " + sel.group());
                continue;
            }
            Matcher mm = MATCHER.matcher(sel.group(2));
            while (mm.find()) {
                String label = mm.group(1);
                String value = mm.group(3);
                if (TARGET_LABELS.contains(label) || value.contains("$") || mm.group(2).startsWith("!")
                        || !exported.labels.containsKey(metric)) {
                    continue; // target labels, variables, negations; an unknown metric is reported below
                }
                Set<String> seen = exported.labels.get(metric).getOrDefault(label, Set.of());
                for (String alternative : mm.group(2).equals("=~") ? value.split("\\|") : new String[] {value}) {
                    if (!seen.contains(alternative)) {
                        problems.add(where + ": " + metric + " has no series with " + label + "=\"" + alternative
                                + "\" (seen: " + new TreeSet<>(seen) + ")");
                    }
                }
            }
        }
        q = SELECTOR.matcher(q).replaceAll(r -> Matcher.quoteReplacement(r.group(1) == null ? "" : r.group(1)));
        q = q.replaceAll("\\[[^]]*]", "");
        Matcher g = GROUPING.matcher(q);
        while (g.find()) {
            for (String label : g.group(2).split(",")) {
                if (!label.isBlank()) {
                    grouping.add(label.trim());
                }
            }
        }
        q = GROUPING.matcher(q).replaceAll(" ");
        Matcher id = IDENTIFIER.matcher(q);
        while (id.find()) {
            String name = id.group(1);
            if (id.group(2) != null || KEYWORDS.contains(name)) {
                continue; // a function, or an operator
            }
            metrics.add(name);
            used.add(name);
            if (!PROMETHEUS_SERIES.contains(name) && !exported.labels.containsKey(name)) {
                problems.add(where + ": no metric " + name + " in /metrics");
            }
        }
        for (String label : grouping) {
            boolean known = TARGET_LABELS.contains(label) || label.equals("le") || metrics.stream()
                    .anyMatch(metric -> exported.labels.getOrDefault(metric, Map.of()).containsKey(label));
            if (!known) {
                problems.add(where + ": label " + label + " is on none of " + metrics);
            }
        }
        return problems;
    }
}
