package org.ringwarden.daemon.grant;

import java.security.SecureRandom;

/**
 * Unguessable tickets for grants: 63-bit positive numbers from {@link SecureRandom}, so that
 * a ticket fits a signed 64-bit register and a JSON number a C client parses as {@code int64_t}.
 * Single use and uniqueness among live leases are the {@link LeaseRegistry}'s job.
 */
final class TicketIssuer {
    private final SecureRandom random = new SecureRandom();

    /** A fresh ticket in {@code 1 .. Long.MAX_VALUE}. */
    synchronized long next() {
        long t;
        do {
            t = random.nextLong() & Long.MAX_VALUE;
        } while (t == 0);
        return t;
    }

    /** A lease id: 128 random bits in hex, never derived from the ticket. */
    synchronized String nextLeaseId() {
        return Long.toHexString(random.nextLong() | Long.MIN_VALUE) + Long.toHexString(random.nextLong() | Long.MIN_VALUE);
    }
}
