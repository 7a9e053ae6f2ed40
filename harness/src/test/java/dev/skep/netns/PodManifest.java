package dev.skep.netns;

import dev.skep.deploy.KubeManifests;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
 *   by every pod that names it alike, and copies the image's directory into it, which a kubelet never does.
 * </ul>
 * Left out, each for a reason: {@code ports} (podman makes port mappings of them, refused on the host network,
 * while a pod's ports are just its namespace's ports), the probes (podman would run an httpGet probe as {@code curl}
 * inside the container, which neither image has, from systemd timers; the test probes as the kubelet does, from
 * outside), and {@code affinity} (one pod per node here). Any other volume source fails: the emulation would not
 * be faithful. Used from the test's thread.
 */
final class PodManifest {
    private PodManifest() {
    }

    /**
     * The Pod manifest of pod {@code name} at {@code podIp}; its emptyDirs are created under {@code volumes}.
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
            if (!volume.containsKey("emptyDir")) {
                throw new AssertionError("volume " + volume.get("name") + ": only emptyDir is emulated: " + volume);
            }
            Path dir = Files.createDirectories(volumes.resolve(volume.get("name").toString()));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
            if (fsGroup != null) {
                Commands.check("chgrp", fsGroup.toString(), dir.toString());
                Commands.check("chmod", "g+s", dir.toString());
            }
            volume.remove("emptyDir");
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

    private static Map<String, Object> workload(KubeManifests m) {
        List<Map<String, Object>> workloads = new ArrayList<>(m.ofKind("Deployment"));
        workloads.addAll(m.ofKind("StatefulSet"));
        return map(workloads.get(0), "spec");
    }
}
