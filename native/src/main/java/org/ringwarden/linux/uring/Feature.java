package org.ringwarden.linux.uring;

/** Feature bits the kernel reports in {@code io_uring_params.features} ({@code IORING_FEAT_*}). */
public enum Feature implements KernelConstant {
    SINGLE_MMAP(1L << 0),
    NODROP(1L << 1),
    SUBMIT_STABLE(1L << 2),
    RW_CUR_POS(1L << 3),
    CUR_PERSONALITY(1L << 4),
    FAST_POLL(1L << 5),
    POLL_32BITS(1L << 6),
    SQPOLL_NONFIXED(1L << 7),
    EXT_ARG(1L << 8),
    NATIVE_WORKERS(1L << 9),
    RSRC_TAGS(1L << 10),
    CQE_SKIP(1L << 11),
    LINKED_FILE(1L << 12),
    REG_REG_RING(1L << 13),
    RECVSEND_BUNDLE(1L << 14),
    MIN_TIMEOUT(1L << 15),
    RW_ATTR(1L << 16),
    NO_IOWAIT(1L << 17);

    private final long abi;

    Feature(long abi) {
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
        return "IORING_FEAT_" + name();
    }
}
