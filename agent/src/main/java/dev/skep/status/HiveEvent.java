package dev.skep.status;

/**
 * Something that happened to the hive, with its cause, as an operator reads it.
 *
 * @param atMillis wall-clock time (epoch millis)
 * @param node     the node that saw it
 * @param kind     short stable name: election, promoted, following, stepped-down, not-ready, redis-restarted, ...
 * @param message  what happened and why, in a sentence
 */
public record HiveEvent(long atMillis, String node, String kind, String message) {}
