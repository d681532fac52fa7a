package org.ringwarden.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Another process's memory through {@code /proc/TID/mem}, opened with the file-system ids of
 * that process's own credentials ({@link ThreadCredentials#setFsIds}), so that the daemon
 * reaches a container process's {@code io_uring_params} without {@code CAP_SYS_PTRACE}
 * (docs/containers.md). The kernel checks ptrace access once, at open
 * ({@code PTRACE_MODE_ATTACH_FSCREDS}: the fs uid and gid equal the target's real, effective
 * and saved ids, and the target is dumpable); the open file then reads and writes that
 * process's address space, and only it, even if the pid is reused later.
 *
 * <p>Why not {@code process_vm_readv} under the caller's uid: it checks the <em>real</em>
 * uid, and a thread whose real uid is a container's could be sent any signal by that
 * container's processes (kill(2) permission), including a SIGKILL for the whole daemon. The
 * fs ids change nothing about signals.
 */
public final class ProcessMemoryFile implements AutoCloseable {
    private static final long SYS_READLINKAT = 267;

    private final int fd;
    private final int tid;

    private ProcessMemoryFile(int fd, int tid) {
        this.fd = fd;
        this.tid = tid;
    }

    /**
     * Opens {@code /proc/TID/mem} read-write with the calling thread's file-system ids set to
     * {@code uid}/{@code gid} for the one {@code openat}, then set back.
     *
     * @throws KernelException {@code EPERM} without {@code CAP_SETUID}/{@code CAP_SETGID}, or
     *                         {@code EACCES} if the kernel refuses the access (ids differ, the
     *                         process is not dumpable, Yama); {@code ENOENT} if it is gone
     */
    public static ProcessMemoryFile open(int tid, int uid, int gid) {
        if (tid <= 0) {
            throw new IllegalArgumentException("tid must be positive: " + tid);
        }
        String path = "/proc/" + tid + "/mem";
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            long r;
            long old = ThreadCredentials.setFsIds(uid, gid);
            try {
                r = Syscall.rawOnThisThread(Syscall.SYS_OPENAT, Descriptors.AT_FDCWD, p.address(),
                        Descriptors.O_RDWR | Descriptors.O_CLOEXEC, 0, 0, 0);
            } finally {
                ThreadCredentials.restoreFsIds(old);
            }
            if (r < 0) {
                throw new KernelException("openat(" + path + ") as fsuid " + Integer.toUnsignedString(uid)
                        + " fsgid " + Integer.toUnsignedString(gid), (int) -r);
            }
            return new ProcessMemoryFile((int) r, tid);
        }
    }

    /**
     * {@code readlink /proc/TID/exe} with the calling thread's file-system ids set to
     * {@code uid}/{@code gid} for the one call ({@code PTRACE_MODE_READ_FSCREDS}, like the open).
     *
     * @throws KernelException {@code EACCES}, {@code ENOENT} as the kernel says
     */
    public static String exe(int tid, int uid, int gid) {
        String path = "/proc/" + tid + "/exe";
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            MemorySegment buf = arena.allocate(4096);
            long r;
            long old = ThreadCredentials.setFsIds(uid, gid);
            try {
                r = Syscall.rawOnThisThread(SYS_READLINKAT, Descriptors.AT_FDCWD, p.address(), buf.address(), 4096, 0, 0);
            } finally {
                ThreadCredentials.restoreFsIds(old);
            }
            if (r < 0) {
                throw new KernelException("readlink(" + path + ")", (int) -r);
            }
            return new String(buf.asSlice(0, r).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /**
     * Copies {@code local.byteSize()} bytes from {@code address} into {@code local}.
     *
     * @return the bytes copied (fewer, or an {@code EIO} exception, at an unmapped page)
     */
    public long read(long address, MemorySegment local) {
        return transfer("pread(/proc/" + tid + "/mem)", Syscall.SYS_PREAD64, address, local);
    }

    /** Copies {@code local} to {@code address}; returns the bytes copied. */
    public long write(long address, MemorySegment local) {
        return transfer("pwrite(/proc/" + tid + "/mem)", Syscall.SYS_PWRITE64, address, local);
    }

    private long transfer(String call, long nr, long address, MemorySegment local) {
        if (address < 0) {
            // Offsets are signed: the kernel would refuse a kernel-half address with EINVAL anyway.
            throw new KernelException(call + " at 0x" + Long.toHexString(address), Errno.EFAULT.number());
        }
        long r = Syscall.rawRetrying(Syscall.threadCaptureState(), nr, fd, local.address(), local.byteSize(), address, 0, 0);
        if (r < 0) {
            throw new KernelException(call + " at 0x" + Long.toHexString(address), (int) -r);
        }
        return r;
    }

    @Override
    public void close() {
        Descriptors.closeQuietly(fd);
    }
}
