package org.ringwarden.linux.uring;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.MemorySegment;

/**
 * Reading one {@code struct io_uring_cqe} in place: {@link Ring#cqes()} and the offset
 * {@link Ring#peekCqe()} returned. Most callers use {@link Ring#reap} instead.
 */
public final class Cqe {
    /** {@code IORING_CQE_F_BUFFER}: the upper 16 bits of flags carry the selected buffer id. */
    public static final int F_BUFFER = 1;
    /** {@code IORING_CQE_F_MORE}: a multishot request will post more completions. */
    public static final int F_MORE = 1 << 1;
    /** {@code IORING_CQE_F_SOCK_NONEMPTY}. */
    public static final int F_SOCK_NONEMPTY = 1 << 2;
    /** {@code IORING_CQE_F_NOTIF}: a zero-copy send's notification. */
    public static final int F_NOTIF = 1 << 3;

    private Cqe() {
    }

    public static long userData(MemorySegment cqes, long cqe) {
        return cqes.get(JAVA_LONG_UNALIGNED, cqe + IoUringLayout.CQE_USER_DATA);
    }

    /** The result: what the operation's system call would return, or {@code -errno}. */
    public static int res(MemorySegment cqes, long cqe) {
        return cqes.get(JAVA_INT_UNALIGNED, cqe + IoUringLayout.CQE_RES);
    }

    public static int flags(MemorySegment cqes, long cqe) {
        return cqes.get(JAVA_INT_UNALIGNED, cqe + IoUringLayout.CQE_FLAGS);
    }
}
