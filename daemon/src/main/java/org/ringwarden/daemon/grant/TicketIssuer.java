package org.ringwarden.daemon.grant;

import org.ringwarden.protocol.Tickets;

import java.security.SecureRandom;

/**
 * Unguessable tickets for grants, drawn uniformly from {@code 1 .. 2^53-1} with
 * {@link SecureRandom}: every integer in that range is exact as an IEEE 754 double, so a ticket
 * survives a JSON parser that keeps numbers as doubles (cJSON, JavaScript, I-JSON, RFC 7493)
 * and reads back as the same 64-bit register value a C client passes to its trapped
 * {@code io_uring_setup}. (Tickets once used 63 bits, and a cJSON client sent back a
 * rounded ticket.) 53 random bits are plenty for a single-use ticket that expires within
 * seconds and is honoured only for the process tree of the connection that holds it.
 * Single use and uniqueness among live leases are the {@link LeaseRegistry}'s job.
 */
final class TicketIssuer {

    private final SecureRandom random = new SecureRandom();

    /** A fresh ticket in {@code 1 .. Tickets.MAX}, every value equally likely. */
    synchronized long next() {
        long t;
        do {
            t = random.nextLong() >>> (Long.SIZE - 53); // 53 uniform bits: 0 .. 2^53-1
        } while (t == 0);
        return t;
    }

    /** A lease id: 128 random bits in hex, never derived from the ticket. */
    synchronized String nextLeaseId() {
        return Long.toHexString(random.nextLong() | Long.MIN_VALUE) + Long.toHexString(random.nextLong() | Long.MIN_VALUE);
    }
}
