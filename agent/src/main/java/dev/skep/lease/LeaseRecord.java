package dev.skep.lease;

/**
 * What a Kubernetes {@code coordination.k8s.io/v1} Lease says, as {@code --election lease} reads and writes it.
 * Immutable; the methods return the record a node would write next, to be stored by compare-and-swap on
 * {@link #resourceVersion()} (the API server refuses it with 409 Conflict when the Lease changed meanwhile).
 *
 * @param holder          {@code spec.holderIdentity}: the leading node's peer address, "" when released
 * @param epoch           the Skep epoch of the holder's leadership (annotation {@code skep.dev/epoch}), 0 if unknown
 * @param durationSeconds {@code spec.leaseDurationSeconds}: others may take the Lease this long after they last
 *                        saw it change
 * @param renewTimeMillis {@code spec.renewTime} in epoch milliseconds (informational: expiry is judged on each
 *                        node's own clock, from when it saw the Lease change, never by comparing clocks)
 * @param transitions     {@code spec.leaseTransitions}: how many times the holder changed
 * @param resourceVersion the version this record was read or written at; null for a Lease not stored yet
 */
public record LeaseRecord(String holder, long epoch, int durationSeconds, long renewTimeMillis, int transitions,
                          String resourceVersion) {

    public LeaseRecord {
        holder = holder == null ? "" : holder;
    }

    /** Whether the Lease is held by nobody (never claimed, or released). */
    public boolean released() {
        return holder.isEmpty();
    }

    /** The record {@code node} writes to take (or keep) the Lease for {@code epoch}. */
    public LeaseRecord claimedBy(String node, long epoch, int durationSeconds, long now) {
        return new LeaseRecord(node, epoch, durationSeconds, now, node.equals(holder) ? transitions : transitions + 1,
                resourceVersion);
    }

    /** The record the holder writes to show it is alive. */
    public LeaseRecord renewed(long now) {
        return new LeaseRecord(holder, epoch, durationSeconds, now, transitions, resourceVersion);
    }

    /** The record a leader writes to give the Lease to its successor in a planned handover. */
    public LeaseRecord handedTo(String successor, long now) {
        return new LeaseRecord(successor, epoch, durationSeconds, now, transitions + 1, resourceVersion);
    }

    /** The record a leader writes when it stops leading, so that others need not wait for it to expire. */
    public LeaseRecord releasedAt(long now) {
        return new LeaseRecord("", epoch, durationSeconds, now, transitions, resourceVersion);
    }

    /** The first record, for a Lease that does not exist yet. */
    public static LeaseRecord absent() {
        return new LeaseRecord("", 0, 0, 0, 0, null);
    }
}
