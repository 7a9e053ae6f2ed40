package dev.skep.app;

import dev.skep.lease.LeaseSettings;
import dev.skep.support.KubeApiServerFixture;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * {@code --election lease} against a real kube-apiserver (1.20.2 from Debian's source package, on Debian's etcd;
 * {@link KubeApiServerFixture}) with RBAC: the agents authenticate as the chart's ServiceAccount {@code skep},
 * whose only rights are the chart's own Role, so every scenario also proves that the Role's verbs suffice for
 * what the client really sends. One API server for the class; the Lease is deleted before each scenario. The
 * "API server away" scenario stops the API server and starts it again with etcd kept: the Lease it finds then
 * still names the leader that was cut off.
 *
 * <p>Not part of the default {@code verify}: it needs the binary that {@code .ci/build-kube-apiserver} builds
 * (~11 min), and fails (never skips) without it. Run it with
 * {@code ./mvnw -Pkube-apiserver verify -Dit.test=LeaseRealApiServerIT}.
 */
class LeaseRealApiServerIT extends LeaseElectionScenarios {
    private static final String LEASE = "skep-leader";
    /**
     * What fabric8's {@code Config.autoConfigure} reads: the agents run in this JVM and build their client from it,
     * as in a pod. A kubeconfig of whoever runs the tests is kept out (it could bring a client certificate).
     */
    private static final Map<String, String> AGENT_PROPERTIES = Map.of(
            Config.KUBERNETES_TRUST_CERT_SYSTEM_PROPERTY, "true",
            Config.KUBERNETES_AUTH_TRYKUBECONFIG_SYSTEM_PROPERTY, "false",
            Config.KUBERNETES_AUTH_TRYSERVICEACCOUNT_SYSTEM_PROPERTY, "false");

    private static KubeApiServerFixture kube;
    private static KubernetesClient admin;
    private static List<HasMetadata> rbac;
    private final Map<String, String> savedProperties = new HashMap<>();

    @BeforeAll
    static void startKubeApiServer() throws Exception {
        kube = KubeApiServerFixture.start();
        admin = kube.adminClient();
        rbac = kube.applyChartLeaseRbac();
    }

    @AfterAll
    static void stopKubeApiServer() {
        if (admin != null) {
            admin.close();
        }
        if (kube != null) {
            kube.close();
        }
    }

    @Override
    void beforeScenario() {
        admin.leases().inNamespace(KubeApiServerFixture.NAMESPACE).withName(LEASE).delete();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> admin.leases().inNamespace(KubeApiServerFixture.NAMESPACE).withName(LEASE).get() == null);
        Map<String, String> props = new HashMap<>(AGENT_PROPERTIES);
        props.put(Config.KUBERNETES_OAUTH_TOKEN_SYSTEM_PROPERTY, kube.serviceAccountToken());
        props.forEach((k, v) -> {
            savedProperties.put(k, System.getProperty(k));
            System.setProperty(k, v);
        });
    }

    @Override
    void afterScenario() {
        savedProperties.forEach((k, v) -> {
            if (v == null) {
                System.clearProperty(k);
            } else {
                System.setProperty(k, v);
            }
        });
        savedProperties.clear();
        if (!kube.ready()) {
            // a scenario that failed with the API server stopped must not leave the next ones without it
            kube.startApiServer();
        }
    }

    @Override
    LeaseSettings leaseSettings() {
        return new LeaseSettings(LEASE, KubeApiServerFixture.NAMESPACE, kube.url(), DURATION_S);
    }

    @Override
    void stopApiServer() {
        kube.stopApiServer();
    }

    @Override
    void restartApiServer() {
        kube.startApiServer();
    }

    @Override
    String apiServerName() {
        return "kube-apiserver";
    }

    /**
     * The token the agents use is bound by the chart's Role and nothing more: RBAC is really enforced, so the
     * scenarios passing means the Role is enough (not that everything is allowed).
     */
    @Test
    void theServiceAccountMayUseItsLeaseAndNothingElse() {
        assertThat(rbac).extracting(HasMetadata::getKind).containsExactlyInAnyOrder("ServiceAccount", "Role",
                "RoleBinding");
        String ns = KubeApiServerFixture.NAMESPACE;
        try (KubernetesClient sa = kube.clientWithToken(kube.serviceAccountToken())) {
            assertThat(sa.leases().inNamespace(ns).withName(LEASE).get()).isNull();
            sa.leases().inNamespace(ns).resource(new LeaseBuilder().withNewMetadata().withName(LEASE).endMetadata()
                    .withNewSpec().withHolderIdentity("probe").endSpec().build()).create();
            assertThat(sa.leases().inNamespace(ns).withName(LEASE).get().getSpec().getHolderIdentity())
                    .isEqualTo("probe");
            assertForbidden(() -> sa.leases().inNamespace(ns).list());
            assertForbidden(() -> sa.leases().inNamespace(ns).withName("someone-elses").get());
            assertForbidden(() -> sa.leases().inNamespace(ns).withName(LEASE).delete());
            assertForbidden(() -> sa.leases().inNamespace("kube-system").withName(LEASE).get());
            assertForbidden(() -> sa.pods().inNamespace(ns).list());
        }
    }

    private static void assertForbidden(Runnable request) {
        assertThatThrownBy(request::run).isInstanceOfSatisfying(KubernetesClientException.class,
                e -> assertThat(e.getCode()).as(e.getMessage()).isEqualTo(403));
    }
}
