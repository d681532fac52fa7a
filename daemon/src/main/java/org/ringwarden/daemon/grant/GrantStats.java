package org.ringwarden.daemon.grant;

/**
 * Counters of the grant side, for the admin socket's {@code status}.
 *
 * @param leases          live leases (reserved, pending and delivered)
 * @param pendingTickets  leases whose ticket has not been collected
 * @param bufferBytes     registered-buffer bytes held by live leases
 * @param attachments     attached seccomp listeners
 * @param vmPinBytes      the daemon's pinned memory ({@code VmPin} of {@code /proc/self/status}),
 *                        which includes rings whose leases ended while clients still hold them;
 *                        -1 if it cannot be read
 * @param granted         grants since start
 * @param refused         refused or failed acquires since start
 * @param delivered       rings handed over since start
 * @param deliveryRefused trapped calls answered {@code EPERM} since start
 * @param expired         tickets that expired uncollected since start
 * @param released        leases ended by release, connection close or shutdown since start
 * @param transparent     transparent rings installed into a trapped caller since start (audited {@code deliver})
 * @param deliveryRefusals refused deliveries (ticketed and transparent) by error code since start, as audited
 *                        ({@code deliver-refused})
 */
public record GrantStats(int leases, int pendingTickets, long bufferBytes, int attachments, long vmPinBytes,
                         long granted, long refused, long delivered, long deliveryRefused, long expired,
                         long released, long transparent, java.util.Map<String, Long> deliveryRefusals) {
    public GrantStats {
        deliveryRefusals = java.util.Map.copyOf(deliveryRefusals);
    }
}
