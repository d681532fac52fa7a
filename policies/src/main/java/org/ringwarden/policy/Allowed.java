package org.ringwarden.policy;

import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelConstant;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.SqeFlag;

/**
 * What the compiled restrictions let a client do, as the grant's {@code allowed} object
 * (protocol.md) reports it. Exactly what the restriction entries say: {@code registerOps}
 * includes the {@code PROBE} the compiler adds when a policy allows no register opcode.
 *
 * @param sqeOps           SQE opcodes allowed
 * @param sqeFlagsAllowed  SQE flags an SQE may carry
 * @param sqeFlagsRequired SQE flags every SQE must carry
 * @param registerOps      register opcodes allowed after enabling
 */
public record Allowed(Set<IoUringOp> sqeOps, Set<SqeFlag> sqeFlagsAllowed, Set<SqeFlag> sqeFlagsRequired,
                      Set<RegisterOp> registerOps) {
    public Allowed {
        sqeOps = frozen(IoUringOp.class, sqeOps);
        sqeFlagsAllowed = frozen(SqeFlag.class, sqeFlagsAllowed);
        sqeFlagsRequired = frozen(SqeFlag.class, sqeFlagsRequired);
        registerOps = frozen(RegisterOp.class, registerOps);
    }

    /** Kernel names in opcode order, e.g. {@code [NOP, READ_FIXED]}. */
    public List<String> sqeOpNames() {
        return names(sqeOps);
    }

    public List<String> sqeFlagsAllowedNames() {
        return names(sqeFlagsAllowed);
    }

    public List<String> sqeFlagsRequiredNames() {
        return names(sqeFlagsRequired);
    }

    /** Short register names ({@code PROBE}, {@code BUFFERS}). */
    public List<String> registerOpNames() {
        return names(registerOps);
    }

    private static <E extends Enum<E>> Set<E> frozen(Class<E> type, Set<E> s) {
        EnumSet<E> copy = EnumSet.noneOf(type);
        copy.addAll(s);
        return Collections.unmodifiableSet(copy);
    }

    private static List<String> names(Set<? extends KernelConstant> s) {
        return s.stream().map(KernelConstant::kernelName).toList();
    }
}
