package org.ringwarden.daemon.config;

import java.time.Duration;

/**
 * The daemon's bounds on what clients may hold (docs/configuration.md, "limits").
 *
 * @param connectionsTotal  open client connections, all users together
 * @param connectionsPerUid open client connections of one uid
 * @param requestTimeout    how long a connection may take to finish a frame or a descriptor
 *                          exchange once it has started one
 * @param idleTimeout       how long a connection that holds nothing (no attachment, no lease)
 *                          may stay silent; a connection that holds something may idle forever
 * @param ticketExpiry      how long a grant's ticket may wait to be collected
 * @param leasesTotal       active leases, all users together
 * @param leasesPerUid      active leases of one uid
 * @param bufferBytesTotal  registered buffer bytes, all leases together
 * @param bufferBytesPerUid registered buffer bytes of one uid
 */
public record Limits(int connectionsTotal, int connectionsPerUid, Duration requestTimeout, Duration idleTimeout,
                     Duration ticketExpiry,
                     int leasesTotal, int leasesPerUid, long bufferBytesTotal, long bufferBytesPerUid) {

    /**
     * The defaults of an unconfigured daemon. The lease and buffer bounds fit the 8 MiB default
     * {@code RLIMIT_MEMLOCK} of a non-root daemon (security.md: about 1,024 empty rings, or 7
     * with 1 MiB buffers). The grant side's defaults are these ({@code DaemonLimits.defaults()}).
     */
    public static final Limits DEFAULTS = new Limits(1024, 64, Duration.ofSeconds(5), Duration.ofSeconds(60),
            Duration.ofSeconds(10), 512, 64, 64L << 20, 16L << 20);

    public Limits {
        positive("connectionsTotal", connectionsTotal);
        positive("connectionsPerUid", connectionsPerUid);
        positive("leasesTotal", leasesTotal);
        positive("leasesPerUid", leasesPerUid);
        positive("bufferBytesTotal", bufferBytesTotal);
        positive("bufferBytesPerUid", bufferBytesPerUid);
        if (requestTimeout == null || requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("limits.requestTimeout must be a positive duration");
        }
        if (idleTimeout == null || idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("limits.idleTimeout must be a positive duration");
        }
        if (ticketExpiry == null || ticketExpiry.isNegative() || ticketExpiry.isZero()) {
            throw new IllegalArgumentException("limits.ticketExpiry must be a positive duration");
        }
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException("limits." + name + " must be positive, not " + value);
        }
    }
}
