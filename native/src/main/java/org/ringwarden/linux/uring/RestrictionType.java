package org.ringwarden.linux.uring;

/** The kinds of {@code struct io_uring_restriction} ({@code IORING_RESTRICTION_*}): the {@code opcode} field of each entry. */
public enum RestrictionType implements KernelConstant {
    REGISTER_OP(0),
    SQE_OP(1),
    SQE_FLAGS_ALLOWED(2),
    SQE_FLAGS_REQUIRED(3);

    private final long abi;

    RestrictionType(long abi) {
        this.abi = abi;
    }

    /** The number the kernel takes. */
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
        return "IORING_RESTRICTION_" + name();
    }
}
