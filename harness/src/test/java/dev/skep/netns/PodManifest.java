package dev.skep.netns;

import dev.skep.deploy.KubeManifests;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.skep.deploy.KubeManifests.list;
import static dev.skep.deploy.KubeManifests.map;

/**
 * One Pod, as the API server and the kubelet would make it from the rendered chart's Deployment (or StatefulSet),
 * written as a Pod manifest that {@code podman kube play} runs (it plays no StatefulSet, and a Deployment's replicas
 * all on one host). What the kubelet computes is done here, so that podman runs the pod as a kubelet would:
 * <ul>
 *   <li>every container's environment with its {@code secretKeyRef} and {@code fieldRef} (the pod IP) resolved, and
 *   its {@code $(VAR)} references in {@code command} and {@code args} expanded ({@link KubeManifests#environment});
 *   <li>every {@code emptyDir} a fresh directory of the pod's own, mode 0777 as the kubelet makes one, group-owned by
 *   the pod's {@code fsGroup} with the setgid bit: podman 4.3 turns an emptyDir into a <em>named</em> volume shared
 *   by every pod that names it alike, and copies the image's directory into it, which a kubelet never does;
 *   <li>every {@code secret} volume a directory of the pod's own holding the Secret's keys as the kubelet writes
 *   them (root's, group-readable by the {@code fsGroup}, at the {@code defaultMode}, behind the atomic writer's
 *   {@code ..data} link), from the Secret in the manifests (the test adds one the chart only names, as a user
 *   creates it before {@code helm install}); the containers mount it with their {@code volumeMounts}, read-only
 *   where those say so, as podman does a host path.
 * </ul>
 * Left out, each for a reason: {@code ports} (podman makes port mappings of them, refused on the host network,
 * while a pod's ports are just its namespace's ports), the probes (podman would run an httpGet probe as {@code curl}
 * inside the container, which neither image has, from systemd timers; the test probes as the kubelet does, from
 * outside), and {@code affinity} (one pod per node here). Any other volume source, or a secret volume's
 * {@code items}, fails: the emulation would not be faithful. Used from the test's thread.
 */
final class PodManifest {
    private PodManifest() {
    }

    /**
     * The Pod manifest of pod {@code name} at {@code podIp}; its emptyDirs and secret volumes are created under
     * {@code volumes}.
     *
     * @return the YAML to give {@code podman kube play}
     */
    @SuppressWarnings("unchecked")
    static String of(KubeManifests m, String name, String podIp, Path volumes) throws IOException {
        Yaml yaml = new Yaml(new LoaderOptions());
        // a deep copy: the rendered template stays as rendered for the next pod
        Map<String, Object> spec = (Map<String, Object>) yaml.load(yaml.dump(m.podSpec()));
        spec.remove("affinity");
        Object fsGroup = spec.get("securityContext") instanceof Map<?, ?> sc ? sc.get("fsGroup") : null;
        for (Map<String, Object> volume : list(spec, "volumes")) {
            Path dir = Files.createDirectories(volumes.resolve(volume.get("name").toString()));
            if (volume.containsKey("emptyDir")) {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
                fsGroupOwns(dir, fsGroup);
                volume.remove("emptyDir");
            } else if (volume.containsKey("secret")) {
                writeSecret(m, map(volume, "secret"), dir, fsGroup);
                volume.remove("secret");
            } else {
                throw new AssertionError("volume " + volume.get("name") + ": only emptyDir and secret are emulated: " + volume);
            }
            volume.put("hostPath", new LinkedHashMap<>(Map.of("path", dir.toAbsolutePath().toString(), "type", "Directory")));
        }
        for (Map<String, Object> c : list(spec, "containers")) {
            Map<String, String> env = m.environment(m.container(c.get("name").toString()), podIp);
            List<Map<String, Object>> plain = new ArrayList<>();
            env.forEach((k, v) -> plain.add(new LinkedHashMap<>(Map.of("name", k, "value", v))));
            c.put("env", plain);
            for (String key : List.of("command", "args")) {
                if (c.containsKey(key)) {
                    c.put(key, KubeManifests.commandLine(Map.of("args", c.get(key)), env));
                }
            }
            c.remove("ports");
            c.remove("startupProbe");
            c.remove("livenessProbe");
            c.remove("readinessProbe");
        }
        Map<String, Object> pod = new LinkedHashMap<>();
        pod.put("apiVersion", "v1");
        pod.put("kind", "Pod");
        Map<String, Object> template = map(workload(m), "template");
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("name", name);
        metadata.put("labels", map(template, "metadata").get("labels"));
        pod.put("metadata", metadata);
        pod.put("spec", spec);
        DumperOptions options = new DumperOptions();
        options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        return new Yaml(options).dump(pod);
    }

    /**
     * A secret volume as the kubelet writes it: each key of the Secret's {@code data} a file of the volume's
     * {@code defaultMode} (0644 when absent), reached through the atomic writer's links ({@code tls.crt ->
     * ..data/tls.crt}, {@code ..data -> ..<timestamp>}); owned by root, and with an {@code fsGroup} group-owned by it
     * and group-readable, as a read-only volume's files are (without one, a non-root container cannot read a 0440
     * file: what the chart's {@code fsGroup} is there for).
     */
    private static void writeSecret(KubeManifests m, Map<String, Object> source, Path dir, Object fsGroup) throws IOException {
        if (source.containsKey("items")) {
            throw new AssertionError("secret volume " + source.get("secretName") + ": items are not emulated: " + source);
        }
        Map<String, Object> secret = m.get("Secret", source.get("secretName").toString());
        int mode = source.get("defaultMode") instanceof Number n ? n.intValue() : 0644;
        Path data = Files.createDirectories(dir.resolve(".." + LocalDateTime.now(ZoneOffset.UTC)
                .format(DateTimeFormatter.ofPattern("yyyy_MM_dd_HH_mm_ss.SSSSSSSSS"))));
        for (String key : map(secret, "data").keySet()) {
            Path file = data.resolve(key);
            Files.write(file, Base64.getDecoder().decode(map(secret, "data").get(key).toString()));
            // the kubelet adds group read to a read-only volume's files when it gives them to the fsGroup
            Files.setPosixFilePermissions(file, permissions(fsGroup == null ? mode : mode | 0440));
            if (fsGroup != null) {
                Commands.check("chgrp", fsGroup.toString(), file.toString());
            }
            Files.createSymbolicLink(dir.resolve(key), Path.of("..data", key));
        }
        Files.createSymbolicLink(dir.resolve("..data"), data.getFileName());
        for (Path d : List.of(dir, data)) {
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
            fsGroupOwns(d, fsGroup);
        }
    }

    /** Gives {@code dir} to the pod's {@code fsGroup} (if any), with the setgid bit, as the kubelet does a volume's root. */
    private static void fsGroupOwns(Path dir, Object fsGroup) throws IOException {
        if (fsGroup != null) {
            Commands.check("chgrp", fsGroup.toString(), dir.toString());
            Commands.check("chmod", "g+s", dir.toString());
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE: bits 8 to 0
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << (bits.length - 1 - i))) != 0) {
                set.add(bits[i]);
            }
        }
        return set;
    }

    private static Map<String, Object> workload(KubeManifests m) {
        List<Map<String, Object>> workloads = new ArrayList<>(m.ofKind("Deployment"));
        workloads.addAll(m.ofKind("StatefulSet"));
        return map(workloads.get(0), "spec");
    }
}
