package dev.skep.lease;

import java.io.IOException;

/** The Lease changed since it was read: a compare-and-swap write was refused (HTTP 409 Conflict). */
public final class LeaseConflictException extends IOException {
    public LeaseConflictException(String message) {
        super(message);
    }
}
