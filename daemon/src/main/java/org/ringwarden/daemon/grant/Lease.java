package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * One grant held by one connection: the quota it counts against, its single-use ticket, and
 * (once built) the ring and everything the daemon keeps for it. State changes happen only
 * under the {@link LeaseRegistry}'s lock; closing the ring happens outside it.
 */
final class Lease {
    /** Where a lease is in its life. */
    enum State {
        /** Counted against the quotas; the ring is being built. */
        RESERVED,
        /** Built; the ticket waits to be collected by a trapped {@code io_uring_setup}. */
        PENDING,
        /** The ring was handed over; the lease lasts until release or connection close. */
        DELIVERED,
        /** Quota returned, ring closed (or about to be). */
        ENDED
    }

    final String id;
    final Peer peer;
    final String policy;
    final long ticket;
    final long bufferBytes;
    final Instant created;
    State state = State.RESERVED;
    PreparedRing ring;
    Instant delivered;
    /** {@link System#nanoTime()} when the ticket became collectable (PENDING). */
    long pendingSinceNanos;

    Lease(String id, Peer peer, String policy, long ticket, long bufferBytes, Instant created) {
        this.id = requireNonNull(id, "id");
        this.peer = requireNonNull(peer, "peer");
        this.policy = requireNonNull(policy, "policy");
        this.ticket = ticket;
        this.bufferBytes = bufferBytes;
        this.created = requireNonNull(created, "created");
    }

    /** Closes the daemon's copies of the ring and buffers. Idempotent. */
    void closeResources() {
        PreparedRing r = ring;
        if (r != null) {
            r.close();
        }
    }

    LeaseInfo info() {
        return new LeaseInfo(id, policy, peer.connectionId(), peer.pid(), peer.uid(), state.name(), bufferBytes,
                created, delivered);
    }
}
