package org.ringwarden.client;

import static java.util.Objects.requireNonNull;

import org.ringwarden.protocol.ErrorCode;

/**
 * The daemon answered {@code error}: {@link #code()} is what a program switches on, the message
 * is the daemon's own, for people. There is one subclass per {@link ErrorCode}, so that
 * {@code catch (NotPermittedException e)} reads like what it handles; {@link #of} picks it.
 */
public abstract sealed class DaemonErrorException extends RingwardenException
        permits DaemonErrorException.BadRequest, DaemonErrorException.UnsupportedVersion,
        DaemonErrorException.NotPermitted, DaemonErrorException.NotAttached, DaemonErrorException.QuotaExceeded,
        DaemonErrorException.KernelUnsupported, DaemonErrorException.Busy, DaemonErrorException.Internal {
    private final ErrorCode code;
    private final String daemonMessage;

    DaemonErrorException(ErrorCode code, String request, String daemonMessage) {
        super(request + ": " + code + ": " + daemonMessage);
        this.code = requireNonNull(code, "code");
        this.daemonMessage = requireNonNull(daemonMessage, "daemonMessage");
    }

    /** The protocol error code. */
    public ErrorCode code() {
        return code;
    }

    /** The daemon's message, as it sent it. */
    public String daemonMessage() {
        return daemonMessage;
    }

    /** The exception for {@code code}; {@code request} says what was asked ("acquire 'reader'"). */
    public static DaemonErrorException of(ErrorCode code, String request, String message) {
        return switch (code) {
            case BAD_REQUEST -> new BadRequest(request, message);
            case UNSUPPORTED_VERSION -> new UnsupportedVersion(request, message);
            case NOT_PERMITTED -> new NotPermitted(request, message);
            case NOT_ATTACHED -> new NotAttached(request, message);
            case QUOTA_EXCEEDED -> new QuotaExceeded(request, message);
            case KERNEL_UNSUPPORTED -> new KernelUnsupported(request, message);
            case BUSY -> new Busy(request, message);
            case INTERNAL -> new Internal(request, message);
        };
    }

    /** {@code BAD_REQUEST}: the daemon did not understand the request (a client bug, or a version skew). */
    public static final class BadRequest extends DaemonErrorException {
        BadRequest(String request, String message) {
            super(ErrorCode.BAD_REQUEST, request, message);
        }
    }

    /** {@code UNSUPPORTED_VERSION}: the daemon speaks another protocol version. */
    public static final class UnsupportedVersion extends DaemonErrorException {
        UnsupportedVersion(String request, String message) {
            super(ErrorCode.UNSUPPORTED_VERSION, request, message);
        }
    }

    /**
     * {@code NOT_PERMITTED}: this process may not do that, or the policy does not exist for it
     * (the daemon never says which: other users' policies stay invisible).
     */
    public static final class NotPermitted extends DaemonErrorException {
        NotPermitted(String request, String message) {
            super(ErrorCode.NOT_PERMITTED, request, message);
        }
    }

    /** {@code NOT_ATTACHED}: the connection has no seccomp listener attached (the library attaches on connect). */
    public static final class NotAttached extends DaemonErrorException {
        NotAttached(String request, String message) {
            super(ErrorCode.NOT_ATTACHED, request, message);
        }
    }

    /** {@code QUOTA_EXCEEDED}: a per-user or global limit on leases, buffer bytes or connections. */
    public static final class QuotaExceeded extends DaemonErrorException {
        QuotaExceeded(String request, String message) {
            super(ErrorCode.QUOTA_EXCEEDED, request, message);
        }
    }

    /** {@code KERNEL_UNSUPPORTED}: the running kernel lacks what the policy needs. */
    public static final class KernelUnsupported extends DaemonErrorException {
        KernelUnsupported(String request, String message) {
            super(ErrorCode.KERNEL_UNSUPPORTED, request, message);
        }
    }

    /** {@code BUSY}: the daemon cannot take the request now; trying again later may work. */
    public static final class Busy extends DaemonErrorException {
        Busy(String request, String message) {
            super(ErrorCode.BUSY, request, message);
        }
    }

    /** {@code INTERNAL}: the daemon failed; its message names the failing call. */
    public static final class Internal extends DaemonErrorException {
        Internal(String request, String message) {
            super(ErrorCode.INTERNAL, request, message);
        }
    }
}
