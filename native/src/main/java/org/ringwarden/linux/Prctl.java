package org.ringwarden.linux;

/**
 * The {@code prctl(2)} options ringwarden uses. All of them act on the calling thread (task):
 * no-new-privs and dumpability are per task, inherited by threads and children created
 * afterwards.
 */
public final class Prctl {
    public static final int PR_SET_PDEATHSIG = 1;
    public static final int PR_GET_DUMPABLE = 3;
    public static final int PR_SET_DUMPABLE = 4;
    public static final int PR_SET_NO_NEW_PRIVS = 38;
    public static final int PR_GET_NO_NEW_PRIVS = 39;

    private Prctl() {
    }

    /**
     * {@code prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)}: from now on this thread (and what it
     * creates or execs) can never gain privileges through execve (setuid bits, file
     * capabilities). Irreversible. An unprivileged task needs it before it may install a
     * seccomp filter.
     */
    public static void setNoNewPrivs() {
        Syscall.checked("prctl(PR_SET_NO_NEW_PRIVS)", Syscall.SYS_PRCTL, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
    }

    /** {@code prctl(PR_GET_NO_NEW_PRIVS)} of the calling thread. */
    public static boolean noNewPrivs() {
        return Syscall.checked("prctl(PR_GET_NO_NEW_PRIVS)", Syscall.SYS_PRCTL, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0, 0) == 1;
    }

    /**
     * {@code prctl(PR_SET_DUMPABLE, dumpable)}. Dumpability also decides who may ptrace the
     * process, and so who may {@code process_vm_readv}/{@code pidfd_getfd} it: a non-dumpable
     * process is reachable only with {@code CAP_SYS_PTRACE}.
     */
    public static void setDumpable(boolean dumpable) {
        Syscall.checked("prctl(PR_SET_DUMPABLE)", Syscall.SYS_PRCTL, PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0, 0);
    }

    /** {@code prctl(PR_GET_DUMPABLE)}: true for {@code SUID_DUMP_USER} (1), false for 0 (and for 2, root-only dumps). */
    public static boolean isDumpable() {
        return Syscall.checked("prctl(PR_GET_DUMPABLE)", Syscall.SYS_PRCTL, PR_GET_DUMPABLE, 0, 0, 0, 0, 0) == 1;
    }

    /** {@code prctl(PR_SET_PDEATHSIG, signal)}: the calling thread gets {@code signal} when its parent thread exits. */
    public static void setParentDeathSignal(int signal) {
        Syscall.checked("prctl(PR_SET_PDEATHSIG)", Syscall.SYS_PRCTL, PR_SET_PDEATHSIG, signal, 0, 0, 0, 0);
    }
}
