package dev.skep.sentinel;

/**
 * A message Sentinel publishes: {@code channel} is the event type ({@code +switch-master}, {@code +sdown},
 * {@code -sdown}, {@code +slave}), {@code message} its text, e.g. {@code mymaster 10.0.0.1 6379 10.0.0.2 6379}.
 */
public record SentinelEvent(String channel, String message) {}
