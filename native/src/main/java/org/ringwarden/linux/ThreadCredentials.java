package org.ringwarden.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The calling <em>thread's</em> credentials, read and changed with the raw system calls.
 *
 * <p>Linux keeps credentials per thread; glibc's {@code setresuid} and {@code capset} wrappers
 * broadcast a change to every thread of the process, the raw calls used here do not. The
 * daemon relies on that to create one ring at a time under another real uid (the kernel
 * charges a ring's pinned memory to its creator's real uid, see docs/security.md) without the
 * rest of the JVM ever running under it.
 */
public final class ThreadCredentials {
    /** {@code CAP_SETUID}: needed to take a real uid that is not one of the thread's own. */
    public static final int CAP_SETUID = 7;
    /** {@code CAP_SETGID}: needed to take a file-system gid that is not one of the thread's own. */
    public static final int CAP_SETGID = 6;
    /** {@code CAP_SYS_PTRACE}: the daemon never has it (docs/containers.md). */
    public static final int CAP_SYS_PTRACE = 19;
    /** {@code CAP_IPC_LOCK}: switches io_uring's memlock accounting off for rings it creates. */
    public static final int CAP_IPC_LOCK = 14;
    /** {@code CAP_SYS_ADMIN}. */
    public static final int CAP_SYS_ADMIN = 21;

    private static final long SYS_GETRESUID = 118;
    private static final long SYS_SETFSUID = 122;
    private static final long SYS_SETFSGID = 123;
    private static final long SYS_CAPGET = 125;
    private static final long SYS_CAPSET = 126;
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    /** -1 as a uid_t argument: "leave this one unchanged". */
    private static final long UNCHANGED = 0xFFFF_FFFFL;

    private ThreadCredentials() {
    }

    /** The calling thread's real uid (the one a ring's memory is charged to). */
    public static int realUid() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ids = a.allocate(ValueLayout.JAVA_INT, 3);
            Syscall.checked("getresuid", SYS_GETRESUID, ids.address(), ids.address() + 4, ids.address() + 8);
            return ids.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /**
     * {@code setresuid(uid, -1, -1)} for the calling thread only: the effective and saved uids,
     * and so file access and the way back, stay as they are.
     *
     * @throws KernelException {@code EPERM} without {@code CAP_SETUID} (unless {@code uid} is
     *                         one of the thread's own uids)
     */
    public static void setRealUid(int uid) {
        Syscall.checked("setresuid(" + Integer.toUnsignedString(uid) + ", -1, -1)", Syscall.SYS_SETRESUID,
                uid & 0xFFFF_FFFFL, UNCHANGED, UNCHANGED);
    }

    /**
     * {@code setfsuid(uid)} and {@code setfsgid(gid)} for the calling thread only, and returns
     * the ids it had, for {@link #restoreFsIds}. The file-system ids decide file access and the
     * {@code PTRACE_MODE_FSCREDS} checks (opening {@code /proc/PID/mem}); a signal's permission
     * check and {@code process_vm_readv} use the real and effective ids, which stay as they are:
     * a process of {@code uid} cannot signal or trace the thread meanwhile.
     *
     * @throws KernelException {@code EPERM} if the kernel did not take them (no {@code CAP_SETUID}
     *                         or {@code CAP_SETGID}); the thread's ids are then as they were
     */
    public static long setFsIds(int uid, int gid) {
        // Both calls return the previous id and never fail: asking with an invalid id (-1)
        // reads the current one, which tells whether the change was taken.
        int oldGid = (int) Syscall.rawOnThisThread(SYS_SETFSGID, gid & 0xFFFF_FFFFL, 0, 0, 0, 0, 0);
        int oldUid = (int) Syscall.rawOnThisThread(SYS_SETFSUID, uid & 0xFFFF_FFFFL, 0, 0, 0, 0, 0);
        long old = (Integer.toUnsignedLong(oldUid) << 32) | Integer.toUnsignedLong(oldGid);
        int nowGid = (int) Syscall.rawOnThisThread(SYS_SETFSGID, UNCHANGED, 0, 0, 0, 0, 0);
        int nowUid = (int) Syscall.rawOnThisThread(SYS_SETFSUID, UNCHANGED, 0, 0, 0, 0, 0);
        if (nowGid != gid || nowUid != uid) {
            restoreFsIds(old);
            throw new KernelException("setfsuid(" + Integer.toUnsignedString(uid) + ")/setfsgid("
                    + Integer.toUnsignedString(gid) + ")", Errno.EPERM.number());
        }
        return old;
    }

    /** Puts back the file-system ids {@link #setFsIds} returned. */
    public static void restoreFsIds(long old) {
        Syscall.rawOnThisThread(SYS_SETFSUID, old >>> 32, 0, 0, 0, 0, 0);
        Syscall.rawOnThisThread(SYS_SETFSGID, old & 0xFFFF_FFFFL, 0, 0, 0, 0, 0);
    }

    /** The calling thread's effective capabilities, bit {@code n} for capability {@code n}. */
    public static long effectiveCapabilities() {
        return capabilities()[0];
    }

    /** The calling thread's permitted capabilities. */
    public static long permittedCapabilities() {
        return capabilities()[1];
    }

    /** True if capability {@code cap} is in the thread's effective set. */
    public static boolean hasEffective(int cap) {
        return (effectiveCapabilities() & (1L << cap)) != 0;
    }

    /**
     * Replaces the calling thread's effective set (permitted and inheritable unchanged). Only
     * capabilities in the permitted set can be made effective, so a capability taken out here
     * can be put back later.
     */
    public static void setEffectiveCapabilities(long effective) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment header = header(a);
            MemorySegment data = a.allocate(24);
            Syscall.checked("capget", SYS_CAPGET, header.address(), data.address());
            data.set(ValueLayout.JAVA_INT, 0, (int) effective);
            data.set(ValueLayout.JAVA_INT, 12, (int) (effective >>> 32));
            Syscall.checked("capset", SYS_CAPSET, header.address(), data.address());
        }
    }

    /** {effective, permitted} of the calling thread. */
    private static long[] capabilities() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment header = header(a);
            // Two struct __user_cap_data_struct {effective, permitted, inheritable}: bits 0-31, 32-63.
            MemorySegment data = a.allocate(24);
            Syscall.checked("capget", SYS_CAPGET, header.address(), data.address());
            long eff = Integer.toUnsignedLong(data.get(ValueLayout.JAVA_INT, 0))
                    | (Integer.toUnsignedLong(data.get(ValueLayout.JAVA_INT, 12)) << 32);
            long perm = Integer.toUnsignedLong(data.get(ValueLayout.JAVA_INT, 4))
                    | (Integer.toUnsignedLong(data.get(ValueLayout.JAVA_INT, 16)) << 32);
            return new long[] {eff, perm};
        }
    }

    private static MemorySegment header(Arena a) {
        MemorySegment header = a.allocate(8);
        header.set(ValueLayout.JAVA_INT, 0, LINUX_CAPABILITY_VERSION_3);
        header.set(ValueLayout.JAVA_INT, 4, 0); // 0: the calling thread
        return header;
    }
}
