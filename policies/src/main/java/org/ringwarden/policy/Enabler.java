package org.ringwarden.policy;

/** Who calls {@code IORING_REGISTER_ENABLE_RINGS} on a brokered ring. */
public enum Enabler {
    /** The daemon enables before delivering: the daemon's fixed-file table is the only one. */
    DAEMON,
    /**
     * The client enables, becoming the single issuer of a {@code SINGLE_ISSUER}/{@code DEFER_TASKRUN}
     * ring. Before that call the client may make unrestricted register calls with its own rights.
     */
    CLIENT
}
