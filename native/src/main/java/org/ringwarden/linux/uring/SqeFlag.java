package org.ringwarden.linux.uring;

/** Per-SQE flags ({@code IOSQE_*}); the policy and restriction names are these. */
public enum SqeFlag implements KernelConstant {
    FIXED_FILE(1L << 0),
    IO_DRAIN(1L << 1),
    IO_LINK(1L << 2),
    IO_HARDLINK(1L << 3),
    ASYNC(1L << 4),
    BUFFER_SELECT(1L << 5),
    CQE_SKIP_SUCCESS(1L << 6);

    private final long abi;

    SqeFlag(long abi) {
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
        return "IOSQE_" + name();
    }
}
