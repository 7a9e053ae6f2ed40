package dev.skep.config;

/** A setting is missing or wrong; the message names the flag, the value and what was expected. */
public final class ConfigException extends IllegalArgumentException {
    public ConfigException(String message) {
        super(message);
    }
}
