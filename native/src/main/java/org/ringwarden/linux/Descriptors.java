package org.ringwarden.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Opening, duplicating and closing file descriptors. */
public final class Descriptors {
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NOCTTY = 0400;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_DSYNC = 010000;
    public static final int O_DIRECT = 040000;
    public static final int O_LARGEFILE = 0100000;
    public static final int O_DIRECTORY = 0200000;
    public static final int O_NOFOLLOW = 0400000;
    public static final int O_NOATIME = 01000000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_PATH = 010000000;
    public static final int AT_FDCWD = -100;

    /** {@code RESOLVE_*} flags of {@code openat2(2)}. */
    public static final long RESOLVE_NO_XDEV = 0x01;
    public static final long RESOLVE_NO_MAGICLINKS = 0x02;
    public static final long RESOLVE_NO_SYMLINKS = 0x04;
    public static final long RESOLVE_BENEATH = 0x08;
    public static final long RESOLVE_IN_ROOT = 0x10;

    public static final int F_GETFD = 1;
    public static final int F_SETFD = 2;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int FD_CLOEXEC = 1;

    private Descriptors() {
    }

    /** {@code openat(AT_FDCWD, path, flags, mode)}; returns the new descriptor. */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            return (int) Syscall.checked("openat(" + path + ")", Syscall.SYS_OPENAT, AT_FDCWD, p.address(), flags, mode);
        }
    }

    /**
     * {@code openat2(AT_FDCWD, path, {flags, mode, resolve})}: with {@link #RESOLVE_NO_SYMLINKS}
     * a symlink anywhere on the path fails with {@code ELOOP}, so a path race cannot widen what
     * a policy named.
     */
    public static int openat2(String path, long flags, long mode, long resolve) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            MemorySegment how = arena.allocate(24, 8); // struct open_how { u64 flags, mode, resolve; }
            how.set(ValueLayout.JAVA_LONG, 0, flags);
            how.set(ValueLayout.JAVA_LONG, 8, mode);
            how.set(ValueLayout.JAVA_LONG, 16, resolve);
            return (int) Syscall.checked("openat2(" + path + ")", Syscall.SYS_OPENAT2, AT_FDCWD, p.address(),
                    how.address(), 24);
        }
    }

    /** Closes {@code fd}. {@code EINTR} from close is not retried: the descriptor is gone either way. */
    public static void close(int fd) {
        long r = Syscall.rawOnThisThread(Syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0);
        if (r < 0 && r != -Errno.EINTR.number()) {
            throw new KernelException("close(" + fd + ")", (int) -r);
        }
    }

    /** Closes {@code fd} if it is not negative, ignoring any failure: for cleanup paths. */
    public static void closeQuietly(int fd) {
        if (fd >= 0) {
            Syscall.rawOnThisThread(Syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0);
        }
    }

    /** {@code fcntl(fd, F_DUPFD_CLOEXEC, 0)}. */
    public static int dupCloexec(int fd) {
        return (int) Syscall.checked("fcntl(F_DUPFD_CLOEXEC)", Syscall.SYS_FCNTL, fd, 1030, 0);
    }

    /** {@code fcntl(fd, cmd, arg)}. */
    public static long fcntl(int fd, int cmd, long arg) {
        return Syscall.checked("fcntl(" + cmd + ")", Syscall.SYS_FCNTL, fd, cmd, arg);
    }

    /**
     * {@code fcntl(F_GETFL)}, then {@code fcntl(F_SETFL)} with {@link #O_NONBLOCK} set or cleared
     * (nothing when it already is as asked). Other status flags are kept.
     */
    public static void setNonBlocking(int fd, boolean on) {
        long flags = Syscall.checked("fcntl(F_GETFL)", Syscall.SYS_FCNTL, fd, F_GETFL, 0);
        long wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        if (wanted != flags) {
            Syscall.checked("fcntl(F_SETFL)", Syscall.SYS_FCNTL, fd, F_SETFL, wanted);
        }
    }

    /** {@code fstat(fd)}: works on any descriptor, {@link #O_PATH} ones included. */
    public static FileStatus fstat(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(144, 8); // struct stat, x86_64
            Syscall.checked("fstat", Syscall.SYS_FSTAT, fd, st.address());
            return new FileStatus(st.get(ValueLayout.JAVA_LONG, 0), st.get(ValueLayout.JAVA_LONG, 8),
                    st.get(ValueLayout.JAVA_INT, 24), st.get(ValueLayout.JAVA_INT, 28), st.get(ValueLayout.JAVA_INT, 32),
                    st.get(ValueLayout.JAVA_LONG, 48));
        }
    }

    /** True if {@code fd} is open in this process. */
    public static boolean isOpen(int fd) {
        return Syscall.rawOnThisThread(Syscall.SYS_FCNTL, fd, F_GETFD, 0, 0, 0, 0) >= 0;
    }

    /** The number of descriptors open in this process, from {@code /proc/self/fd}. */
    public static int countOpen() {
        String[] names = new java.io.File("/proc/self/fd").list();
        return names == null ? -1 : names.length - 1; // the directory's own descriptor
    }
}
