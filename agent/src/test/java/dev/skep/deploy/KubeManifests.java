package dev.skep.deploy;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Kubernetes objects of a rendered manifest file ({@code deploy/kubernetes/skep.yaml} by default), read
 * as plain maps, with what a kubelet would compute for a container: its environment with {@code fieldRef}
 * and {@code secretKeyRef} resolved and its arguments with {@code $(VAR)} references expanded. The tests use
 * it to start processes exactly as a pod would. Used from one test thread.
 */
public final class KubeManifests {
    /** The committed manifests, relative to the project directory the tests run in. */
    public static final Path COMMITTED = Paths.get("deploy/kubernetes/skep.yaml");

    private static final Pattern VAR_REF = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");

    private final List<Map<String, Object>> objects;

    private KubeManifests(List<Map<String, Object>> objects) {
        this.objects = objects;
    }

    /** Parses every YAML document of {@code text}; empty documents are skipped. */
    @SuppressWarnings("unchecked")
    public static KubeManifests parse(String text) {
        List<Map<String, Object>> objects = new ArrayList<>();
        for (Object doc : new Yaml(new LoaderOptions()).loadAll(text)) {
            if (doc != null) {
                objects.add((Map<String, Object>) doc);
            }
        }
        return new KubeManifests(objects);
    }

    /** Reads and parses a manifest file. */
    public static KubeManifests read(Path file) throws IOException {
        return parse(Files.readString(file, StandardCharsets.UTF_8));
    }

    /** Every object, in file order. */
    public List<Map<String, Object>> objects() {
        return objects;
    }

    /** The objects of one kind. */
    public List<Map<String, Object>> ofKind(String kind) {
        return objects.stream().filter(o -> kind.equals(o.get("kind"))).toList();
    }

    /** The one object of {@code kind} named {@code name}; fails when absent. */
    public Map<String, Object> get(String kind, String name) {
        return ofKind(kind).stream().filter(o -> name.equals(map(o, "metadata").get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " named " + name + " in the manifests"));
    }

    /** The pod template's spec of the one Deployment or StatefulSet. */
    public Map<String, Object> podSpec() {
        List<Map<String, Object>> workloads = new ArrayList<>(ofKind("Deployment"));
        workloads.addAll(ofKind("StatefulSet"));
        if (workloads.size() != 1) {
            throw new AssertionError("expected one Deployment or StatefulSet, found " + workloads.size());
        }
        return map(map(map(workloads.get(0), "spec"), "template"), "spec");
    }

    /** The pod's container named {@code name}. */
    public Map<String, Object> container(String name) {
        return list(podSpec(), "containers").stream().filter(c -> name.equals(c.get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name + " in the pod"));
    }

    /** The decoded value of {@code key} in the Secret {@code name} of these manifests. */
    public String secretValue(String name, String key) {
        Object encoded = map(get("Secret", name), "data").get(key);
        Objects.requireNonNull(encoded, () -> "Secret " + name + " has no key " + key);
        return new String(Base64.getDecoder().decode(encoded.toString()), StandardCharsets.UTF_8);
    }

    /**
     * The container's environment as the kubelet computes it: {@code value}s (with {@code $(VAR)} of earlier
     * variables expanded), {@code fieldRef status.podIP} as {@code podIp}, {@code metadata.namespace} as "default", {@code secretKeyRef} from these
     * manifests' Secrets. Any other source fails: the emulation would not be faithful.
     */
    public Map<String, String> environment(Map<String, Object> container, String podIp) {
        Map<String, String> env = new LinkedHashMap<>();
        for (Map<String, Object> var : list(container, "env")) {
            String name = var.get("name").toString();
            if (var.containsKey("value")) {
                env.put(name, expand(String.valueOf(var.get("value")), env));
                continue;
            }
            Map<String, Object> from = map(var, "valueFrom");
            if (from.containsKey("fieldRef") && "status.podIP".equals(map(from, "fieldRef").get("fieldPath"))) {
                env.put(name, podIp);
            } else if (from.containsKey("fieldRef") && "metadata.namespace".equals(map(from, "fieldRef").get("fieldPath"))) {
                env.put(name, "default"); // helm template leaves objects without a namespace: where they are applied
            } else if (from.containsKey("secretKeyRef")) {
                Map<String, Object> ref = map(from, "secretKeyRef");
                env.put(name, secretValue(ref.get("name").toString(), ref.get("key").toString()));
            } else {
                throw new AssertionError("env " + name + ": source not emulated: " + from);
            }
        }
        return env;
    }

    /**
     * Projects the container's mounts of these manifests' Secrets as the kubelet does, each key a file holding its
     * decoded value, under {@code root}; returns each mount path with the directory standing for it, for a test to
     * move the container's paths onto (a Secret not in the manifests, e.g. an existing TLS Secret, is left out).
     */
    public Map<String, Path> mountSecrets(Map<String, Object> container, Path root) throws IOException {
        Map<String, Path> mounts = new LinkedHashMap<>();
        for (Map<String, Object> mount : list(container, "volumeMounts")) {
            Map<String, Object> volume = list(podSpec(), "volumes").stream()
                    .filter(v -> mount.get("name").equals(v.get("name"))).findFirst()
                    .orElseThrow(() -> new AssertionError("no volume " + mount.get("name") + " in the pod"));
            if (!volume.containsKey("secret")) {
                continue;
            }
            String secret = map(volume, "secret").get("secretName").toString();
            if (ofKind("Secret").stream().noneMatch(o -> secret.equals(map(o, "metadata").get("name")))) {
                continue;
            }
            Path dir = Files.createDirectories(root.resolve(mount.get("name").toString()));
            for (Object key : map(get("Secret", secret), "data").keySet()) {
                Files.writeString(dir.resolve(key.toString()), secretValue(secret, key.toString()));
            }
            mounts.put(mount.get("mountPath").toString(), dir);
        }
        return mounts;
    }

    /** {@code command} then {@code args} of the container, {@code $(VAR)} expanded from {@code env}. */
    public static List<String> commandLine(Map<String, Object> container, Map<String, String> env) {
        List<String> cmd = new ArrayList<>();
        for (String key : List.of("command", "args")) {
            for (Object a : container.get(key) == null ? List.of() : (List<?>) container.get(key)) {
                cmd.add(expand(String.valueOf(a), env));
            }
        }
        return cmd;
    }

    /** Kubernetes' {@code $(VAR)} expansion: a reference to an unknown variable stays as written. */
    static String expand(String s, Map<String, String> env) {
        Matcher m = VAR_REF.matcher(s);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String v = env.get(m.group(1));
            m.appendReplacement(b, Matcher.quoteReplacement(v == null ? m.group() : v));
        }
        m.appendTail(b);
        return b.toString();
    }

    /** The container's port numbers by name. */
    public static Map<String, Integer> ports(Map<String, Object> container) {
        Map<String, Integer> ports = new LinkedHashMap<>();
        for (Map<String, Object> p : list(container, "ports")) {
            ports.put(p.get("name").toString(), ((Number) p.get("containerPort")).intValue());
        }
        return ports;
    }

    /** {@code m.get(key)} as a map; fails when absent. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> map(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Map)) {
            throw new AssertionError(key + ": expected a mapping, found " + v);
        }
        return (Map<String, Object>) v;
    }

    /** {@code m.get(key)} as a list of maps; empty when absent. */
    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> list(Map<String, Object> m, String key) {
        Object v = m.get(key);
        return v == null ? List.of() : (List<Map<String, Object>>) v;
    }
}
