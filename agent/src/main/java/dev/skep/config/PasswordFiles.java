package dev.skep.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading a password file ({@code --redis-password-file}). Any thread. */
public final class PasswordFiles {
    private PasswordFiles() {
    }

    /** The file's content without the surrounding white space a Secret or an editor may leave (a final newline). */
    public static String read(Path file) throws IOException {
        return Files.readString(file).strip();
    }
}
