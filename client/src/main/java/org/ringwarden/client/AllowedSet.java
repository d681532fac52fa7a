package org.ringwarden.client;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.SqeFlag;
import org.ringwarden.protocol.Response;

/**
 * The grant's {@code allowed} set as bit masks, and the check the library runs on each SQE
 * before it is published: the same rules the kernel applies to a restricted ring (an opcode must
 * be in {@code sqeOps}; every flag must be allowed or required; every required flag must be set).
 * Names the kernel does not know (a newer daemon) are ignored here: the kernel still enforces them.
 */
final class AllowedSet {
    private static final Map<String, IoUringOp> OPS_BY_NAME = byName(IoUringOp.values(), IoUringOp::kernelName);
    private static final Map<String, SqeFlag> FLAGS_BY_NAME = byName(SqeFlag.values(), SqeFlag::kernelName);

    private final String policy;
    private final long[] ops = new long[4]; // 256 opcodes
    private final int flagsAllowed;
    private final int flagsRequired;

    /** Table lookups, nothing formatted until a check fails. */
    AllowedSet(String policy, Response.Allowed allowed) {
        this.policy = policy;
        for (String name : allowed.sqeOps()) {
            IoUringOp op = OPS_BY_NAME.get(name);
            if (op != null) {
                ops[op.number() >>> 6] |= 1L << (op.number() & 63);
            }
        }
        this.flagsAllowed = flags(allowed.sqeFlagsAllowed());
        this.flagsRequired = flags(allowed.sqeFlagsRequired());
    }

    private static <T> Map<String, T> byName(T[] values, Function<T, String> name) {
        Map<String, T> m = new HashMap<>();
        for (T v : values) {
            m.put(name.apply(v), v);
        }
        return Map.copyOf(m);
    }

    private static int flags(List<String> names) {
        int m = 0;
        for (String name : names) {
            SqeFlag f = FLAGS_BY_NAME.get(name);
            if (f != null) {
                m |= (int) f.abi();
            }
        }
        return m;
    }

    /** The allowed opcodes' names in opcode order, for messages. */
    private String opNames() {
        List<String> names = new ArrayList<>();
        for (IoUringOp op : IoUringOp.values()) {
            if (allowsOp(op.number())) {
                names.add(op.kernelName());
            }
        }
        return names.isEmpty() ? "none" : String.join(", ", names);
    }

    boolean allowsOp(int opcode) {
        return (ops[opcode >>> 6] & (1L << (opcode & 63))) != 0;
    }

    /** Throws if {@code opcode} is not allowed. */
    void checkOp(IoUringOp op) {
        if (!allowsOp(op.number())) {
            String name = op.kernelName();
            throw new PolicyViolationException(policy, name, name + " is not allowed by policy '" + policy
                    + "'; allowed: " + opNames());
        }
    }

    /** Throws if {@code flags} has a flag that is neither allowed nor required. */
    void checkFlags(int flags) {
        int extra = flags & ~(flagsAllowed | flagsRequired);
        if (extra != 0) {
            String name = flagName(Integer.lowestOneBit(extra));
            throw new PolicyViolationException(policy, name, "SQE flag " + name + " is not allowed by policy '"
                    + policy + "'; allowed flags: " + flagNames(flagsAllowed | flagsRequired));
        }
    }

    /** Throws if a required flag is missing from {@code flags} of an SQE with {@code opcode}. */
    void checkRequired(int opcode, int flags) {
        int missing = flagsRequired & ~flags;
        if (missing != 0) {
            String name = flagName(Integer.lowestOneBit(missing));
            IoUringOp op = requireNonNull(IoUringOp.of(opcode), "the opcode of an SQE this library prepared");
            throw new PolicyViolationException(policy, name, op.kernelName() + " without "
                    + name + ": policy '" + policy + "' requires " + flagNames(flagsRequired) + " on every SQE");
        }
    }

    int requiredFlags() {
        return flagsRequired;
    }

    private static String flagName(int bit) {
        for (SqeFlag f : SqeFlag.values()) {
            if (f.abi() == bit) {
                return f.kernelName();
            }
        }
        return "0x" + Integer.toHexString(bit);
    }

    private static String flagNames(int mask) {
        if (mask == 0) {
            return "none";
        }
        List<String> names = new ArrayList<>();
        for (SqeFlag f : SqeFlag.values()) {
            if ((mask & f.abi()) != 0) {
                names.add(f.kernelName());
            }
        }
        return String.join(", ", names);
    }
}
