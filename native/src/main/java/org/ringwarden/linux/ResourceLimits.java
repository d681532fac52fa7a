package org.ringwarden.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** This process's resource limits ({@code prlimit64} on itself). */
public final class ResourceLimits {
    private static final long SYS_PRLIMIT64 = 302;
    private static final int RLIMIT_MEMLOCK = 8;

    private ResourceLimits() {
    }

    /** {soft, hard} {@code RLIMIT_MEMLOCK} in bytes ({@code RLIM_INFINITY} is -1, i.e. above any figure as unsigned). */
    public static long[] memlock() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment old = a.allocate(16);
            Syscall.checked("prlimit64(RLIMIT_MEMLOCK)", SYS_PRLIMIT64, 0, RLIMIT_MEMLOCK, 0, old.address());
            long soft = old.get(ValueLayout.JAVA_LONG, 0);
            long hard = old.get(ValueLayout.JAVA_LONG, 8);
            // RLIM_INFINITY (all ones) compares as the largest figure.
            return new long[] {soft < 0 ? Long.MAX_VALUE : soft, hard < 0 ? Long.MAX_VALUE : hard};
        }
    }

    /** Sets {@code RLIMIT_MEMLOCK}; raising the hard limit needs {@code CAP_SYS_RESOURCE}. */
    public static void setMemlock(long soft, long hard) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment lim = a.allocate(16);
            lim.set(ValueLayout.JAVA_LONG, 0, soft == Long.MAX_VALUE ? -1 : soft);
            lim.set(ValueLayout.JAVA_LONG, 8, hard == Long.MAX_VALUE ? -1 : hard);
            Syscall.checked("prlimit64(RLIMIT_MEMLOCK)", SYS_PRLIMIT64, 0, RLIMIT_MEMLOCK, lim.address(), 0);
        }
    }
}
