package dev.skep.cli;

import dev.skep.config.ConfigException;
import dev.skep.config.TlsConfig;
import dev.skep.tls.TlsSettings;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The agent's TLS flags (a picocli mixin of {@code skep agent}), named as redis names its own where there is one
 * ({@code --tls-cert-file}, {@code --tls-auth-clients}...), each with a {@code SKEP_TLS_*} variable behind it.
 */
public final class TlsOptions {
    @Option(names = "--tls-cert-file", paramLabel = "FILE", defaultValue = "${env:SKEP_TLS_CERT_FILE}",
            description = "PEM certificate (chain) the agent presents on every TLS port and link. "
                    + "Env SKEP_TLS_CERT_FILE.")
    Path certFile;

    @Option(names = "--tls-key-file", paramLabel = "FILE", defaultValue = "${env:SKEP_TLS_KEY_FILE}",
            description = "PEM PKCS#8 private key of --tls-cert-file. Env SKEP_TLS_KEY_FILE.")
    Path keyFile;

    @Option(names = "--tls-ca-cert-file", paramLabel = "FILE", defaultValue = "${env:SKEP_TLS_CA_CERT_FILE}",
            description = "PEM CA certificate(s) that sign the clients', peers' and redis's certificates. "
                    + "Env SKEP_TLS_CA_CERT_FILE.")
    Path caFile;

    @Option(names = "--tls-auth-clients", paramLabel = "yes|optional|no",
            defaultValue = "${env:SKEP_TLS_AUTH_CLIENTS:-yes}",
            description = "Whether clients of the TLS ports must present a certificate the CA signed, as redis's "
                    + "tls-auth-clients. Env SKEP_TLS_AUTH_CLIENTS. Default: ${DEFAULT-VALUE}.")
    String authClients;

    @Option(names = "--tls-protocols", paramLabel = "\"TLSv1.2 TLSv1.3\"",
            defaultValue = "${env:SKEP_TLS_PROTOCOLS:-TLSv1.2 TLSv1.3}",
            description = "TLS versions accepted, space-separated. Env SKEP_TLS_PROTOCOLS. Default: ${DEFAULT-VALUE}.")
    String protocols;

    @Option(names = "--tls-provider", paramLabel = "auto|openssl|jdk", defaultValue = "${env:SKEP_TLS_PROVIDER:-auto}",
            description = "TLS implementation: OpenSSL (BoringSSL, bundled for linux-x86_64) or the JDK's; auto takes "
                    + "OpenSSL where it loads. Env SKEP_TLS_PROVIDER. Default: ${DEFAULT-VALUE}.")
    String provider;

    @Option(names = "--tls-reload-ms", paramLabel = "MS", defaultValue = "${env:SKEP_TLS_RELOAD_MS:-10000}",
            description = "How often the certificate files are checked for a change (0: never). "
                    + "Env SKEP_TLS_RELOAD_MS. Default: ${DEFAULT-VALUE}.")
    long reloadMs;

    @Option(names = "--tls-proxy-port", paramLabel = "PORT", defaultValue = "${env:SKEP_TLS_PROXY_PORT:-0}",
            description = "TLS write port, next to the plain one (0: none). Env SKEP_TLS_PROXY_PORT.")
    int proxyPort;

    @Option(names = "--tls-read-port", paramLabel = "PORT", defaultValue = "${env:SKEP_TLS_READ_PORT:-0}",
            description = "TLS read port (0: none). Env SKEP_TLS_READ_PORT.")
    int readPort;

    @Option(names = "--tls-sentinel-port", paramLabel = "PORT", defaultValue = "${env:SKEP_TLS_SENTINEL_PORT:-0}",
            description = "TLS port of the Sentinel-compatible endpoint (0: none). Env SKEP_TLS_SENTINEL_PORT.")
    int sentinelPort;

    @Option(names = "--tls-redis-port", paramLabel = "PORT", defaultValue = "${env:SKEP_TLS_REDIS_PORT:-0}",
            description = "Every redis's TLS port, when --redis names its plain port: the TLS Sentinel port gives it "
                    + "out to its clients (0: the ports the hive knows). Env SKEP_TLS_REDIS_PORT.")
    int redisTlsPort;

    @Option(names = "--tls-redis", defaultValue = "${env:SKEP_TLS_REDIS:-false}", fallbackValue = "true", arity = "0..1",
            description = "Reach redis over TLS (--redis names its tls-port) and have every redis replicate over TLS "
                    + "(tls-replication yes). Env SKEP_TLS_REDIS.")
    boolean redis;

    @Option(names = "--tls-peers", paramLabel = "off|accept|prefer|on", defaultValue = "${env:SKEP_TLS_PEERS:-off}",
            fallbackValue = "on", arity = "0..1",
            description = "TLS on the peer port and to peers, each agent presenting a certificate the CA signed. A "
                    + "running hive moves to it in three rolling restarts: accept (TLS taken, plain sent), prefer (TLS "
                    + "sent, plain taken), on (TLS only). Env SKEP_TLS_PEERS. Default: ${DEFAULT-VALUE}.")
    String peers;

    @Option(names = "--tls-http", defaultValue = "${env:SKEP_TLS_HTTP:-false}", fallbackValue = "true", arity = "0..1",
            description = "Serve the admin port over HTTPS. Env SKEP_TLS_HTTP.")
    boolean http;

    /** The validated TLS settings. @throws ConfigException naming the flag */
    TlsConfig config() {
        if (certFile == null && keyFile == null && caFile == null) {
            return new TlsConfig(null, proxyPort, readPort, sentinelPort, redis, TlsConfig.PeerTls.parse(peers), http,
                    redisTlsPort);
        }
        try {
            List<String> versions = Arrays.stream(protocols.trim().split("[\\s,]+")).filter(p -> !p.isEmpty()).toList();
            TlsSettings.Provider p = switch (provider.toLowerCase(java.util.Locale.ROOT)) {
                case "auto" -> TlsSettings.Provider.AUTO;
                case "openssl" -> TlsSettings.Provider.OPENSSL;
                case "jdk" -> TlsSettings.Provider.JDK;
                default -> throw new IllegalArgumentException("--tls-provider must be auto, openssl or jdk, not '"
                        + provider + "'");
            };
            TlsSettings files = new TlsSettings(certFile, keyFile, caFile, TlsSettings.ClientAuth.parse(authClients),
                    versions, p, reloadMs);
            return new TlsConfig(files, proxyPort, readPort, sentinelPort, redis, TlsConfig.PeerTls.parse(peers), http,
                    redisTlsPort);
        } catch (ConfigException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }
}
