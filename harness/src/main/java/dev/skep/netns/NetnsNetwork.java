package dev.skep.netns;

import dev.skep.up.LocalHive;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The network of a {@link NetnsHive}: a "switch" namespace holding a bridge, and one namespace per node joined to it
 * by a veth pair, with the node's address ({@link NetnsHive#address}), no default route, and the switch's DNS in its
 * {@code resolv.conf}; optionally a client leg from the caller's own namespace, or a namespace for clients. A node is
 * cut off by taking its port on the bridge down. {@link #close()} deletes every namespace (their links go with them)
 * and {@code /etc/netns} entry this network created, even when {@link #build} failed half way.
 *
 * <p>Threads: {@link #build}, {@link #addClientNamespace} and {@link #close} from the hive's owner (the hive
 * serializes them); {@link #isolate}, {@link #heal} and {@link #owns} from any thread.
 */
final class NetnsNetwork {
    private final PrintStream out;
    /** Unique per run: {@code <pid>-<random>}. */
    private final String id;
    private final String switchNs;
    private final List<String> nodeNs = new ArrayList<>();
    /** Namespaces created so far, in order: what {@link #close()} deletes. */
    private final List<String> created = Collections.synchronizedList(new ArrayList<>());
    private String clientLeg;

    NetnsNetwork(int nodes, PrintStream out) {
        this.out = out;
        this.id = ProcessHandle.current().pid() + "-" + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
        this.switchNs = "skep-" + id + "-sw";
        for (int i = 0; i < nodes; i++) {
            nodeNs.add("skep-" + id + "-n" + i);
        }
    }

    String id() {
        return id;
    }

    String switchNamespace() {
        return switchNs;
    }

    /** Node {@code i}'s namespace. */
    String node(int i) {
        return nodeNs.get(i);
    }

    List<String> nodes() {
        return List.copyOf(nodeNs);
    }

    /** Whether {@code ns} is a namespace this network created. */
    boolean owns(String ns) {
        return created.contains(ns);
    }

    /** The namespaces created so far, for messages. */
    String createdList() {
        return created.toString();
    }

    /** Creates the switch, its bridge and the nodes; with {@code withClientLeg}, joins the caller's namespace too. */
    void build(boolean withClientLeg) throws IOException {
        addNamespace(switchNs);
        ip("-n", switchNs, "link", "set", "lo", "up");
        // A fixed address: by default a bridge takes the lowest address of its ports, so a port added later
        // (a client namespace) can change it, and the nodes' ARP entries for the switch (dnsmasq) then point
        // at an address no frame reaches until they expire: DNS goes silent for as long (over 10 s).
        ip("-n", switchNs, "link", "add", "br0", "address", "02:00:5e:d5:00:01", "type", "bridge");
        ip("-n", switchNs, "addr", "add", NetnsHive.SWITCH_ADDRESS + "/24", "dev", "br0");
        ip("-n", switchNs, "link", "set", "br0", "up");
        for (int i = 0; i < nodeNs.size(); i++) {
            String ns = nodeNs.get(i);
            addNamespace(ns);
            // Created directly inside the two namespaces: the caller's namespace never holds either end.
            ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port(i), "netns", switchNs);
            ip("-n", switchNs, "link", "set", port(i), "master", "br0");
            ip("-n", switchNs, "link", "set", port(i), "up");
            ip("-n", ns, "addr", "add", NetnsHive.address(i) + "/24", "dev", "eth0");
            ip("-n", ns, "link", "set", "eth0", "up");
            ip("-n", ns, "link", "set", "lo", "up");
            // `ip netns exec` bind-mounts this over /etc/resolv.conf for the processes it starts: the node
            // resolves names with the switch's dnsmasq, like a pod with the cluster DNS.
            Path etc = etcNetns(ns);
            Files.createDirectories(etc);
            Files.writeString(etc.resolve("resolv.conf"), "nameserver " + NetnsHive.SWITCH_ADDRESS + "\n"
                    + "search default.svc.cluster.local svc.cluster.local cluster.local\n"
                    + "options ndots:5 timeout:1 attempts:1\n");
        }
        if (withClientLeg) {
            clientLeg = "skc" + id.substring(id.length() - 4) + Integer.toString(ThreadLocalRandom.current().nextInt(1000));
            ip("link", "add", clientLeg, "type", "veth", "peer", "name", "pc", "netns", switchNs);
            ip("-n", switchNs, "link", "set", "pc", "master", "br0");
            ip("-n", switchNs, "link", "set", "pc", "up");
            ip("addr", "add", NetnsHive.CLIENT_ADDRESS + "/24", "dev", clientLeg);
            ip("link", "set", clientLeg, "up");
        }
    }

    /** See {@link NetnsHive#addClientNamespace()}. */
    String addClientNamespace() throws IOException {
        String ns = "skep-" + id + "-cl";
        addNamespace(ns);
        ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "pcl", "netns", switchNs);
        ip("-n", switchNs, "link", "set", "pcl", "master", "br0");
        ip("-n", switchNs, "link", "set", "pcl", "up");
        ip("-n", ns, "addr", "add", NetnsHive.CLIENT_ADDRESS + "/24", "dev", "eth0");
        ip("-n", ns, "link", "set", "eth0", "up");
        ip("-n", ns, "link", "set", "lo", "up");
        Path etc = etcNetns(ns);
        Files.createDirectories(etc);
        Files.writeString(etc.resolve("resolv.conf"), "nameserver " + NetnsHive.SWITCH_ADDRESS + "\n");
        return ns;
    }

    /** Takes node {@code i}'s port on the bridge down. */
    void isolate(int i) throws IOException {
        ip("-n", switchNs, "link", "set", port(i), "down");
    }

    /** Brings node {@code i}'s port on the bridge up again. */
    void heal(int i) throws IOException {
        ip("-n", switchNs, "link", "set", port(i), "up");
    }

    /** Deletes what was created, newest first; a step that fails is reported on {@code out} and the others run. */
    void close() {
        List<String> namespaces;
        synchronized (created) {
            namespaces = new ArrayList<>(created);
        }
        Collections.reverse(namespaces);
        for (String ns : namespaces) {
            try {
                ip("netns", "del", ns); // its veth ends die with it, and with them their peers (and the client leg)
            } catch (IOException e) {
                out.println("cleanup: " + e.getMessage());
            }
            try {
                Path etc = etcNetns(ns);
                if (Files.exists(etc)) {
                    LocalHive.emptyDirectory(etc);
                    Files.delete(etc);
                }
            } catch (IOException | RuntimeException e) {
                out.println("cleanup: cannot remove " + etcNetns(ns) + ": " + e.getMessage());
            }
        }
        if (clientLeg != null) {
            try {
                // normally gone with its peer in the switch namespace: this only catches a half-built leg
                Commands.run(List.of("ip", "link", "del", clientLeg), NetnsHive.CLI_BOUND);
            } catch (IOException e) {
                out.println("cleanup: " + e.getMessage());
            }
        }
    }

    /** Runs {@code ip args...}; a failure throws with ip's own message. */
    private static void ip(String... args) throws IOException {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "ip";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Commands.check(cmd);
    }

    private void addNamespace(String ns) throws IOException {
        ip("netns", "add", ns);
        created.add(ns);
    }

    private static String port(int i) {
        return "p" + i;
    }

    private static Path etcNetns(String ns) {
        return Paths.get("/etc/netns", ns);
    }
}
