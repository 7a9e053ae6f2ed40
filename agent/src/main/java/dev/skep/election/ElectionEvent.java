package dev.skep.election;

import dev.skep.lease.LeaseRecord;
import dev.skep.redis.ProbeFailure;
import dev.skep.redis.RedisSnapshot;
import dev.skep.topology.Endpoint;

import java.util.Set;

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

    /**
     * The connection {@code node} opened to our peer port ended, closed from its side: its agent's process ended (a
     * crash, a kill, a stop: the kernel closes its sockets) or it reconnected. Evidence, with what its followers'
     * redis say, that a leader's whole node is gone.
     */
    record PeerClosed(Endpoint node, long now) implements ElectionEvent {}

    /** The local redis answered PING and INFO. */
    record ProbeSucceeded(RedisSnapshot snapshot, long now) implements ElectionEvent {}

    /**
     * The local redis did not answer (or answered an error). {@code kind} says what the evidence says
     * ({@code redis.ProbeFailure}): {@code BUSY}, alive but busy (a long script, a fork, a flood of replies), which
     * costs a leader its leadership only past the busy grace; {@code GONE}, its port refuses connections (the process
     * died), which makes a redis that answered before down at once; otherwise it counts towards
     * {@code --redis-failures}.
     */
    record ProbeFailed(String reason, ProbeFailure.Kind kind, long now) implements ElectionEvent {
        /** A failure that counts (redis down, stopped, erroring). */
        public ProbeFailed(String reason, long now) {
            this(reason, ProbeFailure.Kind.FAILED, now);
        }

        /** {@code busy}: alive but busy; otherwise a failure that counts. */
        public ProbeFailed(String reason, boolean busy, long now) {
            this(reason, busy ? ProbeFailure.Kind.BUSY : ProbeFailure.Kind.FAILED, now);
        }

        public boolean busy() {
            return kind == ProbeFailure.Kind.BUSY;
        }
    }

    /** The outcome of an {@link Effect.Promote}: {@code ok} only once redis reported {@code role:master}. */
    record PromotionFinished(long epoch, boolean ok, String detail, long now) implements ElectionEvent {}

    /**
     * An operator (or SIGTERM) asks this node, if it leads, to hand leadership over gracefully.
     *
     * @param to    the node to hand over to, or null for the in-sync replica with the most data
     * @param cause why, for the event log ("SIGTERM", "skep failover")
     */
    record HandoverRequested(Endpoint to, String cause, long now) implements ElectionEvent {}

    /**
     * The outcome of an {@link Effect.PrepareHandover}: {@code ok} when writes are paused on our redis and the
     * successor's redis has reached {@code offset}, our final offset; otherwise writes were resumed.
     */
    record HandoverCaughtUp(boolean ok, long offset, String detail, long now) implements ElectionEvent {}

    /**
     * {@code --election lease}: the agent is stopping while it still leads (no successor took over): it gives the
     * Lease back, its writes fenced first, so that the next leader need not wait for the Lease to expire.
     */
    record Stopping(String cause, long now) implements ElectionEvent {}

    /** Discovery's latest answer: the peers this node should know of (membership for {@link Quorum#MAJORITY}). */
    record PeersDiscovered(Set<Endpoint> peers, long now) implements ElectionEvent {}

    /**
     * {@code --election lease}: the Lease as just read ({@code lease} null when it does not exist); read every
     * heartbeat, and after a write was refused.
     */
    record LeaseObserved(LeaseRecord lease, long now) implements ElectionEvent {}

    /**
     * {@code --election lease}: the outcome of an {@link Effect.WriteLease} sent at {@code sentAt} (local clock).
     *
     * @param stored the Lease as the API server now holds it, when known (ours when {@code ok}; the one that
     *               beat ours after a conflict); null when the server could not be asked
     */
    record LeaseWritten(Effect.LeaseWrite kind, boolean ok, LeaseRecord stored, long sentAt, String detail, long now)
            implements ElectionEvent {}
}
