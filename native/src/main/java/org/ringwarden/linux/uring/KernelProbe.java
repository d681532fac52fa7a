package org.ringwarden.linux.uring;

import java.util.BitSet;
import java.util.EnumSet;
import java.util.Set;

/**
 * What {@code IORING_REGISTER_PROBE} reported: the last opcode this kernel knows and which
 * opcodes it supports ({@code IO_URING_OP_SUPPORTED}).
 *
 * @param lastOp    the highest opcode number the kernel knows
 * @param supported opcode numbers the kernel supports
 */
public record KernelProbe(int lastOp, BitSet supported) {
    public KernelProbe {
        supported = (BitSet) supported.clone();
    }

    public boolean supports(IoUringOp op) {
        return supported.get(op.number());
    }

    /** The supported opcodes that this enum names (a newer kernel may support more). */
    public Set<IoUringOp> supportedOps() {
        EnumSet<IoUringOp> s = EnumSet.noneOf(IoUringOp.class);
        for (IoUringOp op : IoUringOp.values()) {
            if (supports(op)) {
                s.add(op);
            }
        }
        return s;
    }

    @Override
    public BitSet supported() {
        return (BitSet) supported.clone();
    }
}
