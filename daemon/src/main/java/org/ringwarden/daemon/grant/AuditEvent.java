package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

import org.ringwarden.protocol.ErrorCode;

import org.jspecify.annotations.Nullable;

/**
 * Something only the grant side sees, for the audit log: deliveries and refused deliveries,
 * expired tickets, detachments, and leases let go or ended other than by a {@code release}
 * request. The decisions the server answers (attach, grant, refusal, release) are audited by
 * the server, once, where it answers them. {@link GrantService} hands these to its consumer
 * synchronously, from whichever thread acted (a request thread, the
 * listener poller, the expiry timer): the consumer must be quick and must not call back.
 *
 * @param kind   what happened
 * @param at     when
 * @param peer   the peer concerned
 * @param policy the policy's name; null when none is known (e.g. a refused delivery with an unknown ticket)
 * @param lease  the lease id; null when none is concerned
 * @param code   the error code for refusals, null for successes
 * @param detail a sentence for people: the failing call and errno, the ticket check that failed...
 */
public record AuditEvent(Kind kind, Instant at, Peer peer, @Nullable String policy, @Nullable String lease,
                         @Nullable ErrorCode code, String detail) {
    public AuditEvent {
        requireNonNull(kind, "kind");
        requireNonNull(at, "at");
        requireNonNull(peer, "peer");
        requireNonNull(detail, "detail");
    }

    /** The kinds of audited events. */
    public enum Kind {
        /** The daemon let go of a lease's ring because its connection closed or the daemon is stopping. */
        RELEASE,
        /** A lease's ring is gone from every process: its quota is returned. */
        END,
        /** A ticket was not collected in time; its ring was destroyed. */
        EXPIRE,
        /** A ring was installed into the caller of a ticketed io_uring_setup. */
        DELIVER,
        /** A trapped io_uring_setup (or other call) was answered EPERM. */
        DELIVERY_REFUSED,
        /** An attachment ended (connection closed, or no process left under the filter). */
        DETACH,
        /** The kernel refused a request on a ring of ours because of its restrictions (a refusal report). */
        SQE_REFUSED,
        /** A complain-mode ring ran a request its policy's lists leave out (a complaint, not a refusal). */
        SQE_COMPLAINED
    }
}
