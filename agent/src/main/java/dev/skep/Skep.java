package dev.skep;

import dev.skep.cli.SkepCommand;

/** Entry point: parses the command line with picocli and exits with the command's code. */
public final class Skep {
    private Skep() {}

    public static void main(String[] args) {
        quietNetty();
        System.exit(SkepCommand.commandLine(args).execute(args));
    }

    /**
     * Netty 4.2 asks the JDK whether the flight recorder is available when it first loads, which loads and
     * starts about 80 of the recorder's classes (half a megabyte of an idle agent's memory) for events Skep
     * never records. Off unless the operator set {@code -Dio.netty.jfr.enabled} (a JFR recording of the JVM
     * itself, {@code jcmd <pid> JFR.start}, works either way). Called first by every entry point (the class-data
     * sharing training too, so that its archive holds the classes an agent loads).
     */
    public static void quietNetty() {
        if (System.getProperty("io.netty.jfr.enabled") == null) {
            System.setProperty("io.netty.jfr.enabled", "false");
        }
    }
}
