package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

import org.ringwarden.linux.uring.KernelConstant;
import org.ringwarden.linux.uring.SetupFlag;

/**
 * The ring a ticketed grant is made of. The daemon creates it with {@link #creationFlags()}
 * (the policy's flags plus {@code R_DISABLED} and {@code CQSIZE}) and enables it only when
 * {@link #enabler()} is {@link Enabler#DAEMON}.
 *
 * @param sqEntries  SQ entries: a power of two in 1..32768
 * @param cqEntries  CQ entries: a power of two, at least {@code sqEntries}, at most 65536
 * @param setupFlags the policy's setup flags (never {@code SQPOLL}, {@code R_DISABLED} or {@code CQSIZE})
 * @param enabler    who enables the ring
 */
public record RingSpec(int sqEntries, int cqEntries, Set<SetupFlag> setupFlags, Enabler enabler) {
    public RingSpec {
        requireNonNull(enabler, "enabler");
        EnumSet<SetupFlag> copy = EnumSet.noneOf(SetupFlag.class);
        copy.addAll(setupFlags);
        setupFlags = Collections.unmodifiableSet(copy);
    }

    /** The OR of {@link #setupFlags()}: what the grant's {@code setupFlags} reports besides CQSIZE and R_DISABLED. */
    public long setupMask() {
        return KernelConstant.mask(setupFlags);
    }

    /** The flags to pass to {@code io_uring_setup}: the policy's, plus {@code R_DISABLED} and {@code CQSIZE}. */
    public long creationFlags() {
        return setupMask() | SetupFlag.R_DISABLED.abi() | SetupFlag.CQSIZE.abi();
    }
}
