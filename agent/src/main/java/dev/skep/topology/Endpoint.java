package dev.skep.topology;

import java.util.Objects;

/**
 * A host and a port: the identity of a node (its peer address) or the address of a redis.
 * Ordered by host (numerically for IPv4 literals) then port, which is the "lowest address" of the
 * election's tie-break.
 */
public record Endpoint(String host, int port) implements Comparable<Endpoint> {
    public Endpoint {
        Objects.requireNonNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host: empty (expected: a name or an IP address)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
        }
    }

    /** Parses {@code host:port}; {@code [v6]:port} for IPv6 literals. */
    public static Endpoint parse(String text) {
        String s = text.trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException("address: '" + text + "' (expected: host:port)");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port: '" + s.substring(colon + 1) + "' in '" + text + "' (expected: a number)");
        }
        return new Endpoint(host, port);
    }

    /**
     * Written out rather than generated: an endpoint is a map key and compared on every peer message, and a
     * record's generated equals and hashCode go through method handles, about three times slower under the C1
     * compiler that {@code skep up} runs its agents with (a measured 25 ns against 7 per equals and hashCode).
     */
    @Override
    public boolean equals(Object o) {
        return this == o || o instanceof Endpoint e && port == e.port && host.equals(e.host);
    }

    /** {@code 31 * host.hashCode() + port}, as the generated one computes it today. */
    @Override
    public int hashCode() {
        return 31 * host.hashCode() + port;
    }

    @Override
    public int compareTo(Endpoint o) {
        int c = compareHosts(host, o.host);
        return c != 0 ? c : Integer.compare(port, o.port);
    }

    private static int compareHosts(String a, String b) {
        long la = ipv4(a);
        long lb = ipv4(b);
        if (la >= 0 && lb >= 0) {
            return Long.compare(la, lb);
        }
        return a.compareTo(b);
    }

    /**
     * The value of a dotted IPv4 literal, or -1 when the host is not one. Walks the characters without allocating:
     * members are sorted by address on every peer message.
     */
    static long ipv4(String h) {
        long v = 0;
        int octets = 0;
        int octet = 0;
        int digits = 0;
        for (int i = 0; i <= h.length(); i++) {
            char c = i < h.length() ? h.charAt(i) : '.';
            if (c >= '0' && c <= '9') {
                octet = octet * 10 + (c - '0');
                if (++digits > 3 || octet > 255) {
                    return -1;
                }
            } else if (c == '.' && digits > 0 && octets < 4) {
                v = (v << 8) | octet;
                octets++;
                octet = 0;
                digits = 0;
            } else {
                return -1;
            }
        }
        return octets == 4 ? v : -1;
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
