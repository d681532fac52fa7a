package org.ringwarden.linux.seccomp;

import java.util.Set;

/** Flags of {@code seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)} ({@code SECCOMP_FILTER_FLAG_*}). */
public enum SeccompFilterFlag {
    /** Install on every thread of the process, not only the caller (3.17+). */
    TSYNC(1L << 0),
    /** Log every action but ALLOW. */
    LOG(1L << 1),
    /** Do not enable the speculative-store-bypass mitigation. */
    SPEC_ALLOW(1L << 2),
    /** Return a listener fd for {@code SECCOMP_RET_USER_NOTIF} (5.0+). */
    NEW_LISTENER(1L << 3),
    /** With TSYNC: fail with {@code ESRCH} instead of returning a thread id, so that NEW_LISTENER's fd is unambiguous (5.7+). */
    TSYNC_ESRCH(1L << 4),
    /** A notified task waits killably once its notification was received: signals no longer restart it (5.19+). */
    WAIT_KILLABLE_RECV(1L << 5);

    private final long abi;

    SeccompFilterFlag(long abi) {
        this.abi = abi;
    }

    /** The bit the kernel takes. */
    public long abi() {
        return abi;
    }

    /** The OR of the flags' bits. */
    public static long mask(Set<SeccompFilterFlag> flags) {
        long m = 0;
        for (SeccompFilterFlag f : flags) {
            m |= f.abi;
        }
        return m;
    }
}
