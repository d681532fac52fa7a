package org.ringwarden.linux.uring;

import org.jspecify.annotations.Nullable;

/**
 * A named number of the io_uring ABI, as {@code include/uapi/linux/io_uring.h} defines it.
 * {@link #abi()} is the number the kernel takes (an opcode, or a bit position's mask for
 * flags); {@link #kernelName()} is the suffix after the family prefix ({@code READ_FIXED} for
 * {@code IORING_OP_READ_FIXED}), which is how policies and messages name it.
 */
public interface KernelConstant {
    /** The value as the kernel takes it: an opcode number, or a flag's bit mask. */
    long abi();

    /** The kernel's name without its family prefix, e.g. {@code READ_FIXED}. */
    String kernelName();

    /** The full C identifier, e.g. {@code IORING_OP_READ_FIXED}. */
    String cName();

    /** Finds a constant by its kernel name (case-sensitive). */
    static <E extends Enum<E> & KernelConstant> @Nullable E byName(Class<E> type, String name) {
        for (E e : type.getEnumConstants()) {
            if (e.kernelName().equals(name)) {
                return e;
            }
        }
        return null;
    }

    /** The OR of the masks of {@code flags}. */
    static long mask(Iterable<? extends KernelConstant> flags) {
        long m = 0;
        for (KernelConstant f : flags) {
            m |= f.abi();
        }
        return m;
    }
}
