package org.ringwarden.linux;

/**
 * A system call failed. Carries the call, the errno number and its symbolic name, so that a
 * caller can switch on {@link #errno()} and a person reading a log sees
 * {@code io_uring_register(RESTRICTIONS): EBUSY (Device or resource busy)}.
 */
public final class KernelException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    public KernelException(String call, int errno) {
        super(call + ": " + Errno.nameOf(errno) + " (" + Errno.describe(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The call that failed, e.g. {@code "io_uring_register(ENABLE_RINGS)"}. */
    public String call() {
        return call;
    }

    /** The positive errno value. */
    public int errno() {
        return errno;
    }

    /** The symbolic name of the errno value, e.g. {@code "EACCES"}, or {@code "E123"} if unknown. */
    public String errnoName() {
        return Errno.nameOf(errno);
    }

    /** True if this failure carries the given errno. */
    public boolean is(Errno e) {
        return e.number() == errno;
    }
}
