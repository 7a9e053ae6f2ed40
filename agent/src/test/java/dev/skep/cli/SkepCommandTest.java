package dev.skep.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** The root command: every subcommand for a user, only {@code agent}'s model when an agent starts. */
class SkepCommandTest {
    @Test
    void theHelpListsEverySubcommand() {
        StringWriter out = new StringWriter();
        CommandLine cl = SkepCommand.commandLine("--help");
        cl.setOut(new PrintWriter(out));

        assertThat(cl.execute("--help")).isZero();
        assertThat(cl.getSubcommands()).containsOnlyKeys("agent", "up", "status", "failover", "help");
        assertThat(out.toString()).contains("agent", "up", "status", "failover", "help");
    }

    @Test
    void anAgentStartBuildsTheAgentsModelOnly() {
        assertThat(SkepCommand.commandLine("agent", "--redis", "127.0.0.1:6379").getSubcommands())
                .containsOnlyKeys("agent");
        assertThat(SkepCommand.commandLine("up").getSubcommands()).hasSize(5);
        assertThat(SkepCommand.commandLine().getSubcommands()).hasSize(5);
    }

    @Test
    void anUnknownCommandIsAUsageErrorNamingIt() {
        StringWriter err = new StringWriter();
        CommandLine cl = SkepCommand.commandLine("bogus");
        cl.setErr(new PrintWriter(err));

        assertThat(cl.execute("bogus")).isEqualTo(2);
        assertThat(err.toString()).contains("bogus");
    }
}
