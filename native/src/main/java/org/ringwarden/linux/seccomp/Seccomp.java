package org.ringwarden.linux.seccomp;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.Set;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Syscall;

/**
 * The {@code seccomp(2)} system call: installing a filter, and asking the kernel what it
 * supports (never assumed: {@link #supports}, {@link #isActionAvailable}).
 *
 * <p>A filter is permanent for every thread it is installed on, and is inherited by threads
 * and children created afterwards; it survives execve. Installing one needs
 * {@code PR_SET_NO_NEW_PRIVS} on the calling thread ({@link org.ringwarden.linux.Prctl#setNoNewPrivs})
 * unless the caller has {@code CAP_SYS_ADMIN}; this class does not set it implicitly.
 */
public final class Seccomp {
    public static final int SECCOMP_SET_MODE_STRICT = 0;
    public static final int SECCOMP_SET_MODE_FILTER = 1;
    public static final int SECCOMP_GET_ACTION_AVAIL = 2;
    public static final int SECCOMP_GET_NOTIF_SIZES = 3;

    /** Which threads a filter binds. */
    public enum Scope {
        /**
         * Only the calling thread (no TSYNC). Other threads of the process stay unfiltered and
         * can still call what the filter traps: right for a test inside a JVM, wrong for a
         * client that wants every {@code io_uring_setup} of its process delivered.
         */
        CALLING_THREAD,
        /**
         * Every thread of the process ({@code TSYNC | TSYNC_ESRCH}): what a client process
         * uses. Fails with {@code ESRCH} if some thread cannot be synchronised (it has a
         * filter that is not an ancestor of this one).
         */
        ALL_THREADS
    }

    private static volatile @Nullable SeccompNotifSizes notifSizes;
    private static volatile @Nullable Boolean waitKillableRecv;

    private Seccomp() {
    }

    /**
     * {@code seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)} as it is: returns what the kernel
     * returns (0, or the listener fd with {@code NEW_LISTENER}). Prefer {@link #installListener}.
     */
    public static long setModeFilter(SeccompFilter filter, Set<SeccompFilterFlag> flags) {
        requireNonNull(filter, "filter");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fprog = filter.toSockFprog(arena);
            return Syscall.checked("seccomp(SET_MODE_FILTER, " + flags + ")", Syscall.SYS_SECCOMP,
                    SECCOMP_SET_MODE_FILTER, SeccompFilterFlag.mask(flags), fprog.address());
        }
    }

    /**
     * Installs {@code filter} with {@code NEW_LISTENER} on {@code scope}, adding
     * {@code WAIT_KILLABLE_RECV} where the kernel has it (5.19+; see
     * {@link #supportsWaitKillableRecv}), and returns the listener (its fd is close-on-exec).
     *
     * @throws KernelException {@code EACCES} without no-new-privs, {@code ESRCH} if a thread
     *                         cannot be synchronised, {@code EBUSY} if a filter of this
     *                         thread already has a listener
     */
    public static SeccompListener installListener(SeccompFilter filter, Scope scope) {
        requireNonNull(scope, "scope");
        EnumSet<SeccompFilterFlag> flags = EnumSet.of(SeccompFilterFlag.NEW_LISTENER);
        if (scope == Scope.ALL_THREADS) {
            flags.add(SeccompFilterFlag.TSYNC);
            flags.add(SeccompFilterFlag.TSYNC_ESRCH);
        }
        if (supportsWaitKillableRecv()) {
            flags.add(SeccompFilterFlag.WAIT_KILLABLE_RECV);
        }
        return SeccompListener.adopt((int) setModeFilter(filter, flags));
    }

    /**
     * True if the kernel accepts {@code flags} for {@code SECCOMP_SET_MODE_FILTER}, found
     * without installing anything: the kernel validates the flags before it reads the
     * program, so a null program gives {@code EFAULT} for valid flags and {@code EINVAL} for
     * unknown ones (or a combination it refuses, e.g. TSYNC with NEW_LISTENER but without
     * TSYNC_ESRCH).
     */
    public static boolean supports(Set<SeccompFilterFlag> flags) {
        long r = Syscall.rawOnThisThread(Syscall.SYS_SECCOMP, SECCOMP_SET_MODE_FILTER,
                SeccompFilterFlag.mask(flags), 0, 0, 0, 0);
        if (r == -Errno.EFAULT.number()) {
            return true;
        }
        if (r == -Errno.EINVAL.number()) {
            return false;
        }
        throw new KernelException("seccomp(SET_MODE_FILTER, " + flags + ", NULL) probe", r < 0 ? (int) -r : 0);
    }

    /** True if the kernel has {@code SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV} (5.19+); probed once. */
    public static boolean supportsWaitKillableRecv() {
        Boolean b = waitKillableRecv;
        if (b == null) {
            b = supports(EnumSet.of(SeccompFilterFlag.NEW_LISTENER, SeccompFilterFlag.WAIT_KILLABLE_RECV));
            waitKillableRecv = b;
        }
        return b;
    }

    /** {@code seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action)}: true if the kernel knows the action. */
    public static boolean isActionAvailable(SeccompAction action) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(ValueLayout.JAVA_INT);
            a.set(ValueLayout.JAVA_INT, 0, action.action());
            long r = Syscall.rawOnThisThread(Syscall.SYS_SECCOMP, SECCOMP_GET_ACTION_AVAIL, 0, a.address(), 0, 0, 0);
            if (r == 0) {
                return true;
            }
            if (r == -Errno.EOPNOTSUPP.number()) {
                return false;
            }
            throw new KernelException("seccomp(GET_ACTION_AVAIL, " + action + ")", (int) -r);
        }
    }

    /** {@code seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes)}; asked once. */
    public static SeccompNotifSizes notifSizes() {
        SeccompNotifSizes s = notifSizes;
        if (s == null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment sizes = arena.allocate(6, 2); // struct seccomp_notif_sizes { __u16 x3; }
                Syscall.checked("seccomp(GET_NOTIF_SIZES)", Syscall.SYS_SECCOMP, SECCOMP_GET_NOTIF_SIZES, 0, sizes.address());
                s = new SeccompNotifSizes(Short.toUnsignedInt(sizes.get(ValueLayout.JAVA_SHORT, 0)),
                        Short.toUnsignedInt(sizes.get(ValueLayout.JAVA_SHORT, 2)),
                        Short.toUnsignedInt(sizes.get(ValueLayout.JAVA_SHORT, 4)));
            }
            notifSizes = s;
        }
        return s;
    }
}
