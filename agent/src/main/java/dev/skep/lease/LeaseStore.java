package dev.skep.lease;

import java.io.IOException;
import java.util.Optional;

/**
 * Where the Lease of {@code --election lease} lives. Implementations do blocking I/O and are called from one
 * thread at a time (the election's lease thread).
 */
public interface LeaseStore extends AutoCloseable {

    /** The Lease as stored now; empty when it does not exist. */
    Optional<LeaseRecord> read() throws IOException;

    /**
     * Stores {@code next} if the Lease is still at {@code next.resourceVersion()} (or still absent, when that is
     * null) and returns it as stored, with its new version.
     *
     * @throws LeaseConflictException when the Lease changed meanwhile (the API server's 409 Conflict)
     */
    LeaseRecord write(LeaseRecord next) throws IOException;

    /** Where the Lease is, for logs ("namespace/name at https://..."). */
    String describe();

    @Override
    void close();
}
