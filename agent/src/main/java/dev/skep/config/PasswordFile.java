package dev.skep.config;

import java.nio.file.Path;

/**
 * {@code --redis-password-file}: the file the hive password is read from at start and watched afterwards (a
 * Kubernetes Secret mounted as a volume); a new password in it is rotated into the hive without a restart.
 *
 * @param file     the file; its content, without a trailing line end, is the password
 * @param windowMs how long both the old and the new password work after every redis of the hive has the new one
 *                 ({@code --password-rotation-window-ms}), for clients to move to the new one
 * @param checkMs  how often the file is read
 */
public record PasswordFile(Path file, long windowMs, long checkMs) {
    public PasswordFile {
        if (windowMs < 0) {
            throw new ConfigException("--password-rotation-window-ms must be 0 or more, not " + windowMs);
        }
        if (checkMs <= 0) {
            throw new ConfigException("the password file's check period must be positive, not " + checkMs);
        }
    }
}
