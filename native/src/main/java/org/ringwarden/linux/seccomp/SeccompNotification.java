package org.ringwarden.linux.seccomp;

import java.util.Arrays;

/**
 * One trapped system call, as {@code SECCOMP_IOCTL_NOTIF_RECV} reported it.
 *
 * @param id                 the cookie to answer with; valid until answered or until the caller dies
 *                           or is interrupted ({@link SeccompListener#isValid})
 * @param pid                the calling <em>thread</em>'s id (TID) in the listener's pid namespace
 *                           (0 if the caller is not visible there)
 * @param nr                 the system call number as the caller issued it (x32 calls carry
 *                           {@link SeccompFilter#X32_SYSCALL_BIT})
 * @param arch               the {@code AUDIT_ARCH_*} of the call
 * @param instructionPointer the caller's instruction pointer at the call
 * @param args               the six argument registers, whatever the call takes (six longs)
 */
public record SeccompNotification(long id, int pid, int nr, int arch, long instructionPointer, long[] args) {
    public SeccompNotification {
        if (args.length != 6) {
            throw new IllegalArgumentException("a system call has six argument registers, not " + args.length);
        }
        args = args.clone();
    }

    /** Argument register {@code i} (0..5). */
    public long arg(int i) {
        return args[i];
    }

    /** A copy of the six argument registers. */
    @Override
    public long[] args() {
        return args.clone();
    }

    /** True if the call came through the x32 ABI. */
    public boolean isX32() {
        return arch == SeccompFilter.AUDIT_ARCH_X86_64 && (nr & SeccompFilter.X32_SYSCALL_BIT) != 0;
    }

    /** True for an x86_64 call (not x32, not i386) with number {@code syscall}. */
    public boolean isX86_64(long syscall) {
        return arch == SeccompFilter.AUDIT_ARCH_X86_64 && nr == syscall;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SeccompNotification n && n.id == id && n.pid == pid && n.nr == nr && n.arch == arch
                && n.instructionPointer == instructionPointer && Arrays.equals(n.args, args);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(id) * 31 + Arrays.hashCode(args);
    }

    @Override
    public String toString() {
        return String.format("SeccompNotification[id=%d, pid=%d, nr=%d%s, arch=0x%08x, ip=0x%x, args=%s]",
                id, pid, nr & ~SeccompFilter.X32_SYSCALL_BIT, isX32() ? " (x32)" : "", arch, instructionPointer,
                Arrays.toString(args));
    }
}
