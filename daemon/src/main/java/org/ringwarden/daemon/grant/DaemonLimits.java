package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

import org.ringwarden.daemon.config.Limits;

/**
 * The daemon's own limits on what clients may hold, on top of each policy's per-user limits.
 * Every limit counts what the daemon holds for live leases and attachments; a ring whose
 * client still holds it after its lease ended is not counted (the kernel cannot revoke it),
 * which is why {@link GrantStats#vmPinBytes()} reports the daemon's actual pinned memory.
 *
 * @param leasesTotal          leases held by all clients together
 * @param leasesPerUid         leases held by the connections of one uid
 * @param bufferBytesTotal     registered-buffer bytes held by all leases together
 * @param bufferBytesPerUid    registered-buffer bytes held by the leases of one uid
 * @param ticketExpiry         how long a grant's ticket may wait to be collected before its ring
 *                             is destroyed and its quota returned
 * @param maxAttachmentsPerUid attached seccomp listeners of one uid
 * @param maxAttachmentsTotal  attached seccomp listeners of all clients together
 */
public record DaemonLimits(int leasesTotal, int leasesPerUid, long bufferBytesTotal, long bufferBytesPerUid,
                           Duration ticketExpiry, int maxAttachmentsPerUid, int maxAttachmentsTotal) {
    public DaemonLimits {
        requireNonNull(ticketExpiry, "ticketExpiry");
        if (leasesTotal < 0 || leasesPerUid < 0 || bufferBytesTotal < 0 || bufferBytesPerUid < 0
                || maxAttachmentsPerUid < 0 || maxAttachmentsTotal < 0) {
            throw new IllegalArgumentException("limits must not be negative: " + ticketExpiry);
        }
        if (ticketExpiry.isNegative() || ticketExpiry.isZero()) {
            throw new IllegalArgumentException("ticketExpiry must be positive: " + ticketExpiry);
        }
    }

    /**
     * The grant side's part of the daemon's configured {@code limits}; attachments are bounded
     * like connections (one attachment per connection at most).
     */
    public static DaemonLimits of(Limits limits) {
        return new DaemonLimits(limits.leasesTotal(), limits.leasesPerUid(), limits.bufferBytesTotal(),
                limits.bufferBytesPerUid(), limits.ticketExpiry(), limits.connectionsPerUid(), limits.connectionsTotal());
    }

    /** The grant side's part of {@link Limits#DEFAULTS}, the one place the defaults are written. */
    public static DaemonLimits defaults() {
        return of(Limits.DEFAULTS);
    }

    /** A copy with another ticket expiry. */
    public DaemonLimits withTicketExpiry(Duration expiry) {
        return new DaemonLimits(leasesTotal, leasesPerUid, bufferBytesTotal, bufferBytesPerUid, expiry,
                maxAttachmentsPerUid, maxAttachmentsTotal);
    }
}
