package dev.skep.tls;

import java.nio.file.Path;
import java.util.List;

/**
 * Where the agent's certificates are and how they are used, as the flags gave them ({@code --tls-cert-file} and
 * the rest, named as redis names its own). One set of files serves every TLS port and link: the client ports, the
 * agent's connections to redis, the peer port, the admin HTTP port. Immutable; validated here, loaded by
 * {@link TlsMaterial}.
 *
 * @param certFile    PEM certificate (chain) this agent presents, as server and as client
 * @param keyFile     PEM private key of {@code certFile}, PKCS#8 ("BEGIN PRIVATE KEY", what openssl 3 writes)
 * @param caFile      PEM certificates that sign the peers' and clients' certificates; null: the JDK's trusted CAs
 *                    (then clients cannot be asked for a certificate)
 * @param clientAuth  whether clients of the TLS ports must present a certificate signed by {@code caFile}
 * @param protocols   TLS versions accepted (TLSv1.2, TLSv1.3)
 * @param provider    which TLS implementation: OpenSSL (BoringSSL, where the platform has it) or the JDK's
 * @param reloadMs    how often the files are checked for a change (a Secret rotated by cert-manager); 0: never
 */
public record TlsSettings(Path certFile, Path keyFile, Path caFile, ClientAuth clientAuth, List<String> protocols,
        Provider provider, long reloadMs) {

    /** As redis's {@code tls-auth-clients}: yes (the default, as on redis), optional, no. */
    public enum ClientAuth {
        YES, OPTIONAL, NO;

        /** Parses redis's spelling of the setting. */
        public static ClientAuth parse(String value) {
            return switch (value.toLowerCase(java.util.Locale.ROOT)) {
                case "yes" -> YES;
                case "optional" -> OPTIONAL;
                case "no" -> NO;
                default -> throw new IllegalArgumentException(
                        "--tls-auth-clients must be yes, optional or no, not '" + value + "'");
            };
        }
    }

    /** auto: OpenSSL where it loads, the JDK's otherwise. */
    public enum Provider { AUTO, OPENSSL, JDK }

    public static final List<String> ALL_PROTOCOLS = List.of("TLSv1.2", "TLSv1.3");

    public TlsSettings {
        if (certFile == null || keyFile == null) {
            throw new IllegalArgumentException("TLS needs both --tls-cert-file and --tls-key-file");
        }
        if (caFile == null && clientAuth != ClientAuth.NO) {
            throw new IllegalArgumentException("--tls-auth-clients " + clientAuth.name().toLowerCase(java.util.Locale.ROOT)
                    + " needs --tls-ca-cert-file (the CA that signs client certificates), or --tls-auth-clients no");
        }
        if (protocols == null || protocols.isEmpty()) {
            protocols = ALL_PROTOCOLS;
        }
        for (String p : protocols) {
            if (!ALL_PROTOCOLS.contains(p)) {
                throw new IllegalArgumentException("--tls-protocols accepts TLSv1.2 and TLSv1.3, not '" + p + "'");
            }
        }
        protocols = List.copyOf(protocols);
        if (provider == null) {
            provider = Provider.AUTO;
        }
        if (reloadMs < 0) {
            throw new IllegalArgumentException("--tls-reload-ms must be 0 or more, not " + reloadMs);
        }
    }

    /** The files, for messages and for change detection, in a fixed order. */
    public List<Path> files() {
        return caFile == null ? List.of(certFile, keyFile) : List.of(certFile, keyFile, caFile);
    }
}
