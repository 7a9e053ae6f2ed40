package dev.skep.tls;

import dev.skep.support.TestCertificates;
import io.netty.handler.ssl.OpenSsl;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TlsMaterialTest {
    @TempDir
    Path dir;
    TestCertificates certs;

    @BeforeEach
    void makeCertificates() {
        certs = TestCertificates.create(dir);
    }

    private TlsSettings settings(TestCertificates.Pair pair, Path ca, TlsSettings.Provider provider) {
        return new TlsSettings(pair.cert(), pair.key(), ca, TlsSettings.ClientAuth.YES, List.of(), provider, 1000);
    }

    @Test
    void goodFilesGiveContextsForEveryUseAndTheExpiryOfTheCertificate() throws Exception {
        Instant notAfter = Instant.now().plus(Duration.ofDays(3)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        TestCertificates.Pair pair = certs.issue("node", Instant.now().minus(Duration.ofHours(1)), notAfter);
        for (TlsSettings.Provider p : TlsSettings.Provider.values()) {
            TlsMaterial m = TlsMaterial.load(settings(pair, certs.caFile(), p), Instant.now());
            assertThat(m.notAfter()).isEqualTo(notAfter);
            assertThat(m.server().isServer()).isTrue();
            assertThat(m.peerServer().isServer()).isTrue();
            assertThat(m.client().isClient()).isTrue();
            assertThat(m.jdk().getProtocol()).isEqualTo("TLS");
            assertThat(m.providerName()).isEqualTo(p == TlsSettings.Provider.JDK ? "JDK" : "OPENSSL");
        }
    }

    @Test
    void theJdkContextOffersOnlyTheConfiguredProtocolsToRedisAndOnTheAdminPort() throws Exception {
        TestCertificates.Pair pair = certs.issue("node");
        for (List<String> protocols : List.of(List.of("TLSv1.3"), List.of("TLSv1.2"), List.of("TLSv1.2", "TLSv1.3"))) {
            TlsMaterial m = TlsMaterial.load(new TlsSettings(pair.cert(), pair.key(), certs.caFile(),
                    TlsSettings.ClientAuth.YES, protocols, TlsSettings.Provider.AUTO, 0), Instant.now());
            // what RespClient's sockets to redis enable (TlsClientsIT: a redis that speaks another version is refused)
            try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) m.jdk().getSocketFactory().createSocket()) {
                assertThat(s.getEnabledProtocols()).as("to redis").containsExactlyInAnyOrderElementsOf(protocols);
            }
            // the admin port's HttpsServer sets each connection's engine to its context's default parameters
            assertThat(new CurrentSslContext(m::jdk).getDefaultSSLParameters().getProtocols()).as("admin port")
                    .containsExactlyInAnyOrderElementsOf(protocols);
            assertThat(m.jdk().createSSLEngine().getEnabledProtocols()).containsExactlyInAnyOrderElementsOf(protocols);
        }
    }

    @Test
    void openSslLoadsOnThisPlatformSoAutoUsesIt() {
        // the bundled BoringSSL is linux-x86_64's: where it is, auto must pick it (bench/tls.sh measures both)
        assertThat(OpenSsl.isAvailable()).as("netty-tcnative: %s", OpenSsl.unavailabilityCause()).isTrue();
    }

    @Test
    void anExpiredCertificateIsRefusedNamingTheFileAndTheDate() {
        TestCertificates.Pair old = certs.expired("node");
        assertThatThrownBy(() -> TlsMaterial.load(settings(old, certs.caFile(), TlsSettings.Provider.AUTO), Instant.now()))
                .isInstanceOf(TlsException.class)
                .hasMessageContaining("--tls-cert-file " + old.cert())
                .hasMessageContaining("expired on");
    }

    @Test
    void aMissingKeyFileIsRefusedNamingIt() {
        TestCertificates.Pair pair = certs.issue("node");
        Path missing = dir.resolve("nope.key");
        TlsSettings s = new TlsSettings(pair.cert(), missing, certs.caFile(), TlsSettings.ClientAuth.YES, List.of(),
                TlsSettings.Provider.AUTO, 0);
        assertThatThrownBy(() -> TlsMaterial.load(s, Instant.now()))
                .hasMessageContaining("cannot read --tls-key-file " + missing);
    }

    @Test
    void aFileThatIsNoCertificateIsRefusedNamingIt() throws Exception {
        TestCertificates.Pair pair = certs.issue("node");
        Path junk = Files.writeString(dir.resolve("junk.crt"), "hello\n");
        TlsSettings s = new TlsSettings(pair.cert(), pair.key(), junk, TlsSettings.ClientAuth.YES, List.of(),
                TlsSettings.Provider.AUTO, 0);
        assertThatThrownBy(() -> TlsMaterial.load(s, Instant.now()))
                .hasMessageContaining("--tls-ca-cert-file " + junk);
    }

    @Test
    void theKeyOfAnotherCertificateIsRefused() {
        TestCertificates.Pair a = certs.issue("a");
        TestCertificates.Pair b = certs.issue("b");
        for (TlsSettings.Provider p : List.of(TlsSettings.Provider.JDK, TlsSettings.Provider.OPENSSL)) {
            TlsSettings s = new TlsSettings(a.cert(), b.key(), certs.caFile(), TlsSettings.ClientAuth.YES, List.of(),
                    p, 0);
            assertThatThrownBy(() -> TlsMaterial.load(s, Instant.now()))
                    .as(p.name())
                    .hasMessageContaining("cannot use --tls-key-file " + b.key());
        }
    }

    @Test
    void clientCertificatesCannotBeRequiredWithoutACaToCheckThem() {
        TestCertificates.Pair pair = certs.issue("node");
        assertThatThrownBy(() -> new TlsSettings(pair.cert(), pair.key(), null, TlsSettings.ClientAuth.YES, List.of(),
                TlsSettings.Provider.AUTO, 0))
                .hasMessageContaining("--tls-auth-clients yes needs --tls-ca-cert-file");
        assertThatThrownBy(() -> new TlsSettings(pair.cert(), pair.key(), certs.caFile(), TlsSettings.ClientAuth.YES,
                List.of("SSLv3"), TlsSettings.Provider.AUTO, 0))
                .hasMessageContaining("--tls-protocols accepts TLSv1.2 and TLSv1.3, not 'SSLv3'");
    }

    @Test
    void aRotatedCertificateIsPickedUpAndABadOneKeepsTheOldAndIsReportedOnce() throws Exception {
        TestCertificates.Pair live = certs.issue("node");
        TlsSettings s = settings(live, certs.caFile(), TlsSettings.Provider.AUTO);
        List<TlsReloader.Outcome> heard = new ArrayList<>();
        TlsReloader reloader = new TlsReloader(TlsMaterial.load(s, Instant.now()), Clock.systemUTC(), heard::add);
        Instant first = reloader.current().notAfter();

        assertThat(reloader.check()).isInstanceOf(TlsReloader.Outcome.Unchanged.class);

        Instant later = Instant.now().plus(Duration.ofDays(5)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        TestCertificates.replace(live, certs.issue("node", Instant.now().minus(Duration.ofMinutes(1)), later));
        assertThat(reloader.check()).isInstanceOf(TlsReloader.Outcome.Reloaded.class);
        assertThat(reloader.current().notAfter()).isEqualTo(later).isNotEqualTo(first);

        TestCertificates.replace(live, certs.expired("node"));
        TlsReloader.Outcome refused = reloader.check();
        assertThat(refused).isInstanceOf(TlsReloader.Outcome.Refused.class);
        assertThat(((TlsReloader.Outcome.Refused) refused).reason()).contains("expired on");
        assertThat(reloader.current().notAfter()).isEqualTo(later);
        assertThat(reloader.check()).isInstanceOf(TlsReloader.Outcome.Unchanged.class);

        Files.writeString(live.key(), "half-written");
        assertThat(reloader.check()).isInstanceOf(TlsReloader.Outcome.Refused.class);
        assertThat(reloader.current().notAfter()).isEqualTo(later);
        assertThat(heard).hasSize(3);
    }
}
