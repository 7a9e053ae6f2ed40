package dev.skep.election;

import dev.skep.redis.RedisSnapshot;

/**
 * What the election reacts to. Every event carries {@code now}, the wall clock in milliseconds as the
 * control thread read it: the election never reads a clock itself, so a simulation can drive it.
 */
public sealed interface ElectionEvent {
    long now();

    /** A heartbeat period has passed: time to check liveness and announce ourselves. */
    record Tick(long now) implements ElectionEvent {}

    /** A peer told us its state. */
    record PeerStatusReceived(NodeStatus status, long now) implements ElectionEvent {}

    /** The local redis answered PING and INFO. */
    record ProbeSucceeded(RedisSnapshot snapshot, long now) implements ElectionEvent {}

    /** The local redis did not answer (or answered an error). */
    record ProbeFailed(String reason, long now) implements ElectionEvent {}

    /** The outcome of an {@link Effect.Promote}: {@code ok} only once redis reported {@code role:master}. */
    record PromotionFinished(long epoch, boolean ok, String detail, long now) implements ElectionEvent {}
}
