package dev.skep;

import dev.skep.cli.SkepCommand;

/** Entry point: parses the command line with picocli and exits with the command's code. */
public final class Skep {
    private Skep() {}

    public static void main(String[] args) {
        System.exit(SkepCommand.commandLine().execute(args));
    }
}
