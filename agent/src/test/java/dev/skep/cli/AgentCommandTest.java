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
    void badValuesAreUsageErrorsNamingTheFlag() {
        assertThatThrownBy(() -> parse("--sentinel-port", "0")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("--sentinel-port: 0 (expected: 1..65535)");
        assertThatThrownBy(() -> parse("--master-name", "my master"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("--master-name: 'my master' (expected: no spaces or control characters)");
        assertThatThrownBy(() -> parse("--master-name", "")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageStartingWith("--master-name: empty");
    }
}
