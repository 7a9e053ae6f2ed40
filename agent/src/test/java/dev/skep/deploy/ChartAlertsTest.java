package dev.skep.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skep.support.Need;
import dev.skep.support.Needs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.skep.deploy.KubeManifests.list;
import static dev.skep.deploy.KubeManifests.map;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The chart's alerts with promtool: the PrometheusRule's rules and the dashboard's queries are valid PromQL
 * ({@code promtool check rules}), and each alert fires on the series it is about, with the labels an operator routes
 * on, and stays quiet on a healthy hive ({@code promtool test rules}). That the metrics exist is
 * {@code MonitoringMetricsIT}'s part.
 */
@Needs({Need.HELM, Need.PROMTOOL})
class ChartAlertsTest {
    private static final String HIVE = "namespace=\"default\", job=\"skep-peers\"";

    @Test
    void rulesAndDashboardQueriesAreValidPromql(@TempDir Path tmp) throws Exception {
        Path rules = tmp.resolve("rules.yaml");
        Files.writeString(rules, new Yaml().dump(Map.of("groups", groups(true))));
        assertPromtool("check", "rules", rules.toString());

        // the dashboard's queries as recording rules, its variables given values
        JsonNode dashboard = new ObjectMapper().readTree(ManifestsTest.DASHBOARD.toFile());
        List<Map<String, Object>> recorded = new ArrayList<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.path("targets")) {
                String expr = target.get("expr").asText().replace("$namespace", "default").replace("$job", "skep-peers")
                        .replace("$__rate_interval", "5m").replace("$__range", "1h");
                assertThat(expr).as(panel.get("title").asText()).doesNotContain("$");
                recorded.add(Map.of("record", "dashboard:panel" + panel.get("id").asInt() + "_"
                        + target.get("refId").asText(), "expr", expr));
            }
        }
        Path queries = tmp.resolve("dashboard.yaml");
        Files.writeString(queries, new Yaml().dump(Map.of("groups", List.of(Map.of("name", "dashboard", "rules", recorded)))));
        assertPromtool("check", "rules", queries.toString());
    }

    @Test
    void eachAlertFiresOnWhatItIsAboutWithTheLabelsToRouteOn(@TempDir Path tmp) throws Exception {
        // promtool compares annotations too: these are checked by `check rules`, the firing here
        List<Map<String, Object>> groups = groups(false);
        Files.writeString(tmp.resolve("rules.yaml"), new Yaml().dump(Map.of("groups", groups)));
        String tests = """
                rule_files: [rules.yaml]
                evaluation_interval: 15s
                tests:
                  # a healthy hive: one leader, everyone ready and heard, replicas in sync: nothing fires
                  - interval: 15s
                    input_series:
                      - {series: 'skep_node_state{state="leading", HIVE, pod="a", instance="a"}', values: '1x40'}
                      - {series: 'skep_node_state{state="leading", HIVE, pod="b", instance="b"}', values: '0x40'}
                      - {series: 'skep_members_alive{HIVE, pod="a", instance="a"}', values: '3x40'}
                      - {series: 'skep_ready{HIVE, pod="a", instance="a"}', values: '1x40'}
                      - {series: 'skep_replication_lag_bytes{HIVE, pod="a", instance="a", node="b:7380", redis="b:6379"}', values: '1000x40'}
                      - {series: 'skep_elections_total{HIVE, pod="a", instance="a", cause="no_leader"}', values: '1x40'}
                      - {series: 'skep_proxy_errors_total{HIVE, pod="a", instance="a", kind="masterdown", port="write"}', values: '0x40'}
                      - {series: 'skep_tls_certificate_expiry_seconds{HIVE, pod="a", instance="a"}', values: '5000000x40'}
                      - {series: 'up{HIVE, pod="a", instance="a"}', values: '1x40'}
                      - {series: 'skep_build_info{HIVE, pod="a", instance="a", version="0.2.0"}', values: '1x40'}
                      - {series: 'skep_build_info{HIVE, pod="b", instance="b", version="0.2.0"}', values: '1x40'}
                    alert_rule_test:
                      - {eval_time: 9m, alertname: SkepNoMaster, exp_alerts: []}
                      - {eval_time: 9m, alertname: SkepMultipleMasters, exp_alerts: []}
                      - {eval_time: 9m, alertname: SkepMembersMissing, exp_alerts: []}
                      - {eval_time: 9m, alertname: SkepNodeNotReady, exp_alerts: []}
                      - {eval_time: 9m, alertname: SkepReplicaLagging, exp_alerts: []}
                      - {eval_time: 9m, alertname: SkepFrequentFailovers, exp_alerts: []}
                      - {eval_time: 9m, alertname: SkepWritesRefused, exp_alerts: []}
                      - {eval_time: 9m, alertname: SkepCertificateExpiresSoon, exp_alerts: []}
                      - {eval_time: 9m, alertname: SkepAgentDown, exp_alerts: []}
                      - {eval_time: 9m, alertname: SkepMixedVersions, exp_alerts: []}
                  # nobody leads, then two do (pending for a minute before it fires); an agent cannot be scraped; one hears too few members, one is not ready
                  - interval: 15s
                    input_series:
                      - {series: 'skep_node_state{state="leading", HIVE, pod="a", instance="a"}', values: '0x12 1x12'}
                      - {series: 'skep_node_state{state="leading", HIVE, pod="b", instance="b"}', values: '0x12 1x12'}
                      - {series: 'up{HIVE, pod="c", instance="c"}', values: '0x24'}
                      - {series: 'skep_members_alive{HIVE, pod="a", instance="a"}', values: '2x24'}
                      - {series: 'skep_ready{HIVE, pod="b", instance="b"}', values: '0x24'}
                    alert_rule_test:
                      - eval_time: 2m
                        alertname: SkepNoMaster
                        exp_alerts: [{exp_labels: {severity: critical, namespace: default, job: skep-peers, state: leading}}]
                      - eval_time: 2m
                        alertname: SkepAgentDown
                        exp_alerts: [{exp_labels: {severity: warning, namespace: default, job: skep-peers, pod: c, instance: c}}]
                      - {eval_time: 3m45s, alertname: SkepMultipleMasters, exp_alerts: []}
                      - eval_time: 5m30s
                        alertname: SkepMultipleMasters
                        exp_alerts: [{exp_labels: {severity: critical, namespace: default, job: skep-peers, state: leading}}]
                      - eval_time: 5m30s
                        alertname: SkepMembersMissing
                        exp_alerts: [{exp_labels: {severity: warning, namespace: default, job: skep-peers, pod: a, instance: a}}]
                      - eval_time: 5m30s
                        alertname: SkepNodeNotReady
                        exp_alerts: [{exp_labels: {severity: warning, namespace: default, job: skep-peers, pod: b, instance: b}}]
                  # no agent reports a state at all (every agent gone): still no master
                  - interval: 15s
                    input_series:
                      - {series: 'up{HIVE, pod="a", instance="a"}', values: '0x12'}
                    alert_rule_test:
                      - eval_time: 2m
                        alertname: SkepNoMaster
                        exp_alerts: [{exp_labels: {severity: critical}}]
                  # a replica 20 MiB behind, as two agents see it: one alert for that replica; another in sync: none
                  - interval: 15s
                    input_series:
                      - {series: 'skep_replication_lag_bytes{HIVE, pod="a", instance="a", node="c:7380", redis="c:6379"}', values: '20971520x20'}
                      - {series: 'skep_replication_lag_bytes{HIVE, pod="b", instance="b", node="c:7380", redis="c:6379"}', values: '20971520x20'}
                      - {series: 'skep_replication_lag_bytes{HIVE, pod="a", instance="a", node="b:7380", redis="b:6379"}', values: '0x20'}
                    alert_rule_test:
                      - eval_time: 3m
                        alertname: SkepReplicaLagging
                        exp_alerts: [{exp_labels: {severity: warning, namespace: default, job: skep-peers, node: "c:7380", redis: "c:6379"}}]
                  # an election every 5 minutes for an hour, seen by two agents: one alert; a planned handover is none
                  - interval: 5m
                    input_series:
                      - {series: 'skep_elections_total{HIVE, pod="a", instance="a", cause="leader_silent"}', values: '0+1x12'}
                      - {series: 'skep_elections_total{HIVE, pod="b", instance="b", cause="leader_redis_down"}', values: '0+1x12'}
                      - {series: 'skep_leader_changes_total{HIVE, pod="a", instance="a"}', values: '0+1x12'}
                    alert_rule_test:
                      - eval_time: 60m
                        alertname: SkepFrequentFailovers
                        exp_alerts: [{exp_labels: {severity: warning, namespace: default, job: skep-peers}}]
                  - interval: 5m
                    input_series:
                      - {series: 'skep_elections_total{HIVE, pod="a", instance="a", cause="leader_silent"}', values: '0 0 0 1 1 1 1 2 2 2 2 2 2'}
                    alert_rule_test:
                      - {eval_time: 60m, alertname: SkepFrequentFailovers, exp_alerts: []}
                  # -MASTERDOWN and -NOREPLICAS answered; other errors are not refused writes
                  - interval: 1m
                    input_series:
                      - {series: 'skep_proxy_errors_total{HIVE, pod="a", instance="a", kind="masterdown", port="write"}', values: '0 0 3 9'}
                      - {series: 'skep_proxy_errors_total{HIVE, pod="b", instance="b", kind="masterdown", port="write"}', values: '0 0 1 1'}
                      - {series: 'skep_proxy_errors_total{HIVE, pod="a", instance="a", kind="noreplicas", port="write"}', values: '0 0 0 0'}
                      - {series: 'skep_proxy_errors_total{HIVE, pod="a", instance="a", kind="protocol", port="write"}', values: '0 5 10 20'}
                    alert_rule_test:
                      - eval_time: 3m
                        alertname: SkepWritesRefused
                        exp_alerts: [{exp_labels: {severity: warning, namespace: default, job: skep-peers, kind: masterdown}}]
                  # a certificate 10 days from its end: warning; 2 days: warning and critical
                  - interval: 1m
                    input_series:
                      - {series: 'skep_tls_certificate_expiry_seconds{HIVE, pod="a", instance="a"}', values: '864000x5'}
                      - {series: 'skep_tls_certificate_expiry_seconds{HIVE, pod="b", instance="b"}', values: '172800x5'}
                    alert_rule_test:
                      - eval_time: 2m
                        alertname: SkepCertificateExpiresSoon
                        exp_alerts:
                          - {exp_labels: {severity: warning, namespace: default, job: skep-peers, pod: a, instance: a}}
                          - {exp_labels: {severity: warning, namespace: default, job: skep-peers, pod: b, instance: b}}
                          - {exp_labels: {severity: critical, namespace: default, job: skep-peers, pod: b, instance: b}}
                  # two Skep versions side by side: pending during a rollout, firing after an hour
                  - interval: 5m
                    input_series:
                      - {series: 'skep_build_info{HIVE, pod="a", instance="a", version="0.1.0"}', values: '1x14'}
                      - {series: 'skep_build_info{HIVE, pod="b", instance="b", version="0.2.0"}', values: '1x14'}
                      - {series: 'skep_build_info{HIVE, pod="c", instance="c", version="0.2.0"}', values: '1x14'}
                    alert_rule_test:
                      - {eval_time: 30m, alertname: SkepMixedVersions, exp_alerts: []}
                      - eval_time: 65m
                        alertname: SkepMixedVersions
                        exp_alerts: [{exp_labels: {severity: warning, namespace: default, job: skep-peers}}]
                  # series of another release (another job) never fire this release's alerts
                  - interval: 15s
                    input_series:
                      - {series: 'skep_node_state{state="leading", namespace="default", job="other-peers", pod="x", instance="x"}', values: '0x12'}
                      - {series: 'skep_node_state{state="leading", HIVE, pod="a", instance="a"}', values: '1x12'}
                      - {series: 'up{namespace="default", job="other-peers", pod="x", instance="x"}', values: '0x12'}
                    alert_rule_test:
                      - {eval_time: 2m, alertname: SkepNoMaster, exp_alerts: []}
                      - {eval_time: 2m, alertname: SkepAgentDown, exp_alerts: []}
                """.replace("HIVE", HIVE);
        Path file = tmp.resolve("test.yaml");
        Files.writeString(file, tests);
        assertPromtool("test", "rules", file.toString());
    }

    /** The PrometheusRule's groups, rendered with TLS (every alert); annotations left out unless asked for. */
    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> groups(boolean annotations) throws Exception {
        KubeManifests m = ManifestsTest.render("--set", "prometheusRule.enabled=true", "--set", "tls.enabled=true",
                "--set", "tls.existingSecret=x");
        List<Map<String, Object>> groups = list(map(m.ofKind("PrometheusRule").get(0), "spec"), "groups");
        if (!annotations) {
            for (Map<String, Object> g : groups) {
                for (Map<String, Object> rule : (List<Map<String, Object>>) g.get("rules")) {
                    rule.remove("annotations");
                }
            }
        }
        return groups;
    }

    private static void assertPromtool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("promtool"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ":\n" + out).isZero();
    }
}
