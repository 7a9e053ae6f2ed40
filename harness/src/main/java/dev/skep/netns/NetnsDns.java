package dev.skep.netns;

import dev.skep.up.LocalHive;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The DNS of a {@link NetnsHive}: a dnsmasq in the switch namespace that answers the Service name
 * ({@link NetnsHive#SERVICE}) with the addresses of the nodes published, from a hosts file it re-reads on SIGHUP, and
 * refuses every name not under {@code cluster.local}. Its files and log are under {@code <runDir>/dns}. {@link #close}
 * stops dnsmasq, even when {@link #start} failed once it had started it.
 *
 * <p>Threads: {@link #start} and {@link #close} from the hive's owner; {@link #publish} from any thread, one at a time
 * (the hive serializes it).
 */
final class NetnsDns {
    private final Path dir;
    private final NetnsNetwork network;
    private Path hostsFile;
    private Process dnsmasq;

    NetnsDns(Path runDir, NetnsNetwork network) {
        this.dir = runDir.resolve("dns");
        this.network = network;
    }

    /** Starts dnsmasq with every node published; returns once node 0 resolves the name through it. */
    void start(List<Integer> nodes) throws IOException {
        Files.createDirectories(dir);
        hostsFile = dir.resolve("hosts").toAbsolutePath(); // dnsmasq reads it after moving to /
        Files.writeString(hostsFile, hosts(nodes));
        List<String> cmd = List.of("ip", "netns", "exec", network.switchNamespace(), dnsmasqPath(), "--keep-in-foreground",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll", "--addn-hosts=" + hostsFile,
                "--listen-address=" + NetnsHive.SWITCH_ADDRESS, "--bind-interfaces", "--port=53", "--local=/cluster.local/",
                "--domain-needed", "--bogus-priv", "--local-ttl=0", "--user=root", "--pid-file", "--log-facility=-");
        dnsmasq = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("dnsmasq.log").toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        // dnsmasq binds at once; answer a query through it before any agent needs it
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!dnsmasq.isAlive()) {
                throw new IOException("dnsmasq exited with " + dnsmasq.exitValue() + ": see " + dir.resolve("dnsmasq.log"));
            }
            Commands.Result r = Commands.run(List.of("ip", "netns", "exec", network.node(0), "getent", "ahostsv4",
                    NetnsHive.SERVICE), NetnsHive.CLI_BOUND);
            if (r.ok() && r.stdout().contains(NetnsHive.address(0))) {
                return;
            }
            pause(50);
        }
        throw new IOException("dnsmasq does not answer " + NetnsHive.SERVICE + " after 10 s: see " + dir.resolve("dnsmasq.log"));
    }

    /** See {@link NetnsHive#publish}. */
    void publish(List<Integer> nodes) throws IOException {
        Path tmp = hostsFile.resolveSibling("hosts.tmp");
        Files.writeString(tmp, hosts(nodes));
        Files.move(tmp, hostsFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Commands.check("kill", "-HUP", Long.toString(dnsmasq.pid())); // `ip netns exec` exec'd into dnsmasq: same PID
        if (nodes.isEmpty()) {
            return;
        }
        String from = network.node(nodes.get(0));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long nextHup = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        Commands.Result r = null;
        while (System.nanoTime() < deadline) {
            if (System.nanoTime() > nextHup && dnsmasq.isAlive()) {
                // seen once in a full suite run: the name stayed unanswered after the reload; ask again
                Commands.check("kill", "-HUP", Long.toString(dnsmasq.pid()));
                nextHup = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            }
            r = Commands.run(List.of("ip", "netns", "exec", from, "getent", "ahostsv4", NetnsHive.SERVICE),
                    NetnsHive.CLI_BOUND);
            long seen = r.stdout().lines().map(l -> l.split("\\s+")[0]).distinct().count();
            if (r.ok() && seen == nodes.size()) {
                return;
            }
            pause(50);
        }
        throw new IOException("dnsmasq (" + (dnsmasq.isAlive() ? "running" : "exited") + ") does not answer "
                + NetnsHive.SERVICE + " with nodes " + nodes + " from " + from + " after 10 s; last answer: "
                + (r == null ? "none" : "exit " + r.exitCode() + " '" + r.stdout().strip() + "' '" + r.stderr().strip() + "'")
                + "; dnsmasq.log ends: " + tail(hostsFile.resolveSibling("dnsmasq.log"), 5)
                + "; neighbours: " + Commands.run(List.of("ip", "-n", from, "neigh"), NetnsHive.CLI_BOUND).stdout().strip());
    }

    /** Stops dnsmasq, if it was started. */
    void close() {
        if (dnsmasq == null) {
            return;
        }
        dnsmasq.destroy();
        try {
            if (!dnsmasq.waitFor(5, TimeUnit.SECONDS)) {
                dnsmasq.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The hosts file naming {@code nodes}: each by a name of its own and all by the Service name. */
    private static String hosts(List<Integer> nodes) {
        StringBuilder hosts = new StringBuilder();
        for (int i : nodes) {
            hosts.append(NetnsHive.address(i)).append(" skep-").append(i).append('.').append(NetnsHive.SERVICE)
                    .append(' ').append(NetnsHive.SERVICE).append('\n');
        }
        return hosts.toString();
    }

    private static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file);
            return String.join(" | ", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private static String dnsmasqPath() {
        return LocalHive.onPath("dnsmasq").map(Path::toString).orElse("/usr/sbin/dnsmasq");
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
