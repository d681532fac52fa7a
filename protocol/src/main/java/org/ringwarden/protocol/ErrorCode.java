package org.ringwarden.protocol;

/**
 * The {@code code} of a protocol {@code error} message (protocol.md, "Errors"). Programs switch
 * on the code; the message that travels with it is for people.
 */
public enum ErrorCode {
    /** A malformed, oversized or empty frame, unknown fields, or a request that breaks the protocol. */
    BAD_REQUEST,
    /** A message whose {@code v} is not 1. */
    UNSUPPORTED_VERSION,
    /** The peer may not do this, or the policy does not exist for it (other policies are never revealed). */
    NOT_PERMITTED,
    /** A request that needs an attached seccomp listener came before {@code attach}. */
    NOT_ATTACHED,
    /** A per-user or global limit on leases, buffer bytes or connections would be exceeded. */
    QUOTA_EXCEEDED,
    /** The running kernel lacks what the policy needs. */
    KERNEL_UNSUPPORTED,
    /** The daemon cannot take the request now (e.g. reloading, or too many requests in flight). */
    BUSY,
    /**
     * The daemon failed; the message names the failing call and errno (e.g. a policy file the
     * daemon cannot open, by name and path: its administrator must act).
     */
    INTERNAL
}
