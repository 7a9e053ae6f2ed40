package dev.skep.netns;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Rootful podman as one node of a {@link NetnsHive} runs it: every command is run inside the node's network
 * namespace ({@code nsenter --net}), with a {@code containers.conf} of the node's own. Pods are played with
 * {@code --network host}, so their containers share the node's namespace and its address, as a pod shares its pod
 * IP.
 *
 * <p>Why each setting (podman 4.3.1 with runc, as on Debian bookworm; docs/testing.md): {@code ip netns exec}
 * remounts {@code /sys}, where podman then fails to make its cgroups, hence {@code nsenter}; a container on the
 * host network gets the host's {@code resolv.conf} whatever the pod's {@code dnsConfig}, hence the node's DNS (the
 * switch's dnsmasq) and a pod's search list in {@code containers.conf}; {@code podman exec} joins a host-network
 * container in the namespace of its caller, so it too runs under {@code nsenter}; crun cannot set rlimits without
 * CAP_SYS_RESOURCE and does not run on hybrid cgroups, hence runc with cgroupfs, and rlimits no higher than this
 * JVM's hard limits (and RLIMIT_NPROC no higher than {@code kernel.pid_max}, which runc was refused above).
 *
 * <p>Immutable; safe from any thread (each call runs one bounded command).
 *
 * @param namespace the node's network namespace
 * @param dir       the working directory of every podman command (see {@link #run})
 * @param conf      the node's {@code containers.conf}
 */
record PodmanNode(String namespace, Path dir, Path conf) {

    /** Writes the node's {@code containers.conf} under {@code dir} and returns the node's podman. */
    static PodmanNode of(String namespace, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path conf = dir.resolve("containers.conf");
        long nofile = hardLimit("Max open files");
        long nproc = Math.min(hardLimit("Max processes"), pidMax());
        Files.writeString(conf, "[containers]\n"
                + "dns_servers = [\"" + NetnsHive.SWITCH_ADDRESS + "\"]\n"
                // what the kubelet writes into a pod's resolv.conf in namespace "default"
                + "dns_searches = [\"default.svc.cluster.local\", \"svc.cluster.local\", \"cluster.local\"]\n"
                + "dns_options = [\"ndots:5\"]\n"
                + "default_ulimits = [\"nofile=" + nofile + ":" + nofile + "\", \"nproc=" + nproc + ":" + nproc + "\"]\n"
                + "[engine]\n"
                + "runtime = \"runc\"\n"
                + "cgroup_manager = \"cgroupfs\"\n"
                + "events_logger = \"file\"\n");
        return new PodmanNode(namespace, dir.toAbsolutePath(), conf);
    }

    /**
     * Runs {@code podman args...} in the node's namespace, from the node's directory (podman 4.3's {@code kube play}
     * takes a file in its working directory named like an image, such as the repository's {@code skep} script, for
     * a directory to build that image from, even with {@code --build=false}); never throws for a non-zero exit.
     */
    Commands.Result run(Duration bound, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("env", "-C", dir.toString(), "CONTAINERS_CONF=" + conf, "nsenter",
                "--net=/run/netns/" + namespace, "podman"));
        cmd.addAll(List.of(args));
        return Commands.run(cmd, bound);
    }

    /** Like {@link #run}, but a non-zero exit throws with podman's output. */
    String check(Duration bound, String... args) throws IOException {
        Commands.Result r = run(bound, args);
        if (!r.ok()) {
            throw new IOException("podman " + String.join(" ", args) + " in " + namespace + " failed (exit " + r.exitCode()
                    + "): " + r.stderr().strip() + " " + r.stdout().strip());
        }
        return r.stdout();
    }

    /**
     * {@code kernel.pid_max}. Read in one read from offset 0: {@code Files.readString} sizes its read from the file's
     * length, and on this project's build machines it got "3" of "32768".
     */
    private static long pidMax() throws IOException {
        try (InputStream in = Files.newInputStream(Path.of("/proc/sys/kernel/pid_max"))) {
            return Long.parseLong(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
        }
    }

    /** The hard value of a line of {@code /proc/self/limits}; "unlimited" as 1048576, podman's own default. */
    private static long hardLimit(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith(name)) {
                String hard = line.substring(name.length()).trim().split("\\s+")[1];
                return hard.equals("unlimited") ? 1_048_576 : Long.parseLong(hard);
            }
        }
        throw new IOException("no '" + name + "' in /proc/self/limits");
    }
}
