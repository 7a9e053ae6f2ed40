package dev.skep.app;

import dev.skep.lease.LeaseSettings;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

import java.net.InetAddress;
import java.util.HashMap;

/**
 * {@code --election lease} against fabric8's mock Kubernetes API server in CRUD mode: a real HTTP server that
 * stores objects and refuses a write carrying a stale {@code resourceVersion} with 409, as the API server does,
 * but with no authentication and no RBAC (see {@link LeaseRealApiServerIT} for those). A fresh, empty server per
 * scenario; taken away with {@code destroy()} and brought back empty on the same port.
 */
class LeaseElectionIT extends LeaseElectionScenarios {
    private KubernetesMockServer api;
    private int apiPort;

    @Override
    void beforeScenario() throws Exception {
        api = newApiServer(0);
        apiPort = api.getPort();
    }

    @Override
    void afterScenario() {
        if (api != null) {
            api.destroy();
        }
    }

    private static KubernetesMockServer newApiServer(int port) throws Exception {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getByName("127.0.0.1"), port);
        return server;
    }

    @Override
    LeaseSettings leaseSettings() {
        return new LeaseSettings("skep-leader", "default", "http://127.0.0.1:" + apiPort, DURATION_S);
    }

    @Override
    void stopApiServer() {
        api.destroy();
    }

    @Override
    void restartApiServer() throws Exception {
        api = newApiServer(apiPort); // back, empty: the first claim creates the Lease again
    }

    @Override
    String apiServerName() {
        return "mock";
    }
}
