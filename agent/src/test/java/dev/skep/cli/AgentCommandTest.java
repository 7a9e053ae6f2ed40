package dev.skep.cli;

import dev.skep.config.AgentConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Sentinel endpoint's flags of {@code skep agent}: defaults, and bad values named in the usage error. */
class AgentCommandTest {
    private static AgentConfig parse(String... args) {
        AgentCommand command = new AgentCommand();
        new CommandLine(command).parseArgs(args);
        return command.config();
    }

    @Test
    void sentinelDefaults() {
        AgentConfig config = parse("--peers", "127.0.0.1:7380");
        assertThat(config.sentinelPort()).isEqualTo(26379);
        assertThat(config.masterName()).isEqualTo("mymaster");
    }

    @Test
    void sentinelFlags() {
        AgentConfig config = parse("--peers", "127.0.0.1:7380", "--sentinel-port", "7003", "--master-name", "cache");
        assertThat(config.sentinelPort()).isEqualTo(7003);
        assertThat(config.masterName()).isEqualTo("cache");
        assertThat(config.withSecretsHidden()).contains("sentinelPort=7003").contains("masterName=cache");
    }

    @Test
    void tlsAndPasswordFlagsAreUsageErrorsNamingTheFlagWhenBad(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        assertThatThrownBy(() -> parse("--peers", "127.0.0.1:7380", "--tls-proxy-port", "6390"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("--tls-cert-file and --tls-key-file");
        assertThatThrownBy(() -> parse("--peers", "127.0.0.1:7380", "--tls-peers", "maybe"))
                .hasMessageContaining("--tls-peers must be off, accept, prefer or on, not 'maybe'");
        assertThatThrownBy(() -> parse("--peers", "127.0.0.1:7380", "--tls-cert-file", "a.crt", "--tls-key-file",
                "a.key", "--tls-auth-clients", "sometimes")).hasMessageContaining("--tls-auth-clients must be");
        assertThatThrownBy(() -> parse("--peers", "127.0.0.1:7380", "--redis-user", "skep"))
                .hasMessageContaining("--redis-user skep needs --redis-password");
        assertThatThrownBy(() -> parse("--peers", "127.0.0.1:7380", "--redis-password-file",
                dir.resolve("missing").toString())).hasMessageContaining("cannot read --redis-password-file");
        java.nio.file.Path file = java.nio.file.Files.writeString(dir.resolve("pw"), "s3cret\n");
        AgentConfig fromFile = parse("--peers", "127.0.0.1:7380", "--redis-password-file", file.toString());
        assertThat(fromFile.redisPassword()).isEqualTo("s3cret");
        assertThat(fromFile.passwordFile().file()).isEqualTo(file);
    }

    @Test
    void badValuesAreUsageErrorsNamingTheFlag() {
        assertThatThrownBy(() -> parse("--sentinel-port", "0")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("--sentinel-port: 0 (expected: 1..65535)");
        assertThatThrownBy(() -> parse("--master-name", "my master"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("--master-name: 'my master' (expected: no spaces or control characters)");
        assertThatThrownBy(() -> parse("--master-name", "")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageStartingWith("--master-name: empty");
    }

    @Test
    void serverOptionsAreOffByDefaultAndTakenFromTheFlags() {
        assertThat(parse("--peers", "127.0.0.1:7380").server()).isEqualTo(dev.skep.config.ServerOptions.NONE);
        AgentConfig config = parse("--peers", "127.0.0.1:7380", "--dual-channel-replication", "--availability-zone",
                "eu-west-1a");
        assertThat(config.server()).isEqualTo(new dev.skep.config.ServerOptions(true, "eu-west-1a"));
        assertThat(parse("--peers", "127.0.0.1:7380", "--dual-channel-replication=false").server()
                .dualChannelReplication()).isFalse();
        assertThatThrownBy(() -> parse("--peers", "127.0.0.1:7380", "--availability-zone", "eu west"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageStartingWith("--availability-zone: 'eu west' (expected: a zone name");
    }

    @Test
    void theIoTransportIsAutoByDefaultAndOneOfFourOtherwise() {
        assertThat(parse("--peers", "127.0.0.1:7380").ioTransport()).isEqualTo("auto");
        AgentConfig uring = parse("--peers", "127.0.0.1:7380", "--io-transport", "IO_URING");
        assertThat(uring.ioTransport()).isEqualTo("io_uring");
        assertThat(uring.withSecretsHidden()).contains("ioTransport=io_uring");
        assertThat(parse("--peers", "127.0.0.1:7380", "--io-transport", "nio").ioTransport()).isEqualTo("nio");
        assertThatThrownBy(() -> parse("--peers", "127.0.0.1:7380", "--io-transport", "kqueue"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("--io-transport: 'kqueue' (expected: auto, epoll, io_uring or nio)");
    }

    @Test
    void versionNamesTheBuildsVersion() {
        java.io.StringWriter out = new java.io.StringWriter();
        CommandLine cl = SkepCommand.commandLine();
        cl.setOut(new java.io.PrintWriter(out));
        assertThat(cl.execute("--version")).isZero();
        // the version Maven wrote into the build (the project's, e.g. 0.2.0-SNAPSHOT), never a placeholder
        assertThat(out.toString().strip()).matches("skep \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
    }
}
