package org.ringwarden.client;

/**
 * The daemon granted a ring but the ticketed {@code io_uring_setup} did not return it (the
 * daemon refused the ticket with {@code EPERM}, no listener answered with {@code ENOSYS}, ...),
 * or the ring it returned could not be mapped. The lease has been released.
 */
public final class RingCollectionException extends RingwardenException {
    private final int errno;

    RingCollectionException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    RingCollectionException(String message, int errno, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    /** The errno of the failed call, or 0 if the call succeeded and mapping failed. */
    public int errno() {
        return errno;
    }
}
