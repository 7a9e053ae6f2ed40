package dev.skep.support;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509KeyManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Certificates made in the test, written as PEM files into a directory: a CA, certificates it signs (for
 * 127.0.0.1 and localhost, usable as server and as client), an expired one, and a second CA with a certificate
 * of its own (what a stranger would present). EC P-256 keys in PKCS#8, as {@code openssl} 3 writes them.
 */
public final class TestCertificates {
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    /** A certificate and its key, as PEM files. */
    public record Pair(Path cert, Path key) {}

    private final Path dir;
    private final Authority ca;
    private final Authority otherCa;

    private record Authority(KeyPair keys, X509Certificate cert, Path file) {}

    private TestCertificates(Path dir) {
        this.dir = dir;
        this.ca = authority("Skep Test CA", dir.resolve("ca.crt"));
        this.otherCa = authority("Some Other CA", dir.resolve("other-ca.crt"));
    }

    /** A new CA and a second, unrelated one, with their files in {@code dir}. */
    public static TestCertificates create(Path dir) {
        return new TestCertificates(dir);
    }

    public Path caFile() {
        return ca.file();
    }

    public Path otherCaFile() {
        return otherCa.file();
    }

    /** A certificate the CA signs, valid from an hour ago for a day, for 127.0.0.1 and localhost. */
    public Pair issue(String name) {
        Instant now = Instant.now();
        return issue(name, ca, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)));
    }

    /** A certificate the CA signs, valid over the given period. */
    public Pair issue(String name, Instant notBefore, Instant notAfter) {
        return issue(name, ca, notBefore, notAfter);
    }

    /** A certificate the CA signed that expired an hour ago. */
    public Pair expired(String name) {
        Instant now = Instant.now();
        return issue(name, ca, now.minus(Duration.ofDays(2)), now.minus(Duration.ofHours(1)));
    }

    /** A certificate signed by the other CA: valid, but not one this hive trusts. */
    public Pair stranger(String name) {
        Instant now = Instant.now();
        return issue(name, otherCa, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)));
    }

    /**
     * A JDK context presenting {@code pair} (null: no certificate) and trusting the CA. It presents {@code pair} to
     * any server that asks, as redis-cli and other OpenSSL clients do: the JDK's own key manager sends no certificate
     * when the server's list of CAs does not name its issuer, which would make a stranger's certificate look like none.
     */
    public SSLContext clientContext(Pair pair) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", ca.cert());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManager[] presented = null;
            if (pair != null) {
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                keys.setKeyEntry("me", readKey(pair.key()), new char[0],
                        new java.security.cert.Certificate[] {readCert(pair.cert())});
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, new char[0]);
                presented = new KeyManager[] {new Presenting((X509KeyManager) kmf.getKeyManagers()[0], "me")};
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(presented, tmf.getTrustManagers(), new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a client TLS context", e);
        }
    }

    /** A client key manager that offers its one certificate whatever issuers the server names. */
    private static final class Presenting extends X509ExtendedKeyManager {
        private final X509KeyManager keys;
        private final String alias;

        Presenting(X509KeyManager keys, String alias) {
            this.keys = keys;
            this.alias = alias;
        }

        @Override
        public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
            return alias;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers,
                javax.net.ssl.SSLEngine engine) {
            return alias;
        }

        @Override
        public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
            return new String[] {alias};
        }

        @Override
        public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
            return keys.getServerAliases(keyType, issuers);
        }

        @Override
        public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
            return keys.chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public X509Certificate[] getCertificateChain(String name) {
            return keys.getCertificateChain(name);
        }

        @Override
        public java.security.PrivateKey getPrivateKey(String name) {
            return keys.getPrivateKey(name);
        }
    }

    private Authority authority(String name, Path file) {
        try {
            KeyPair keys = keyPair();
            X500Name subject = new X500Name("CN=" + name);
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(30))), subject,
                    keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            X509Certificate cert = sign(b, keys);
            writePem(file, "CERTIFICATE", cert.getEncoded());
            return new Authority(keys, cert, file);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot make the test CA " + name, e);
        }
    }

    private Pair issue(String name, Authority by, Instant notBefore, Instant notAfter) {
        try {
            KeyPair keys = keyPair();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                    new X500Name(by.cert().getSubjectX500Principal().getName()), serial(), Date.from(notBefore),
                    Date.from(notAfter), new X500Name("CN=" + name), keys.getPublic());
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                new GeneralName(GeneralName.dNSName, "localhost")}));
            b.addExtension(Extension.keyUsage, true,
                    new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.keyAgreement));
            X509Certificate cert = sign(b, by.keys());
            Path certFile = dir.resolve(name + "-" + SERIAL.get() + ".crt");
            Path keyFile = dir.resolve(name + "-" + SERIAL.get() + ".key");
            writePem(certFile, "CERTIFICATE", cert.getEncoded());
            writePem(keyFile, "PRIVATE KEY", keys.getPrivate().getEncoded());
            return new Pair(certFile, keyFile);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot issue the test certificate " + name, e);
        }
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIAL.incrementAndGet());
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws GeneralSecurityException {
        try {
            ContentSigner s = new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate());
            return new JcaX509CertificateConverter().getCertificate(b.build(s));
        } catch (org.bouncycastle.operator.OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static void writePem(Path file, String type, byte[] der) throws IOException {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        Files.writeString(file, "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n");
    }

    private static X509Certificate readCert(Path file) throws IOException, GeneralSecurityException {
        try (var in = Files.newInputStream(file)) {
            return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static java.security.PrivateKey readKey(Path file) throws IOException, GeneralSecurityException {
        String pem = Files.readString(file).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return java.security.KeyFactory.getInstance("EC")
                .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
    }

    /** Writes {@code pair}'s files over {@code target}'s, as a rotated Secret's files change under the mount. */
    public static void replace(Pair target, Pair with) {
        try {
            Files.copy(with.cert(), target.cert(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.copy(with.key(), target.key(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
