package org.ringwarden.daemon.grant;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * One live lease, as the admin socket's {@code leases} answer shows it.
 *
 * @param leaseId      the lease id
 * @param policy       the policy it was granted under
 * @param connectionId the holding connection
 * @param pid          the holding peer's pid
 * @param uid          the holding peer's uid
 * @param state        {@code RESERVED}, {@code PENDING} (ticket not yet collected) or {@code DELIVERED}
 * @param bufferBytes  registered-buffer bytes it pins
 * @param created      when it was granted
 * @param delivered    when the ring was handed over; null before
 */
public record LeaseInfo(String leaseId, String policy, long connectionId, int pid, int uid, String state,
                        long bufferBytes, Instant created, @Nullable Instant delivered) {
}
