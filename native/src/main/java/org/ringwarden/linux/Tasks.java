package org.ringwarden.linux;

/**
 * Process and thread identities as the kernel sees them. Linux calls both "tasks": a thread's
 * id (TID) is a pid of its own, the process id (TGID) is the main thread's TID.
 */
public final class Tasks {
    public static final int SIGKILL = 9;
    public static final int SIGUSR1 = 10;
    public static final int SIGPIPE = 13;
    public static final int SIGTERM = 15;

    private Tasks() {
    }

    /** {@code gettid()}: the calling thread's id; differs from {@link #getpid()} on every thread but the main one. */
    public static int gettid() {
        return (int) Syscall.rawOnThisThread(Syscall.SYS_GETTID, 0, 0, 0, 0, 0, 0);
    }

    /** {@code getpid()}: the process (thread group) id. */
    public static int getpid() {
        return (int) Syscall.rawOnThisThread(Syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0);
    }

    /** {@code getuid()}. */
    public static int getuid() {
        return (int) Syscall.rawOnThisThread(Syscall.SYS_GETUID, 0, 0, 0, 0, 0, 0);
    }

    /** {@code getgid()}. */
    public static int getgid() {
        return (int) Syscall.rawOnThisThread(Syscall.SYS_GETGID, 0, 0, 0, 0, 0, 0);
    }

    /** {@code tgkill(tgid, tid, signal)}: a signal to exactly one thread. */
    public static void tgkill(int tgid, int tid, int signal) {
        Syscall.checked("tgkill(" + tgid + ", " + tid + ", " + signal + ")", Syscall.SYS_TGKILL, tgid, tid, signal);
    }
}
