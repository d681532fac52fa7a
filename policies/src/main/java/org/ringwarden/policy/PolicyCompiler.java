package org.ringwarden.policy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelConstant;
import org.ringwarden.linux.uring.KernelProbe;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;

/**
 * Compiles a checked {@link PolicyDefinition} to a {@link CompiledPolicy}: pure, no I/O, same
 * input same output. The restriction list is built so that it can only ever narrow:
 * <ul>
 * <li>one {@code REGISTER_OP} entry per allowed register opcode, and {@code PROBE} when there is
 * none, because kernels from 2026 leave every register opcode open for a set with no
 * {@code REGISTER_OP} entry (security.md);</li>
 * <li>one {@code SQE_OP} entry per allowed opcode, by number;</li>
 * <li>{@code SQE_FLAGS_ALLOWED} and {@code SQE_FLAGS_REQUIRED} always, even when 0: the same
 * kernels track SQE restrictions separately too, and an explicit flags entry keeps the SQE side
 * restricted when a policy allows no opcode at all.</li>
 * </ul>
 */
final class PolicyCompiler {
    private PolicyCompiler() {
    }

    /**
     * @param kernel the running kernel's opcodes, for a complain-mode policy's ceiling (which
     *               may name only opcodes the kernel has); null: every opcode ringwarden knows
     */
    static CompiledPolicy compile(PolicyDefinition d, Acquirers acquirers, String source, @Nullable KernelProbe kernel) {
        List<Restriction> restrictions = d.mode() == PolicyMode.COMPLAIN ? ceiling(d, kernel) : restrictions(d);
        return new CompiledPolicy(d.name(), d.description(), source, acquirers, ring(d.ring()), files(d),
                d.clientFds(), d.buffers(), d.limits(), restrictions, allowed(d), transparent(d.transparent()), d.mode());
    }

    /** SQE opcodes a complain-mode ring allows although its list leaves them out. */
    static Set<IoUringOp> ceilingOps(PolicyDefinition d, @Nullable KernelProbe kernel) {
        Set<IoUringOp> ops = EnumSet.noneOf(IoUringOp.class);
        for (IoUringOp op : IoUringOp.values()) {
            if (kernel == null || kernel.supports(op)) {
                ops.add(op);
            }
        }
        ops.remove(IoUringOp.MSG_RING); // no policy may allow it (PolicyRules)
        // These cross the fixed-file boundary (FIXED_FILE_ESCAPE, FIXED_TABLE_CHANGE): only by name.
        for (IoUringOp op : EnumSet.of(IoUringOp.FIXED_FD_INSTALL, IoUringOp.FILES_UPDATE)) {
            if (!d.sqeOps().contains(op)) {
                ops.remove(op);
            }
        }
        return ops;
    }

    /**
     * A complain-mode policy's restrictions: every SQE opcode but those that cross the boundary
     * ({@link #ceilingOps}), every SQE flag, none required; the register opcodes stay the
     * policy's own, since some pin memory that the kernel charges to the daemon (security.md).
     * The files keep the open mode the lists need (files()): complain mode widens which
     * operations reach the kernel, not what a fixed file may be used for.
     */
    static List<Restriction> ceiling(PolicyDefinition d, @Nullable KernelProbe kernel) {
        List<Restriction> out = new ArrayList<>();
        for (RegisterOp op : registerOps(d)) {
            out.add(Restriction.registerOp(op));
        }
        for (IoUringOp op : ceilingOps(d, kernel)) {
            out.add(Restriction.sqeOp(op));
        }
        out.add(Restriction.sqeFlagsAllowed((int) KernelConstant.mask(EnumSet.allOf(SqeFlag.class))));
        out.add(Restriction.sqeFlagsRequired(0));
        return out;
    }

    static RingSpec ring(PolicyDefinition.Ring r) {
        int sq = r.clamp() ? clampEntries(r.sqEntries(), 1, IoUringCalls.MAX_ENTRIES) : r.sqEntries();
        int cq = r.cqEntries() == 0 ? 2 * sq : r.cqEntries();
        if (r.clamp()) {
            cq = clampEntries(Math.max(cq, sq), sq, IoUringCalls.MAX_CQ_ENTRIES);
        }
        return new RingSpec(sq, cq, r.setupFlags(), r.enabler());
    }

    /** The power of two at or above {@code n}, within {@code min..max} (both powers of two). */
    static int clampEntries(int n, int min, int max) {
        if (n <= min) {
            return min;
        }
        if (n >= max) {
            return max;
        }
        return Integer.highestOneBit(n - 1) << 1;
    }

    static List<FileSpec> files(PolicyDefinition d) {
        List<FileSpec> out = new ArrayList<>();
        for (PolicyDefinition.FileDef f : d.files()) {
            int flags = OpcodeClasses.leastMode(f, d.sqeOps()) | Descriptors.O_CLOEXEC;
            for (OpenFlag o : f.openFlags()) {
                flags |= o.bits();
            }
            long resolve = Descriptors.RESOLVE_NO_MAGICLINKS | (f.followSymlinks() ? 0 : Descriptors.RESOLVE_NO_SYMLINKS);
            int mode = (flags & Descriptors.O_CREAT) != 0 ? f.createMode() : 0;
            out.add(new FileSpec(f.name(), Path.of(f.path()), flags, mode, resolve, f.type()));
        }
        return out;
    }

    static Set<RegisterOp> registerOps(PolicyDefinition d) {
        Set<RegisterOp> ops = EnumSet.noneOf(RegisterOp.class);
        ops.addAll(d.registerOps());
        if (ops.isEmpty()) {
            ops.add(RegisterOp.REGISTER_PROBE); // harmless, and keeps every other register opcode refused
        }
        return ops;
    }

    static List<Restriction> restrictions(PolicyDefinition d) {
        List<Restriction> out = new ArrayList<>();
        for (RegisterOp op : registerOps(d)) { // EnumSet iterates by ordinal = opcode number
            out.add(Restriction.registerOp(op));
        }
        for (IoUringOp op : d.sqeOps()) {
            out.add(Restriction.sqeOp(op));
        }
        out.add(Restriction.sqeFlagsAllowed((int) KernelConstant.mask(d.sqeFlagsAllowed())));
        out.add(Restriction.sqeFlagsRequired((int) KernelConstant.mask(d.sqeFlagsRequired())));
        return out;
    }

    static Allowed allowed(PolicyDefinition d) {
        return new Allowed(d.sqeOps(), d.sqeFlagsAllowed(), d.sqeFlagsRequired(), registerOps(d));
    }

    static TransparentSpec transparent(PolicyDefinition.Transparent t) {
        if (!t.enabled()) {
            return TransparentSpec.disabled();
        }
        Map<SetupFlag, FlagDisposition> d = new EnumMap<>(SetupFlag.class);
        d.putAll(t.dispositions());
        int cq = t.maxCqEntries() == 0 ? Math.min(2 * t.maxSqEntries(), IoUringCalls.MAX_CQ_ENTRIES) : t.maxCqEntries();
        return new TransparentSpec(true, d, t.maxSqEntries(), cq);
    }

    /** For SqeFlag masks in messages. */
    static List<String> flagNames(int mask) {
        List<String> out = new ArrayList<>();
        for (SqeFlag f : SqeFlag.values()) {
            if ((mask & f.abi()) != 0) {
                out.add(f.kernelName());
            }
        }
        return out;
    }
}
