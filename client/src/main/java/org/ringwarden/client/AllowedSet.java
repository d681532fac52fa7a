package org.ringwarden.client;

import java.util.ArrayList;
import java.util.List;

import org.ringwarden.client.protocol.Response;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.SqeFlag;

/**
 * The grant's {@code allowed} set as bit masks, and the check the library runs on each SQE
 * before it is published: the same rules the kernel applies to a restricted ring (an opcode must
 * be in {@code sqeOps}; every flag must be allowed or required; every required flag must be set).
 * Names the kernel does not know (a newer daemon) are ignored here: the kernel still enforces them.
 */
final class AllowedSet {
    private final String policy;
    private final long[] ops = new long[4]; // 256 opcodes
    private final int flagsAllowed;
    private final int flagsRequired;
    private final String opNames;

    AllowedSet(String policy, Response.Allowed allowed) {
        this.policy = policy;
        List<String> names = new ArrayList<>();
        for (String name : allowed.sqeOps()) {
            IoUringOp op = op(name);
            if (op != null) {
                ops[op.number() >>> 6] |= 1L << (op.number() & 63);
                names.add(name);
            }
        }
        this.opNames = names.isEmpty() ? "none" : String.join(", ", names);
        this.flagsAllowed = flags(allowed.sqeFlagsAllowed());
        this.flagsRequired = flags(allowed.sqeFlagsRequired());
    }

    private static IoUringOp op(String name) {
        for (IoUringOp op : IoUringOp.values()) {
            if (op.kernelName().equals(name)) {
                return op;
            }
        }
        return null;
    }

    private static int flags(List<String> names) {
        int m = 0;
        for (String name : names) {
            for (SqeFlag f : SqeFlag.values()) {
                if (f.kernelName().equals(name)) {
                    m |= (int) f.abi();
                }
            }
        }
        return m;
    }

    boolean allowsOp(int opcode) {
        return (ops[opcode >>> 6] & (1L << (opcode & 63))) != 0;
    }

    /** Throws if {@code opcode} is not allowed. */
    void checkOp(int opcode) {
        if (!allowsOp(opcode)) {
            String name = IoUringOp.of(opcode).kernelName();
            throw new PolicyViolationException(policy, name, name + " is not allowed by policy '" + policy
                    + "'; allowed: " + opNames);
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
            throw new PolicyViolationException(policy, name, IoUringOp.of(opcode).kernelName() + " without "
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
