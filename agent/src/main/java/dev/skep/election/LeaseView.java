package dev.skep.election;

import dev.skep.lease.LeaseRecord;
import dev.skep.status.HiveStatus;

import java.util.Objects;

/**
 * What one node knows of the Lease under {@code --election lease}: the record last read or written, since
 * when it has looked the same (expiry is judged on this node's own clock from that moment, as Kubernetes'
 * own leader election does, never by comparing its clock with the writer's), and, while this node holds it,
 * until when it surely still does. Pure: owned by {@link LeaseGuard}, on the control thread.
 */
final class LeaseView {
    private final String self;
    private final ElectionSettings settings;
    /** The Lease as last seen; null when it does not exist (or before the first read: see {@link #known}). */
    private LeaseRecord record;
    private boolean known;
    /** When this node first saw the current version of the Lease. */
    private long seenAt;
    /** While this node holds the Lease: the time until which it surely still does. */
    private long heldUntil = Long.MIN_VALUE;
    /** A write is under way: one at a time, each based on the version the last one left. */
    private boolean writing;

    LeaseView(ElectionSettings settings) {
        this.settings = settings;
        this.self = settings.self().toString();
    }

    /** The Lease as read or written at {@code now} ({@code lease} null: it does not exist). */
    void observed(LeaseRecord lease, long now) {
        String version = lease == null ? null : lease.resourceVersion();
        String before = record == null ? null : record.resourceVersion();
        if (!known || !Objects.equals(version, before)) {
            seenAt = now;
        }
        known = true;
        record = lease;
        if (!heldBySelf()) {
            heldUntil = Long.MIN_VALUE;
        }
    }

    /**
     * Whether this node may write a claim: the Lease is absent, released, already ours (handed to us), or
     * unchanged for its whole duration since this node saw it change.
     */
    boolean claimable(long now) {
        return known && (record == null || record.released() || heldBySelf() || now >= expiresAt());
    }

    /** When the current holder's Lease runs out for this node, unless renewed. */
    long expiresAt() {
        int seconds = record == null || record.durationSeconds() <= 0 ? settings.leaseDurationSeconds()
                : record.durationSeconds();
        return seenAt + seconds * 1000L;
    }

    /** For operators: who holds it, whether this node surely does, and how long it has looked unchanged. */
    HiveStatus.Lease status(long now) {
        return new HiveStatus.Lease(holder(), heldBySelf() && now < heldUntil, epoch(),
                record == null ? 0 : record.transitions(), known ? now - seenAt : -1);
    }

    boolean heldBySelf() {
        return record != null && self.equals(record.holder());
    }

    /** The holder's identity, "" when none or unknown. */
    String holder() {
        return record == null ? "" : record.holder();
    }

    /** The epoch recorded in the Lease (0 when none). */
    long epoch() {
        return record == null ? 0 : record.epoch();
    }

    /** The record a write starts from (compare-and-swap on its version). */
    LeaseRecord base() {
        return record == null ? LeaseRecord.absent() : record;
    }

    String self() {
        return self;
    }

    /** A claim or renewal sent at {@code sentAt} was stored: this node holds the Lease for a while longer. */
    void held(long sentAt) {
        heldUntil = Math.max(heldUntil, sentAt + settings.leaseHoldMs());
    }

    long heldUntil() {
        return heldUntil;
    }

    boolean writing() {
        return writing;
    }

    void writing(boolean w) {
        writing = w;
    }
}
