package dev.skep.cli;

import dev.skep.status.SkepVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The root command: {@code skep agent|up|status}. */
@Command(name = "skep", mixinStandardHelpOptions = true, versionProvider = SkepCommand.Version.class,
        description = "High-availability Redis without Sentinel.")
public final class SkepCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** Only through {@link #commandLine}: the subcommands are added there, not declared. */
    private SkepCommand() {}

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

    /** A configured command line with every subcommand, shared by {@code main} and the tests. */
    public static CommandLine commandLine() {
        return commandLine(new String[0]);
    }

    /**
     * The command line to run {@code args} with: every subcommand, but only {@code agent} when that is the one asked
     * for. picocli builds each subcommand's model by reflection when it is added, and an agent's start is on the path
     * of a failed-over pod's return (docs/benchmarks.md#agent-footprint); the others are not needed then.
     */
    public static CommandLine commandLine(String... args) {
        CommandLine cl = new CommandLine(new SkepCommand());
        cl.addSubcommand("agent", new AgentCommand());
        if (args.length == 0 || !args[0].equals("agent")) {
            cl.addSubcommand("up", new UpCommand());
            cl.addSubcommand("status", new StatusCommand());
            cl.addSubcommand("failover", new FailoverCommand());
            cl.addSubcommand("help", new CommandLine.HelpCommand());
        }
        return cl;
    }
}
