package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import org.ringwarden.protocol.ErrorCode;

import org.jspecify.annotations.Nullable;

/**
 * A request was refused or failed, by the policy gate or the grant side. The server answers it
 * as a protocol {@code error} with {@link #code()} and the message; a kernel failure's message
 * names the call and the errno ({@code io_uring_register(BUFFERS): ENOMEM (...)}).
 */
public final class RefusedException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public RefusedException(ErrorCode code, String message) {
        super(requireNonNull(message, "message"));
        this.code = requireNonNull(code, "code");
    }

    public RefusedException(ErrorCode code, String message, @Nullable Throwable cause) {
        super(requireNonNull(message, "message"), cause);
        this.code = requireNonNull(code, "code");
    }

    /** The protocol error code the client sees. */
    public ErrorCode code() {
        return code;
    }

    /** The sentence for people given at construction; never null. */
    @Override
    public String getMessage() {
        return requireNonNull(super.getMessage());
    }
}
