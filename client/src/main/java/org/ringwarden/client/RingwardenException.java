package org.ringwarden.client;

import java.io.IOException;

/**
 * Something ringwarden could not do for this process: the daemon refused
 * ({@link DaemonErrorException} and its subclasses, one per protocol error code), the ring could
 * not be delivered ({@link DeliveryUnavailableException}, {@link RingCollectionException}), or
 * the connection broke (a plain {@link IOException} from the socket).
 */
public sealed class RingwardenException extends IOException
        permits DaemonErrorException, DeliveryUnavailableException, RingCollectionException {
    RingwardenException(String message) {
        super(message);
    }

    RingwardenException(String message, Throwable cause) {
        super(message, cause);
    }
}
