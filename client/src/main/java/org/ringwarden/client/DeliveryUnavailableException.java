package org.ringwarden.client;

/**
 * This process cannot receive brokered rings: the kernel has no seccomp user notification (or
 * too old a version of it), a seccomp filter already on the process stands in the way, or the
 * filter could not be installed. The message says which and what to do.
 */
public final class DeliveryUnavailableException extends RingwardenException {
    DeliveryUnavailableException(String message) {
        super(message);
    }

    DeliveryUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
