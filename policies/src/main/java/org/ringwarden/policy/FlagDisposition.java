package org.ringwarden.policy;

/** What transparent use does with a setup flag an unmodified program asked for. */
public enum FlagDisposition {
    /** The ring is made with the flag. */
    HONOUR,
    /** The ring is made without it, and the params written back say so. */
    DROP,
    /** The program's {@code io_uring_setup} fails ({@code EPERM}). */
    REFUSE
}
