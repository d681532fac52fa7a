package org.ringwarden.protocol;

/**
 * The ticketed {@code io_uring_setup} that collects a granted ring (docs/protocol.md, "Step 3:
 * collect the ring"): {@code syscall(__NR_io_uring_setup, sqEntries, &params, MAGIC, ticket)}.
 * The call is trapped to the daemon, so the kernel never reads the two spare registers.
 */
public final class Tickets {
    /** {@code "RING"}: the third argument register of a ticketed {@code io_uring_setup}. */
    public static final long MAGIC = 0x52494E47L;

    /**
     * The largest ticket, {@code 2^53 - 1}: every ticket is in {@code 1..MAX}, so a client that
     * parses JSON numbers as doubles reads it exactly (I-JSON, RFC 7493).
     */
    public static final long MAX = (1L << 53) - 1;

    private Tickets() {
    }
}
