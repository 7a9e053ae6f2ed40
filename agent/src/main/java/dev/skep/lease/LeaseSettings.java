package dev.skep.lease;

/**
 * Where the Lease of {@code --election lease} is and how long it lasts.
 *
 * @param name            {@code --lease-name}: the Lease object's name
 * @param namespace       {@code --lease-namespace}: its namespace; "" for the pod's own (or the kubeconfig's)
 * @param apiServer       {@code --kube-api}: the API server's URL; "" for the in-cluster address (or the kubeconfig's)
 * @param durationSeconds {@code --lease-duration-s}: how long after the holder's last renewal others may take the
 *                        Lease, should the holder stop renewing without releasing it (its agent died or lost the
 *                        API server)
 */
public record LeaseSettings(String name, String namespace, String apiServer, int durationSeconds) {
    public LeaseSettings {
        namespace = namespace == null ? "" : namespace.trim();
        apiServer = apiServer == null ? "" : apiServer.trim();
    }
}
