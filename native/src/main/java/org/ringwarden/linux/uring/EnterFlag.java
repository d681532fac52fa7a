package org.ringwarden.linux.uring;

/** {@code io_uring_enter(2)} flags ({@code IORING_ENTER_*}). */
public enum EnterFlag implements KernelConstant {
    GETEVENTS(1L << 0),
    SQ_WAKEUP(1L << 1),
    SQ_WAIT(1L << 2),
    EXT_ARG(1L << 3),
    REGISTERED_RING(1L << 4),
    ABS_TIMER(1L << 5),
    EXT_ARG_REG(1L << 6),
    NO_IOWAIT(1L << 7);

    private final long abi;

    EnterFlag(long abi) {
        this.abi = abi;
    }

    /** The bit mask the kernel takes. */
    @Override
    public long abi() {
        return abi;
    }

    @Override
    public String kernelName() {
        return name();
    }

    @Override
    public String cName() {
        return "IORING_ENTER_" + name();
    }
}
