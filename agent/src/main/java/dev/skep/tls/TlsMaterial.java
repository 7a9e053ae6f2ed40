package dev.skep.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/**
 * One loaded generation of the agent's certificate, key and CA, checked and turned into the contexts every TLS
 * port and link uses. Immutable: a reload builds a new one ({@link TlsReloader}) and connections keep the one they
 * were opened with. Built on any thread.
 *
 * <p>Checks at load, each failure naming the file: every file readable, the certificate and the CA parse as PEM
 * X.509, neither has expired nor is not yet valid, and the key is the certificate's (the context refuses a key that
 * does not match). Clients of the agent's connections to redis and to peers verify the other side's certificate
 * against the CA but not its host name: redis replication and the hive address one another by IP, as redis's own
 * TLS replication does.
 */
public final class TlsMaterial {
    private final TlsSettings settings;
    private final SslContext server;
    private final SslContext peerServer;
    private final SslContext client;
    private final SSLContext jdk;
    private final X509Certificate certificate;
    private final Instant notAfter;
    private final String digest;
    private final String providerName;

    private TlsMaterial(TlsSettings settings, SslContext server, SslContext peerServer, SslContext client,
            SSLContext jdk, X509Certificate certificate, String digest, String providerName) {
        this.settings = settings;
        this.server = server;
        this.peerServer = peerServer;
        this.client = client;
        this.jdk = jdk;
        this.certificate = certificate;
        this.notAfter = certificate.getNotAfter().toInstant();
        this.digest = digest;
        this.providerName = providerName;
    }

    /** Loads and checks the files; {@code now} decides what has expired. */
    public static TlsMaterial load(TlsSettings s, Instant now) throws TlsException {
        byte[] certBytes = read(s.certFile(), "--tls-cert-file");
        byte[] keyBytes = read(s.keyFile(), "--tls-key-file");
        byte[] caBytes = s.caFile() == null ? null : read(s.caFile(), "--tls-ca-cert-file");
        List<X509Certificate> chain = certificates(certBytes, s.certFile(), "--tls-cert-file");
        X509Certificate leaf = chain.get(0);
        checkValidity(leaf, s.certFile(), "--tls-cert-file", now);
        List<X509Certificate> cas = caBytes == null ? List.of() : certificates(caBytes, s.caFile(), "--tls-ca-cert-file");
        for (X509Certificate ca : cas) {
            checkValidity(ca, s.caFile(), "--tls-ca-cert-file", now);
        }
        checkKeyMatches(keyBytes, leaf, s);
        SslProvider provider = provider(s.provider());
        try {
            SslContext server = serverBuilder(s, certBytes, keyBytes, cas, provider)
                    .clientAuth(clientAuth(s.clientAuth())).build();
            // agents always ask each other for a certificate where there is a CA to check it against
            SslContext peerServer = serverBuilder(s, certBytes, keyBytes, cas, provider)
                    .clientAuth(cas.isEmpty() ? ClientAuth.NONE : ClientAuth.REQUIRE).build();
            SslContext client = clientBuilder(s, certBytes, keyBytes, cas).sslProvider(provider).build();
            SslContext jdk = clientBuilder(s, certBytes, keyBytes, cas).sslProvider(SslProvider.JDK).build();
            // the JDK context under Netty's carries no protocols of its own: the wrapper holds them to --tls-protocols
            SSLContext limited = new ProtocolsSslContext(((JdkSslContext) jdk).context(), s.protocols());
            return new TlsMaterial(s, server, peerServer, client, limited, leaf, digest(certBytes, keyBytes, caBytes),
                    provider.name());
        } catch (SSLException | IllegalArgumentException e) {
            throw new TlsException("cannot use --tls-key-file " + s.keyFile() + " with --tls-cert-file " + s.certFile()
                    + ": " + rootMessage(e), e);
        }
    }

    private static SslContextBuilder serverBuilder(TlsSettings s, byte[] cert, byte[] key, List<X509Certificate> cas,
            SslProvider provider) {
        SslContextBuilder b = SslContextBuilder.forServer(new ByteArrayInputStream(cert), new ByteArrayInputStream(key))
                .sslProvider(provider).protocols(s.protocols());
        if (!cas.isEmpty()) {
            b.trustManager(cas);
        }
        return b;
    }

    private static SslContextBuilder clientBuilder(TlsSettings s, byte[] cert, byte[] key, List<X509Certificate> cas) {
        SslContextBuilder b = SslContextBuilder.forClient()
                .keyManager(new ByteArrayInputStream(cert), new ByteArrayInputStream(key))
                .protocols(s.protocols())
                .endpointIdentificationAlgorithm(null); // by IP, as redis's replication: the CA is the check
        if (!cas.isEmpty()) {
            b.trustManager(cas);
        }
        return b;
    }

    /** The provider {@code wanted} names, OpenSSL only when its native library loads here. */
    static SslProvider provider(TlsSettings.Provider wanted) throws TlsException {
        return switch (wanted) {
            case JDK -> SslProvider.JDK;
            case OPENSSL -> {
                if (!OpenSsl.isAvailable()) {
                    throw new TlsException("--tls-provider openssl: OpenSSL (netty-tcnative) does not load on this "
                            + "platform: " + OpenSsl.unavailabilityCause());
                }
                yield SslProvider.OPENSSL;
            }
            case AUTO -> OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        };
    }

    private static ClientAuth clientAuth(TlsSettings.ClientAuth a) {
        return switch (a) {
            case YES -> ClientAuth.REQUIRE;
            case OPTIONAL -> ClientAuth.OPTIONAL;
            case NO -> ClientAuth.NONE;
        };
    }

    private static byte[] read(Path file, String flag) throws TlsException {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new TlsException("cannot read " + flag + " " + file + ": " + e, e);
        }
    }

    private static List<X509Certificate> certificates(byte[] pem, Path file, String flag) throws TlsException {
        Collection<? extends java.security.cert.Certificate> parsed;
        try {
            parsed = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
        } catch (CertificateException e) {
            throw new TlsException(flag + " " + file + " is not a PEM X.509 certificate: " + rootMessage(e), e);
        }
        List<X509Certificate> out = new ArrayList<>();
        for (java.security.cert.Certificate c : parsed) {
            out.add((X509Certificate) c);
        }
        if (out.isEmpty()) {
            throw new TlsException(flag + " " + file + " holds no certificate");
        }
        return out;
    }

    private static void checkValidity(X509Certificate c, Path file, String flag, Instant now) throws TlsException {
        if (now.isAfter(c.getNotAfter().toInstant())) {
            throw new TlsException(flag + " " + file + ": the certificate for " + c.getSubjectX500Principal().getName()
                    + " expired on " + c.getNotAfter().toInstant());
        }
        if (now.isBefore(c.getNotBefore().toInstant())) {
            throw new TlsException(flag + " " + file + ": the certificate for " + c.getSubjectX500Principal().getName()
                    + " is not valid before " + c.getNotBefore().toInstant());
        }
    }

    /**
     * The key must be PKCS#8 PEM and the certificate's: a signature made with it must verify with the certificate's
     * public key (a key of another certificate would only show as failed handshakes, later, on every connection).
     */
    private static void checkKeyMatches(byte[] pem, X509Certificate cert, TlsSettings s) throws TlsException {
        String text = new String(pem, java.nio.charset.StandardCharsets.US_ASCII);
        int begin = text.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = text.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new TlsException("--tls-key-file " + s.keyFile() + " is not a PEM PKCS#8 private key (BEGIN PRIVATE "
                    + "KEY); convert it with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
        }
        try {
            byte[] der = java.util.Base64.getMimeDecoder().decode(text.substring(begin + 27, end));
            String algorithm = cert.getPublicKey().getAlgorithm();
            java.security.PrivateKey key = java.security.KeyFactory.getInstance(algorithm)
                    .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der));
            String sigAlg = switch (algorithm) {
                case "EC" -> "SHA256withECDSA";
                case "RSA" -> "SHA256withRSA";
                default -> algorithm; // Ed25519, Ed448 name their own signature
            };
            byte[] challenge = "skep key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            java.security.Signature signer = java.security.Signature.getInstance(sigAlg);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            java.security.Signature verifier = java.security.Signature.getInstance(sigAlg);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(challenge);
            if (!verifier.verify(signature)) {
                throw new TlsException("cannot use --tls-key-file " + s.keyFile() + " with --tls-cert-file "
                        + s.certFile() + ": the key is not the certificate's");
            }
        } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
            throw new TlsException("cannot use --tls-key-file " + s.keyFile() + " with --tls-cert-file " + s.certFile()
                    + ": " + rootMessage(e), e);
        }
    }

    /** A digest of the files' bytes: a reload that finds the same digest changes nothing. */
    static String digest(byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                if (p != null) {
                    md.update(p);
                }
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is in every JDK", e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
    }

    /** For the client ports (write, read, Sentinel): client certificates as {@code --tls-auth-clients} says. */
    public SslContext server() {
        return server;
    }

    /** For the peer port: a peer must present a certificate signed by the CA, when there is one. */
    public SslContext peerServer() {
        return peerServer;
    }

    /** For the agent's connections to redis and to peers: presents the certificate, checks the other's. */
    public SslContext client() {
        return client;
    }

    /**
     * The JDK's context on the same files: blocking sockets to redis, and the HTTPS admin server. Its sockets, engines
     * and default parameters enable only the settings' protocols.
     */
    public SSLContext jdk() {
        return jdk;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public Instant notAfter() {
        return notAfter;
    }

    public String digest() {
        return digest;
    }

    /** OPENSSL or JDK: which implementation the Netty contexts use. */
    public String providerName() {
        return providerName;
    }

    public TlsSettings settings() {
        return settings;
    }
}
