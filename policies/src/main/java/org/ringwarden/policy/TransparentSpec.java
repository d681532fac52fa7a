package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.uring.SetupFlag;

/**
 * How a policy serves transparent use: rings made for an unmodified program's own
 * {@code io_uring_setup} (protocol.md). The daemon enables transparent rings, unless the program
 * asked for {@code R_DISABLED} and the policy honours it (docs/transparent.md).
 *
 * @param enabled      whether the policy may be attached for transparent use at all
 * @param dispositions what happens to each setup flag the program requests; every flag has one
 * @param maxSqEntries the largest SQ a program gets (a larger request is clamped to it)
 * @param maxCqEntries the largest CQ a program gets
 */
public record TransparentSpec(boolean enabled, Map<SetupFlag, FlagDisposition> dispositions,
                              int maxSqEntries, int maxCqEntries) {
    public TransparentSpec {
        EnumMap<SetupFlag, FlagDisposition> copy = new EnumMap<>(SetupFlag.class);
        for (SetupFlag f : SetupFlag.values()) {
            copy.put(f, FlagDisposition.REFUSE);
        }
        copy.putAll(requireNonNull(dispositions, "dispositions"));
        dispositions = Collections.unmodifiableMap(copy);
    }

    /** Transparent use switched off: every flag refused, no entries. */
    public static TransparentSpec disabled() {
        return new TransparentSpec(false, Map.of(), 0, 0);
    }

    public FlagDisposition disposition(SetupFlag flag) {
        return dispositions.getOrDefault(flag, FlagDisposition.REFUSE); // never absent: every flag has one
    }

    /** The OR of the flags honoured. */
    public long honouredMask() {
        long m = 0;
        for (var e : dispositions.entrySet()) {
            if (e.getValue() == FlagDisposition.HONOUR) {
                m |= e.getKey().abi();
            }
        }
        return m;
    }
}
