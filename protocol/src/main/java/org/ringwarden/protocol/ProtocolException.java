package org.ringwarden.protocol;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

/**
 * A message that breaks the protocol: its {@link #code()} is what the daemon answers
 * ({@link ErrorCode#BAD_REQUEST} or {@link ErrorCode#UNSUPPORTED_VERSION}) and the message
 * says what was wrong, for people.
 */
public final class ProtocolException extends Exception {
    private final ErrorCode code;

    public ProtocolException(ErrorCode code, String message) {
        super(requireNonNull(message, "message"));
        this.code = requireNonNull(code, "code");
    }

    public ProtocolException(ErrorCode code, String message, @Nullable Throwable cause) {
        super(requireNonNull(message, "message"), cause);
        this.code = requireNonNull(code, "code");
    }

    /** The code to answer with. */
    public ErrorCode code() {
        return code;
    }

    /** The sentence for people given at construction; never null. */
    @Override
    public String getMessage() {
        return requireNonNull(super.getMessage());
    }
}
