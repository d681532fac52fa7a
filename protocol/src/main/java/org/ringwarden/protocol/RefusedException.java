package org.ringwarden.protocol;

import org.jspecify.annotations.Nullable;

import static java.util.Objects.requireNonNull;

/**
 * A request refused, with the {@link ErrorCode} the daemon answers it with and a sentence for
 * people: a message that breaks the protocol ({@link ErrorCode#BAD_REQUEST},
 * {@link ErrorCode#UNSUPPORTED_VERSION}), or one the policy gate or the grant side refuses
 * ({@code NOT_PERMITTED}, {@code QUOTA_EXCEEDED}, {@code BUSY}...; a kernel failure's message
 * names the call and the errno). The one refusal type of the codebase, sent as an {@code error}.
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
