package org.ringwarden.daemon.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

import org.ringwarden.protocol.ErrorCode;

import org.jspecify.annotations.Nullable;

/**
 * One decision of the daemon, as one line of the audit log.
 *
 * @param time    when it was decided
 * @param event   what was decided: {@code grant}, {@code refuse}, {@code release}, {@code attach},
 *                {@code reload}, {@code connect-refused}, ... (lower-case, stable: people grep for it)
 * @param pid     the peer's pid, or 0 for decisions without a peer (a reload by signal)
 * @param uid     the peer's uid, or -1
 * @param gid     the peer's gid, or -1
 * @param exe     the peer's executable; null without a peer
 * @param policy  the policy concerned; null when none is
 * @param lease   the lease concerned; null when none is
 * @param outcome {@code ok} or {@code refused} (or {@code failed} for the daemon's own failures)
 * @param code    the error code of a refusal; null for other outcomes
 * @param detail  a sentence for people; null when there is nothing to add
 * @param more    0, or for a summary: how many records like this one (same pid, event and code)
 *                were left out within a second ({@link AuditThrottle}); this record's other fields
 *                are those of the last of them
 */
public record AuditRecord(Instant time, String event, int pid, int uid, int gid, @Nullable String exe,
                          @Nullable String policy, @Nullable String lease, String outcome, @Nullable ErrorCode code,
                          @Nullable String detail, long more) {
    public AuditRecord {
        requireNonNull(time, "time");
        requireNonNull(event, "event");
        requireNonNull(outcome, "outcome");
        if (more < 0) {
            throw new IllegalArgumentException("more must not be negative: " + more);
        }
    }

    /** A decision as it was made (not a summary). */
    public AuditRecord(Instant time, String event, int pid, int uid, int gid, @Nullable String exe,
                       @Nullable String policy, @Nullable String lease, String outcome, @Nullable ErrorCode code,
                       @Nullable String detail) {
        this(time, event, pid, uid, gid, exe, policy, lease, outcome, code, detail, 0);
    }
}
