package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import org.ringwarden.client.protocol.ErrorCode;

/**
 * A request to {@link GrantService} was refused or failed. The server answers it as a
 * protocol {@code error} with {@link #code()} and the message; a kernel failure's message
 * names the call and the errno ({@code io_uring_register(BUFFERS): ENOMEM (...)}).
 */
public final class GrantException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public GrantException(ErrorCode code, String message) {
        super(message);
        this.code = requireNonNull(code, "code");
    }

    public GrantException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = requireNonNull(code, "code");
    }

    /** The protocol error code the client sees. */
    public ErrorCode code() {
        return code;
    }
}
