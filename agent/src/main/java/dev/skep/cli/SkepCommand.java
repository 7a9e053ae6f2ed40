package dev.skep.cli;

import dev.skep.status.SkepVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The root command: {@code skep agent|up|status}. */
@Command(name = "skep", mixinStandardHelpOptions = true, versionProvider = SkepCommand.Version.class,
        description = "High-availability Redis without Sentinel.",
        subcommands = {AgentCommand.class, UpCommand.class, StatusCommand.class, FailoverCommand.class,
                CommandLine.HelpCommand.class})
public final class SkepCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing command: agent, up or status");
    }

    /** {@code skep --version}: this build's version. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"skep " + SkepVersion.CURRENT};
        }
    }

    /** A configured command line, shared by {@code main} and the tests. */
    public static CommandLine commandLine() {
        return new CommandLine(new SkepCommand());
    }
}
