package org.ringwarden.daemon.transparent;

import static java.util.Objects.requireNonNull;

import java.util.EnumSet;
import java.util.Set;
import java.util.StringJoiner;

import org.ringwarden.linux.Errno;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.policy.FlagDisposition;
import org.ringwarden.policy.TransparentSpec;

/**
 * What the daemon makes of an unmodified program's {@code io_uring_setup} under a transparent
 * policy: the ring's flags and sizes, or the errno the call fails with. Pure: no kernel call.
 *
 * <p>Rules beyond the policy's dispositions (the policy cannot loosen them):
 * <ul>
 * <li>{@code SQPOLL}/{@code SQ_AFF} are never honoured (an SQ thread would run the program's
 *     SQEs with the daemon's credentials, security.md): a policy's {@code HONOUR} counts as {@code REFUSE}.</li>
 * <li>{@code NO_MMAP} and {@code REGISTERED_FD_ONLY} cannot be served (the ring memory would be in
 *     the daemon's address space; the fd in the daemon's table): {@code EINVAL}.</li>
 * <li>{@code ATTACH_WQ} names a ring by the program's fd number, meaningless in the daemon: dropped.</li>
 * <li>{@code SINGLE_ISSUER}/{@code DEFER_TASKRUN} only with an honoured {@code R_DISABLED}: a ring the
 *     daemon enabled would have the daemon as its issuer, and the program's every
 *     {@code io_uring_enter} would fail {@code EEXIST}. Without it they are dropped.</li>
 * <li>{@code R_DISABLED} asked and honoured: the ring is handed over disabled, restrictions
 *     registered; the program's own {@code ENABLE_RINGS} makes it the issuer.</li>
 * </ul>
 *
 * @param errno           0, or the errno the program's call fails with
 * @param reason          why it is refused, or what was dropped (for the audit)
 * @param sqEntries       the SQ size to ask the kernel for (clamped to the policy's maximum)
 * @param cqEntries       the CQ size to ask for with {@code CQSIZE}, or 0 for the kernel's default
 * @param creationFlags   the flags the daemon's {@code io_uring_setup} uses (always with {@code R_DISABLED})
 * @param givenFlags      the flags the program is told its ring has
 * @param programEnables  true if the ring is handed over disabled (the program asked for {@code R_DISABLED})
 * @param dropped         the flags asked for but not given
 */
public record TransparentPlan(int errno, String reason, int sqEntries, int cqEntries, long creationFlags,
                              long givenFlags, boolean programEnables, Set<SetupFlag> dropped) {
    private static final long KNOWN = knownMask();

    public TransparentPlan {
        requireNonNull(reason, "reason");
        dropped = Set.copyOf(dropped);
    }

    /** True if the program gets a ring. */
    public boolean granted() {
        return errno == 0;
    }

    /** Decides {@code entries} and {@code flags} (and {@code cqEntries} with {@code CQSIZE}) under {@code spec}. */
    public static TransparentPlan decide(TransparentSpec spec, String policy, long entries, long flags, long cqEntries) {
        requireNonNull(spec, "spec");
        if (!spec.enabled()) {
            return refuse(Errno.EPERM, "policy " + policy + " is not for transparent use");
        }
        if ((flags & ~KNOWN) != 0) {
            return refuse(Errno.EINVAL, "unknown setup flags 0x" + Long.toHexString(flags & ~KNOWN));
        }
        if (entries == 0) {
            return refuse(Errno.EINVAL, "entries 0");
        }
        EnumSet<SetupFlag> asked = flagsOf(flags);
        EnumSet<SetupFlag> kept = EnumSet.noneOf(SetupFlag.class);
        EnumSet<SetupFlag> dropped = EnumSet.noneOf(SetupFlag.class);
        for (SetupFlag f : asked) {
            FlagDisposition d = spec.disposition(f);
            switch (f) {
                case NO_MMAP, REGISTERED_FD_ONLY -> {
                    return refuse(Errno.EINVAL, f.cName() + " cannot be served by a brokered ring");
                }
                case SQPOLL, SQ_AFF -> d = d == FlagDisposition.HONOUR ? FlagDisposition.REFUSE : d;
                case ATTACH_WQ -> d = d == FlagDisposition.REFUSE ? d : FlagDisposition.DROP;
                default -> {
                }
            }
            switch (d) {
                case REFUSE -> {
                    return refuse(Errno.EPERM, "policy " + policy + " refuses " + f.cName());
                }
                case DROP -> dropped.add(f);
                case HONOUR -> kept.add(f);
            }
        }
        boolean programEnables = kept.contains(SetupFlag.R_DISABLED);
        if (!programEnables) {
            for (SetupFlag f : EnumSet.of(SetupFlag.SINGLE_ISSUER, SetupFlag.DEFER_TASKRUN)) {
                if (kept.remove(f)) {
                    dropped.add(f);
                }
            }
        }
        if (kept.contains(SetupFlag.DEFER_TASKRUN) && !kept.contains(SetupFlag.SINGLE_ISSUER)) {
            kept.remove(SetupFlag.DEFER_TASKRUN);
            dropped.add(SetupFlag.DEFER_TASKRUN);
        }
        int maxSq = Math.max(1, spec.maxSqEntries());
        int maxCq = spec.maxCqEntries() > 0 ? spec.maxCqEntries() : 2 * maxSq;
        int sq = (int) Math.min(entries, maxSq);
        int cq = 0;
        if (kept.contains(SetupFlag.CQSIZE)) {
            if (cqEntries == 0) {
                return refuse(Errno.EINVAL, "CQSIZE with cq_entries 0");
            }
            cq = (int) Math.min(cqEntries, maxCq);
        } else if (2L * roundUpPow2(sq) > maxCq) {
            // The kernel's default CQ (twice the SQ) would exceed the policy's bound: ask for the bound.
            kept.add(SetupFlag.CQSIZE);
            cq = Math.max(maxCq, roundUpPow2(sq));
        }
        long given = mask(kept);
        long creation = given | SetupFlag.R_DISABLED.abi();
        StringJoiner why = new StringJoiner(", ");
        if (sq != entries) {
            why.add("entries " + entries + " clamped to " + sq);
        }
        if (kept.contains(SetupFlag.CQSIZE) && cq != cqEntries) {
            why.add("cq entries " + cqEntries + " set to " + cq);
        }
        if (!dropped.isEmpty()) {
            why.add("dropped " + names(mask(dropped)));
        }
        return new TransparentPlan(0, why.toString(), sq, cq, creation, given, programEnables, dropped);
    }

    private static TransparentPlan refuse(Errno errno, String why) {
        return new TransparentPlan(errno.number(), why, 0, 0, 0, 0, false, Set.of());
    }

    private static EnumSet<SetupFlag> flagsOf(long mask) {
        EnumSet<SetupFlag> s = EnumSet.noneOf(SetupFlag.class);
        for (SetupFlag f : SetupFlag.values()) {
            if ((mask & f.abi()) != 0) {
                s.add(f);
            }
        }
        return s;
    }

    private static long mask(Set<SetupFlag> flags) {
        long m = 0;
        for (SetupFlag f : flags) {
            m |= f.abi();
        }
        return m;
    }

    private static long knownMask() {
        long m = 0;
        for (SetupFlag f : SetupFlag.values()) {
            m |= f.abi();
        }
        return m;
    }

    private static int roundUpPow2(int n) {
        return n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
    }

    /** {@code SQPOLL|CQSIZE} for a mask; {@code 0} for none; unknown bits in hex. */
    public static String names(long mask) {
        if (mask == 0) {
            return "0";
        }
        StringJoiner j = new StringJoiner("|");
        for (SetupFlag f : SetupFlag.values()) {
            if ((mask & f.abi()) != 0) {
                j.add(f.name());
            }
        }
        if ((mask & ~KNOWN) != 0) {
            j.add("0x" + Long.toHexString(mask & ~KNOWN));
        }
        return j.toString();
    }
}
