package org.ringwarden.daemon.grant;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * One live lease, as the admin socket's {@code leases} answer shows it.
 *
 * @param leaseId      the lease id
 * @param policy       the policy it was granted under
 * @param connectionId the holding connection
 * @param pid          the holding peer's pid; for a transparent ring, the program's that asked for it
 * @param uid          the holding peer's uid; for a transparent ring, that program's
 * @param state        {@code RESERVED}, {@code PENDING} (ticket not yet collected) or {@code DELIVERED}
 * @param bufferBytes  registered-buffer bytes it pins
 * @param created      when it was granted
 * @param delivered    when the ring was handed over; null before
 * @param exe          for a transparent ring, the program's executable; null for the connection's peer's
 */
public record LeaseInfo(String leaseId, String policy, long connectionId, int pid, int uid, String state,
                        long bufferBytes, Instant created, @Nullable Instant delivered, @Nullable String exe) {
}
