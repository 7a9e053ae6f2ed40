package dev.skep.netns;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The certificates of a TLS release, made with openssl as a user makes them (the commands of the README's TLS
 * section): a CA; the release's certificate, for server and client use as cert-manager issues the chart's (ECDSA
 * P-256, PKCS#8 key, digital signature, server and client auth) with the given DNS names; and a client's
 * certificate of the same CA, for the test's own TLS clients. Written as PEM files into one directory; the release's
 * are given to the pods as a {@code kubernetes.io/tls} Secret ({@link #secret}).
 *
 * @param ca         the CA's certificate (the Secret's {@code ca.crt})
 * @param cert       the release's certificate ({@code tls.crt})
 * @param key        its key ({@code tls.key})
 * @param clientCert a client's certificate
 * @param clientKey  its key
 */
record TlsFiles(Path ca, Path cert, Path key, Path clientCert, Path clientKey) {
    private static final Duration BOUND = Duration.ofSeconds(20);

    /** Makes the CA and both certificates (valid for a day) in {@code dir}. */
    static TlsFiles make(Path dir, List<String> dnsNames) throws IOException {
        Files.createDirectories(dir);
        openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", "/CN=skep-containers-it-ca", "-keyout", "ca.key", "-out", "ca.crt");
        String names = dnsNames.stream().map(n -> "DNS:" + n).collect(Collectors.joining(","));
        issue(dir, "tls", "subjectAltName=" + names + "\nkeyUsage=critical,digitalSignature\n"
                + "extendedKeyUsage=serverAuth,clientAuth\n");
        issue(dir, "app", "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
        TlsFiles files = new TlsFiles(dir.resolve("ca.crt"), dir.resolve("tls.crt"), dir.resolve("tls.key"),
                dir.resolve("app.crt"), dir.resolve("app.key"));
        // the agent reads PKCS#8 keys only, what openssl 3 writes
        if (!Files.readString(files.key()).startsWith("-----BEGIN PRIVATE KEY-----")) {
            throw new IllegalStateException(files.key() + " is not a PKCS#8 key: the agent would refuse it");
        }
        return files;
    }

    /** The Secret of the release's files, as {@code kubectl create secret generic --type=kubernetes.io/tls} makes it. */
    String secret(String name) throws IOException {
        return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\ntype: kubernetes.io/tls\ndata:\n"
                + "  tls.crt: " + base64(cert) + "\n  tls.key: " + base64(key) + "\n  ca.crt: " + base64(ca) + "\n";
    }

    /** redis-cli's options for a TLS connection presenting the client's certificate and checking the CA. */
    List<String> cliOptions() {
        return List.of("--tls", "--cacert", ca.toString(), "--cert", clientCert.toString(), "--key", clientKey.toString());
    }

    private static void issue(Path dir, String name, String extensions) throws IOException {
        Files.writeString(dir.resolve(name + ".ext"), extensions);
        openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
                "-keyout", name + ".key", "-out", name + ".csr");
        openssl(dir, "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "1", "-extfile", name + ".ext", "-out", name + ".crt");
    }

    private static void openssl(Path dir, String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of("env", "-C", dir.toString(), "openssl"));
        cmd.addAll(List.of(args));
        Commands.Result r = Commands.run(cmd, BOUND);
        if (!r.ok()) {
            throw new IOException(String.join(" ", cmd) + " failed (exit " + r.exitCode() + "): " + r.stderr().strip());
        }
    }

    private static String base64(Path file) throws IOException {
        return Base64.getEncoder().encodeToString(Files.readAllBytes(file));
    }
}
