package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import org.ringwarden.client.protocol.ErrorCode;

/** A request the broker refused or failed: answered as an {@code error} frame with {@link #code()}. */
public final class RefusedException extends Exception {
    private final ErrorCode code;

    public RefusedException(ErrorCode code, String message) {
        super(message);
        this.code = requireNonNull(code, "code");
    }

    public RefusedException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = requireNonNull(code, "code");
    }

    public ErrorCode code() {
        return code;
    }
}
