package dev.skep.lease;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code coordination.k8s.io/v1} Lease in a Kubernetes API server, through the fabric8 client: in a pod it
 * authenticates with the pod's service account (token re-read as it rotates) and trusts the cluster's CA;
 * elsewhere it uses the kubeconfig, as kubectl does. Writes are PUTs carrying the {@code resourceVersion} that
 * was read, so that the API server refuses a write based on a stale view (409): the RBAC Role needs only
 * {@code get}, {@code create} and {@code update} on leases.
 *
 * <p>Called from one thread at a time (the election's lease thread).
 */
public final class KubernetesLeaseStore implements LeaseStore {
    /** The annotation that carries Skep's epoch; the Lease itself has no field for it. */
    public static final String EPOCH_ANNOTATION = "skep.dev/epoch";

    private final KubernetesClient client;
    private final String namespace;
    private final String name;
    /** The holder and acquireTime last read or written: acquireTime changes only with the holder. */
    private String lastHolder = "";
    private ZonedDateTime lastAcquired;

    /**
     * @param settings  where the Lease is and how to reach the API server
     * @param timeoutMs bound on each request (connect and response)
     */
    public KubernetesLeaseStore(LeaseSettings settings, int timeoutMs) {
        ConfigBuilder config = new ConfigBuilder(Config.autoConfigure(null))
                .withConnectionTimeout(timeoutMs).withRequestTimeout(timeoutMs)
                // the election retries every heartbeat itself; the client's own retries would only delay it
                .withRequestRetryBackoffLimit(0);
        if (!settings.apiServer().isEmpty()) {
            config.withMasterUrl(settings.apiServer());
        }
        Config built = config.build();
        this.namespace = !settings.namespace().isEmpty() ? settings.namespace()
                : built.getNamespace() != null ? built.getNamespace() : "default";
        this.name = settings.name();
        this.client = new KubernetesClientBuilder().withConfig(built).build();
    }

    @Override
    public Optional<LeaseRecord> read() throws IOException {
        try {
            Lease lease = client.leases().inNamespace(namespace).withName(name).get();
            return Optional.ofNullable(lease).map(this::remember);
        } catch (KubernetesClientException e) {
            throw failure("read", e);
        }
    }

    @Override
    public LeaseRecord write(LeaseRecord next) throws IOException {
        ZonedDateTime renew = ZonedDateTime.ofInstant(Instant.ofEpochMilli(next.renewTimeMillis()), ZoneOffset.UTC);
        ZonedDateTime acquired = next.holder().equals(lastHolder) && lastAcquired != null ? lastAcquired : renew;
        Map<String, String> annotations = new HashMap<>();
        annotations.put(EPOCH_ANNOTATION, Long.toString(next.epoch()));
        Lease lease = new LeaseBuilder()
                .withNewMetadata().withName(name).withNamespace(namespace).withAnnotations(annotations)
                .withResourceVersion(next.resourceVersion()).endMetadata()
                .withNewSpec().withHolderIdentity(next.holder().isEmpty() ? null : next.holder())
                .withLeaseDurationSeconds(next.durationSeconds()).withLeaseTransitions(next.transitions())
                .withRenewTime(renew).withAcquireTime(next.holder().isEmpty() ? null : acquired).endSpec()
                .build();
        try {
            Lease stored = next.resourceVersion() == null
                    ? client.leases().inNamespace(namespace).resource(lease).create()
                    : client.leases().inNamespace(namespace).resource(lease).update();
            return remember(stored);
        } catch (KubernetesClientException e) {
            throw failure("write", e);
        }
    }

    private LeaseRecord remember(Lease lease) {
        var spec = lease.getSpec();
        String holder = spec == null || spec.getHolderIdentity() == null ? "" : spec.getHolderIdentity();
        lastHolder = holder;
        lastAcquired = spec == null ? null : spec.getAcquireTime();
        Map<String, String> annotations = lease.getMetadata().getAnnotations();
        long epoch = 0;
        if (annotations != null && annotations.get(EPOCH_ANNOTATION) != null) {
            try {
                epoch = Long.parseLong(annotations.get(EPOCH_ANNOTATION));
            } catch (NumberFormatException e) {
                epoch = 0; // written by someone else: an epoch from our peers decides then
            }
        }
        int duration = spec == null || spec.getLeaseDurationSeconds() == null ? 0 : spec.getLeaseDurationSeconds();
        int transitions = spec == null || spec.getLeaseTransitions() == null ? 0 : spec.getLeaseTransitions();
        long renew = spec == null || spec.getRenewTime() == null ? 0 : spec.getRenewTime().toInstant().toEpochMilli();
        return new LeaseRecord(holder, epoch, duration, renew, transitions, lease.getMetadata().getResourceVersion());
    }

    private IOException failure(String what, KubernetesClientException e) {
        // fabric8's own message names the operation only; the cause says why (refused, timed out, TLS, 403 ...)
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String why = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage()
                : root != e ? root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage())
                : String.valueOf(e.getMessage());
        String detail = "Lease " + describe() + ": " + what + " failed"
                + (e.getCode() > 0 ? " (HTTP " + e.getCode() + ")" : "") + ": " + why;
        return e.getCode() == 409 ? new LeaseConflictException(detail) : new IOException(detail, e);
    }

    @Override
    public String describe() {
        return namespace + "/" + name + " at " + client.getMasterUrl();
    }

    @Override
    public void close() {
        client.close();
    }
}
