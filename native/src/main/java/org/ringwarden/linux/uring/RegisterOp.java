package org.ringwarden.linux.uring;

import org.jspecify.annotations.Nullable;

/** {@code io_uring_register(2)} opcodes, in ABI order through Linux 6.18: the ordinal is the opcode. {@code REGISTER_QUERY} is the newest; probe the kernel before relying on them. */
public enum RegisterOp implements KernelConstant {
    REGISTER_BUFFERS(0),
    UNREGISTER_BUFFERS(1),
    REGISTER_FILES(2),
    UNREGISTER_FILES(3),
    REGISTER_EVENTFD(4),
    UNREGISTER_EVENTFD(5),
    REGISTER_FILES_UPDATE(6),
    REGISTER_EVENTFD_ASYNC(7),
    REGISTER_PROBE(8),
    REGISTER_PERSONALITY(9),
    UNREGISTER_PERSONALITY(10),
    REGISTER_RESTRICTIONS(11),
    REGISTER_ENABLE_RINGS(12),
    REGISTER_FILES2(13),
    REGISTER_FILES_UPDATE2(14),
    REGISTER_BUFFERS2(15),
    REGISTER_BUFFERS_UPDATE(16),
    REGISTER_IOWQ_AFF(17),
    UNREGISTER_IOWQ_AFF(18),
    REGISTER_IOWQ_MAX_WORKERS(19),
    REGISTER_RING_FDS(20),
    UNREGISTER_RING_FDS(21),
    REGISTER_PBUF_RING(22),
    UNREGISTER_PBUF_RING(23),
    REGISTER_SYNC_CANCEL(24),
    REGISTER_FILE_ALLOC_RANGE(25),
    REGISTER_PBUF_STATUS(26),
    REGISTER_NAPI(27),
    UNREGISTER_NAPI(28),
    REGISTER_CLOCK(29),
    REGISTER_CLONE_BUFFERS(30),
    REGISTER_SEND_MSG_RING(31),
    REGISTER_ZCRX_IFQ(32),
    REGISTER_RESIZE_RINGS(33),
    REGISTER_MEM_REGION(34),
    REGISTER_QUERY(35);

    private final long abi;

    RegisterOp(long abi) {
        this.abi = abi;
    }

    /** The number the kernel takes. */
    @Override
    public long abi() {
        return abi;
    }

    /** The short name, see {@link #shortName()}. */
    @Override
    public String kernelName() {
        return shortName();
    }

    @Override
    public String cName() {
        return "IORING_" + name();
    }

    private static final RegisterOp[] BY_NUMBER = values();

    /** The register opcode {@code number}; null if this enum does not know it. */
    public static @Nullable RegisterOp of(int number) {
        return number >= 0 && number < BY_NUMBER.length ? BY_NUMBER[number] : null;
    }

    /** The opcode number as {@code io_uring_register(2)} takes it. */
    public int number() {
        return (int) abi;
    }

    /**
     * The short name policies use: the kernel's name without a leading {@code REGISTER_}
     * ({@code PROBE}, {@code RESTRICTIONS}, {@code FILES_UPDATE}); the {@code UNREGISTER_}
     * ones keep their prefix ({@code UNREGISTER_BUFFERS}).
     */
    public String shortName() {
        return name().startsWith("REGISTER_") ? name().substring("REGISTER_".length()) : name();
    }

    /** Finds a register opcode by its short name ({@code PROBE}) or full name ({@code REGISTER_PROBE}). */
    public static @Nullable RegisterOp byShortName(String name) {
        for (RegisterOp op : BY_NUMBER) {
            if (op.shortName().equals(name) || op.name().equals(name)) {
                return op;
            }
        }
        return null;
    }
}
