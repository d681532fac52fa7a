package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

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
        /** The ring was handed over; the daemon keeps its copy until release or connection close. */
        DELIVERED,
        /**
         * The daemon has let go of its copies (release, connection close, expiry, or a
         * transparent ring handed over), but the ring may live on in the client: still counted,
         * until the {@link org.ringwarden.linux.OpenFileWatch} says the last copy is gone.
         */
        HELD,
        /** Quota returned: the ring is gone, or never left the daemon. */
        ENDED
    }

    final String id;
    /** The lease's key in the daemon's {@link org.ringwarden.linux.OpenFileWatch}. */
    final long key;
    final Peer peer;
    final String policy;
    /** Zero for a transparent ring (no ticket: the supervisor asked for it). */
    final long ticket;
    final long bufferBytes;
    final Instant created;
    State state = State.RESERVED;
    /** The ring; null while RESERVED (it is being built). */
    @Nullable PreparedRing ring;
    /** When the ring was delivered; null before. */
    @Nullable Instant delivered;
    /** {@link System#nanoTime()} when the ticket became collectable (PENDING). */
    long pendingSinceNanos;
    /**
     * The policy's lists (what refusal reports are judged against; set right after the lease is
     * reserved, before its ring exists).
     */
    volatile org.ringwarden.policy.@Nullable Allowed lists;
    /** Whether the policy is in complain mode: its ring has the ceiling, and what goes beyond {@link #lists} is reported. */
    volatile boolean complains;
    /** For a transparent ring: the program that asked for it (what {@code leases} shows); null otherwise. */
    volatile @Nullable TrappedProgram program;

    Lease(String id, long key, Peer peer, String policy, long ticket, long bufferBytes, Instant created) {
        this.id = requireNonNull(id, "id");
        this.key = key;
        this.peer = requireNonNull(peer, "peer");
        this.policy = requireNonNull(policy, "policy");
        this.ticket = ticket;
        this.bufferBytes = bufferBytes;
        this.created = requireNonNull(created, "created");
    }

    /** True for a ring made for a trapped {@code io_uring_setup} of an unmodified program. */
    boolean transparent() {
        return ticket == 0;
    }

    /**
     * Closes the daemon's copies of the ring and buffers, first putting the ring on
     * {@code watch} under {@link #key} so that the lease can end when the client's copies are
     * gone too. Idempotent. False if the ring could not be watched (then nobody can tell when
     * it goes: the caller ends the lease at once rather than keep its quota forever).
     */
    boolean closeResources(org.ringwarden.linux.OpenFileWatch watch) {
        PreparedRing r = ring;
        return r == null || r.closeWatched(watch, key);
    }

    LeaseInfo info() {
        TrappedProgram p = program;
        return p == null
                ? new LeaseInfo(id, policy, peer.connectionId(), peer.pid(), peer.uid(), state.name(), bufferBytes,
                        created, delivered, null)
                : new LeaseInfo(id, policy, peer.connectionId(), p.pid(), p.uid(), state.name(), bufferBytes,
                        created, delivered, p.exe());
    }
}
