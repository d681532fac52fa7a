package org.ringwarden.daemon.learn;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelConstant;
import org.ringwarden.linux.uring.KernelProbe;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

/**
 * The two policies of {@code ringwarden learn}: the wide one a program runs under while it is
 * watched, and the smallest one under which the same run succeeds, made from what it used.
 */
public final class LearnedPolicy {
    private LearnedPolicy() {
    }

    /** Setup flags no policy may honour for transparent use (docs/policies.md, {@code transparent}). */
    static final Set<SetupFlag> NEVER = EnumSet.of(SetupFlag.SQPOLL, SetupFlag.SQ_AFF, SetupFlag.ATTACH_WQ,
            SetupFlag.NO_MMAP, SetupFlag.REGISTERED_FD_ONLY);
    /** Register opcodes no policy may list. */
    static final Set<RegisterOp> FORBIDDEN_REGISTER = EnumSet.of(RegisterOp.REGISTER_RESTRICTIONS,
            RegisterOp.REGISTER_ENABLE_RINGS, RegisterOp.REGISTER_PERSONALITY, RegisterOp.UNREGISTER_PERSONALITY);
    /** Register opcodes that change the fixed-file table: a policy must acknowledge each. */
    static final Set<RegisterOp> FILE_TABLE = EnumSet.of(RegisterOp.REGISTER_FILES, RegisterOp.UNREGISTER_FILES,
            RegisterOp.REGISTER_FILES_UPDATE, RegisterOp.REGISTER_FILES2, RegisterOp.REGISTER_FILES_UPDATE2,
            RegisterOp.REGISTER_FILE_ALLOC_RANGE);
    /** The kernel's largest rings (IORING_MAX_ENTRIES, IORING_MAX_CQ_ENTRIES). */
    static final int MAX_SQ = 32768;
    static final int MAX_CQ = 2 * MAX_SQ;

    /**
     * What a program runs under while it is learned: every SQE opcode the kernel offers except
     * {@code MSG_RING}, every SQE flag, every register opcode a policy may hold, and every setup
     * flag transparent use can honour, for {@code user} only. Never {@code SQPOLL}: a policy
     * can never have it, so a program must be seen without it.
     */
    public static String learning(String name, String user, KernelProbe kernel) {
        List<String> ops = new ArrayList<>();
        for (IoUringOp op : IoUringOp.values()) {
            if (op != IoUringOp.MSG_RING && kernel.supports(op)) {
                ops.add(op.kernelName());
            }
        }
        Set<RegisterOp> register = EnumSet.allOf(RegisterOp.class);
        register.removeAll(FORBIDDEN_REGISTER);
        Set<SetupFlag> honour = EnumSet.allOf(SetupFlag.class);
        honour.removeAll(NEVER);
        return """
                {
                  "name": %s,
                  "description": "ringwarden learn: everything a policy may allow, while a program is watched",
                  "subjects": { "users": [%s] },
                  "sqe": { "ops": %s, "flagsAllowed": %s },
                  "register": { "ops": %s, "acknowledge": %s },
                  "limits": { "leasesPerUser": 1024, "bufferBytesPerUser": "0 B" },
                  "transparent": { "enabled": true, "honour": %s, "refuse": ["SQPOLL", "SQ_AFF"],
                                   "maxSqEntries": %d, "maxCqEntries": %d }
                }
                """.formatted(quote(name), quote(user), list(ops), names(EnumSet.allOf(SqeFlag.class)), names(register),
                names(FILE_TABLE), names(honour), MAX_SQ, MAX_CQ);
    }

    /**
     * What a run needed: the opcodes and flags its tasks used, the register opcodes they called,
     * the setup flags its rings asked for, sizes to fit the largest ring, as many leases as it
     * had rings.
     *
     * @param usage      what the program's tasks did ({@link Observations#of})
     * @param rings      what each trapped io_uring_setup asked for and was given
     * @param description one line saying where it came from
     */
    public static String learned(String name, String description, String user, Observations.Usage usage,
                                 List<RingAsked> rings) {
        Set<String> ops = new TreeSet<>(usage.ops().keySet());
        Set<SqeFlag> flags = EnumSet.noneOf(SqeFlag.class);
        flags.addAll(usage.sqeFlags().keySet());
        Set<RegisterOp> register = EnumSet.noneOf(RegisterOp.class);
        for (int code : usage.register().keySet()) {
            for (RegisterOp op : RegisterOp.values()) {
                if (op.abi() == code && !FORBIDDEN_REGISTER.contains(op)) {
                    register.add(op);
                }
            }
        }
        Set<SetupFlag> asked = EnumSet.noneOf(SetupFlag.class);
        int sq = 1;
        int cq = 2;
        for (RingAsked r : rings) {
            asked.addAll(r.flags());
            sq = Math.max(sq, r.sqEntries());
            cq = Math.max(cq, r.cqEntries());
        }
        asked.removeAll(NEVER);
        Set<RegisterOp> acknowledge = EnumSet.copyOf(register.isEmpty() ? EnumSet.noneOf(RegisterOp.class) : register);
        acknowledge.retainAll(FILE_TABLE);
        StringBuilder b = new StringBuilder("{\n");
        b.append("  \"name\": ").append(quote(name)).append(",\n");
        b.append("  \"description\": ").append(quote(description)).append(",\n");
        b.append("  \"subjects\": { \"users\": [").append(quote(user)).append("] },\n");
        b.append("  \"sqe\": { \"ops\": ").append(list(new ArrayList<>(ops)));
        if (!flags.isEmpty()) {
            b.append(", \"flagsAllowed\": ").append(names(flags));
        }
        b.append(" },\n");
        if (!register.isEmpty()) {
            b.append("  \"register\": { \"ops\": ").append(names(register));
            if (!acknowledge.isEmpty()) {
                b.append(", \"acknowledge\": ").append(names(acknowledge));
            }
            b.append(" },\n");
        }
        b.append("  \"limits\": { \"leasesPerUser\": ").append(Math.max(4, Integer.highestOneBit(Math.max(1, rings.size())) * 2))
                .append(", \"bufferBytesPerUser\": \"0 B\" },\n");
        b.append("  \"transparent\": { \"enabled\": true, \"honour\": ").append(names(asked))
                .append(", \"maxSqEntries\": ").append(Math.min(MAX_SQ, ceilPow2(sq)))
                .append(", \"maxCqEntries\": ").append(Math.min(MAX_CQ, Math.max(ceilPow2(cq), 2 * ceilPow2(sq))))
                .append(" }\n}\n");
        return b.toString();
    }

    /**
     * One trapped {@code io_uring_setup} of the learned run, as the daemon saw it.
     *
     * @param sqEntries the entries asked for
     * @param cqEntries the completion entries given
     * @param flags     the setup flags asked for
     */
    public record RingAsked(int sqEntries, int cqEntries, Set<SetupFlag> flags) {
    }

    /** The counts behind each entry of a learned policy, for people (JSON has no comments). */
    public static List<String> report(Observations.Usage usage, List<RingAsked> rings) {
        List<String> out = new ArrayList<>();
        usage.ops().forEach((op, n) -> out.add("sqe.ops " + op + ": " + n + " request" + (n == 1 ? "" : "s")));
        usage.sqeFlags().forEach((f, n) -> out.add("sqe.flagsAllowed " + f.kernelName() + ": on " + n + " request"
                + (n == 1 ? "" : "s")));
        usage.register().forEach((code, n) -> out.add("register.ops " + registerName(code) + ": " + n + " call"
                + (n == 1 ? "" : "s")));
        Map<Set<SetupFlag>, Long> setups = rings.stream().collect(Collectors.groupingBy(RingAsked::flags, Collectors.counting()));
        setups.forEach((flags, n) -> out.add("transparent.honour " + (flags.isEmpty() ? "(no flags)" : names(flags)) + ": "
                + n + " ring" + (n == 1 ? "" : "s")));
        usage.failed().forEach((what, n) -> out.add("failed requests " + what + ": " + n));
        return out;
    }

    private static String registerName(int code) {
        for (RegisterOp op : RegisterOp.values()) {
            if (op.abi() == code) {
                return op.kernelName();
            }
        }
        return "opcode " + code;
    }

    private static int ceilPow2(int n) {
        return n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
    }

    private static String names(Set<? extends KernelConstant> s) {
        return list(s.stream().map(KernelConstant::kernelName).toList());
    }

    private static String list(List<String> items) {
        return items.stream().map(LearnedPolicy::quote).collect(Collectors.joining(", ", "[", "]"));
    }

    private static String quote(String s) {
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
    }
}
