package org.ringwarden.linux.uring;

import org.jspecify.annotations.Nullable;

/**
 * One {@code struct io_uring_restriction}: a kind and the opcode or flag mask it carries.
 *
 * @param type  what the entry restricts
 * @param value the register opcode, the SQE opcode, or the SQE flag mask (0..255)
 */
public record Restriction(RestrictionType type, int value) {
    public Restriction {
        if (value < 0 || value > 0xff) {
            throw new IllegalArgumentException("restriction value out of u8 range: " + value);
        }
    }

    public static Restriction registerOp(RegisterOp op) {
        return new Restriction(RestrictionType.REGISTER_OP, op.number());
    }

    public static Restriction sqeOp(IoUringOp op) {
        return new Restriction(RestrictionType.SQE_OP, op.number());
    }

    public static Restriction sqeFlagsAllowed(int mask) {
        return new Restriction(RestrictionType.SQE_FLAGS_ALLOWED, mask);
    }

    public static Restriction sqeFlagsRequired(int mask) {
        return new Restriction(RestrictionType.SQE_FLAGS_REQUIRED, mask);
    }

    /** E.g. {@code SQE_OP READ_FIXED (4)} or {@code SQE_FLAGS_REQUIRED 0x01 [FIXED_FILE]}. */
    @Override
    public String toString() {
        return switch (type) {
            case REGISTER_OP -> "REGISTER_OP " + nameOr(RegisterOp.of(value)) + " (" + value + ")";
            case SQE_OP -> "SQE_OP " + nameOr(IoUringOp.of(value)) + " (" + value + ")";
            case SQE_FLAGS_ALLOWED, SQE_FLAGS_REQUIRED -> type + " 0x" + String.format("%02x", value) + " " + flagNames(value);
        };
    }

    private static String nameOr(@Nullable KernelConstant c) {
        return c == null ? "?" : c.kernelName();
    }

    private static String flagNames(int mask) {
        StringBuilder b = new StringBuilder("[");
        for (SqeFlag f : SqeFlag.values()) {
            if ((mask & f.abi()) != 0) {
                b.append(b.length() > 1 ? " " : "").append(f.name());
            }
        }
        return b.append(']').toString();
    }
}
