package dev.skep.discovery;

import dev.skep.topology.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.Security;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Peers from a DNS name: every address (A and AAAA records) of the name, each with the same port. Made for
 * a Kubernetes headless Service, whose name resolves to one A record per ready pod, so the peer set
 * follows the pods as they come and go. The name is resolved again on every {@link #peers()} call; call
 * {@link #disableJvmDnsCache()} at startup, or the JVM's cache would hide changes.
 *
 * <p>{@link #peers()} blocks for the lookup: call it on the discovery thread. It never throws: a failed
 * lookup (NXDOMAIN while no pod is ready yet, a DNS server blip) gives an empty set, logged at DEBUG,
 * because the caller keeps running on what it already knows and asks again on the next round.
 */
public final class DnsPeerSource implements PeerSource {
    private static final Logger log = LoggerFactory.getLogger(DnsPeerSource.class);

    /** Looks up every address of a name; {@link InetAddress#getAllByName} by default, injectable for tests. */
    @FunctionalInterface
    public interface Resolver {
        InetAddress[] resolve(String name) throws UnknownHostException;
    }

    private final String name;
    private final int port;
    private final Resolver resolver;

    /**
     * Resolves with {@link InetAddress#getAllByName}.
     *
     * @param name DNS name to resolve (e.g. the headless Service's)
     * @param port the peer port of every address
     */
    public DnsPeerSource(String name, int port) {
        this(name, port, InetAddress::getAllByName);
    }

    /** Resolves with {@code resolver}: tests, or another lookup mechanism. */
    public DnsPeerSource(String name, int port, Resolver resolver) {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("DNS name: empty (expected: e.g. skep-headless.default.svc.cluster.local)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("peer port: " + port + " (expected: 1..65535)");
        }
        this.name = name;
        this.port = port;
        this.resolver = Objects.requireNonNull(resolver, "resolver");
    }

    @Override
    public Set<Endpoint> peers() {
        InetAddress[] addresses;
        try {
            addresses = resolver.resolve(name);
        } catch (UnknownHostException e) {
            log.debug("DNS lookup of {} found nothing: {}", name, e.getMessage());
            return Set.of();
        } catch (RuntimeException e) {
            // never let discovery kill its thread: an empty answer now, another lookup next round
            log.debug("DNS lookup of {} failed", name, e);
            return Set.of();
        }
        if (addresses == null) {
            return Set.of();
        }
        Set<Endpoint> peers = new LinkedHashSet<>();
        for (InetAddress address : addresses) {
            if (address != null) {
                // the IP, never a name: peers are identified by the address others connect to
                peers.add(new Endpoint(address.getHostAddress(), port));
            }
        }
        return Collections.unmodifiableSet(peers);
    }

    /**
     * Makes the JVM resolve names afresh on every lookup: sets the security properties
     * {@code networkaddress.cache.ttl} and {@code networkaddress.cache.negative.ttl} to 0.
     *
     * <p>Why: by default the JVM caches successful lookups (30 s, or forever with a security manager) and
     * failed ones (10 s), ignoring the records' TTLs. A headless Service's answer changes whenever a pod
     * comes or goes, and the first lookups of a starting hive fail until the pods are ready; with caching, a
     * node would keep a stale peer set, or believe it is alone, long after DNS knows better.
     *
     * <p>Must be called before the first lookup of the process: {@code InetAddress} reads these properties
     * once, when its cache is first used, and later changes have no effect.
     */
    public static void disableJvmDnsCache() {
        Security.setProperty("networkaddress.cache.ttl", "0");
        Security.setProperty("networkaddress.cache.negative.ttl", "0");
    }

    @Override
    public String toString() {
        return "DnsPeerSource[" + name + ":" + port + "]";
    }
}
