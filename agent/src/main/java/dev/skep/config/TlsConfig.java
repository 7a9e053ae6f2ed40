package dev.skep.config;

import dev.skep.tls.TlsSettings;

/**
 * Where the agent speaks TLS, with one set of certificate files for all of it. Immutable.
 *
 * @param files        the certificate, key and CA files and how they are used; null when TLS is off everywhere
 * @param proxyPort    TLS write port ({@code --tls-proxy-port}); 0: none
 * @param readPort     TLS read port ({@code --tls-read-port}); 0: none
 * @param sentinelPort TLS port of the Sentinel-compatible endpoint ({@code --tls-sentinel-port}); 0: none
 * @param redis        the agent reaches redis over TLS ({@code --tls-redis}: probes, control, the proxy's
 *                     connections) and has every redis replicate over TLS ({@code tls-replication yes})
 * @param peers        TLS on the peer port and to peers ({@code --tls-peers}): off, or one of the steps that move a
 *                     running hive to TLS without a moment in which its agents cannot hear one another
 * @param http         the admin port serves HTTPS ({@code --tls-http})
 * @param redisTlsPort every redis's TLS port, when {@code --redis} names its plain one ({@code --tls-redis-port}):
 *                     what the TLS Sentinel port gives out; 0: the addresses as the hive knows them
 */
public record TlsConfig(TlsSettings files, int proxyPort, int readPort, int sentinelPort, boolean redis,
        PeerTls peers, boolean http, int redisTlsPort) {
    public static final TlsConfig OFF = new TlsConfig(null, 0, 0, 0, false, PeerTls.OFF, false, 0);

    /**
     * {@code --tls-peers}. A hive moves from plain to TLS one agent at a time in three rolling restarts, each agent
     * always hearing every other: ACCEPT everywhere (TLS taken, plain still sent), then PREFER (TLS sent, plain
     * still taken), then ON (TLS only). Switching straight from OFF to ON on a running hive would split it in two
     * halves that cannot hear each other, each electing its own leader.
     */
    public enum PeerTls {
        /** Plain only. */
        OFF,
        /** The peer port takes TLS and plain; the agent sends plain. */
        ACCEPT,
        /** The peer port takes TLS and plain; the agent sends TLS. */
        PREFER,
        /** TLS only, both ways. */
        ON;

        /** The peer port takes plain connections too. */
        public boolean acceptsPlain() {
            return this == ACCEPT || this == PREFER;
        }

        /** The agent connects to its peers over TLS. */
        public boolean sendsTls() {
            return this == PREFER || this == ON;
        }

        /** Parses {@code --tls-peers}: off, accept, prefer, on (true/false as on/off). */
        public static PeerTls parse(String value) {
            return switch (value.toLowerCase(java.util.Locale.ROOT)) {
                case "off", "false", "no" -> OFF;
                case "accept" -> ACCEPT;
                case "prefer" -> PREFER;
                case "on", "true", "yes" -> ON;
                default -> throw new ConfigException("--tls-peers must be off, accept, prefer or on, not '" + value
                        + "'");
            };
        }
    }

    /** Without {@code --tls-redis-port}. */
    public TlsConfig(TlsSettings files, int proxyPort, int readPort, int sentinelPort, boolean redis, PeerTls peers,
            boolean http) {
        this(files, proxyPort, readPort, sentinelPort, redis, peers, http, 0);
    }

    public TlsConfig {
        peers = peers == null ? PeerTls.OFF : peers;
        boolean used = proxyPort > 0 || readPort > 0 || sentinelPort > 0 || redis || peers != PeerTls.OFF || http;
        if (used && files == null) {
            throw new ConfigException("TLS ports and links need --tls-cert-file and --tls-key-file");
        }
        if (redisTlsPort > 0 && redis) {
            throw new ConfigException("--tls-redis-port is for a redis whose plain port --redis names; with --tls-redis, "
                    + "--redis names its TLS port already");
        }
        for (int p : new int[] {proxyPort, readPort, sentinelPort, redisTlsPort}) {
            if (p < 0 || p > 65535) {
                throw new ConfigException("a TLS port must be 0..65535, not " + p);
            }
        }
    }

    /** True when anything is TLS. */
    public boolean enabled() {
        return files != null;
    }
}
