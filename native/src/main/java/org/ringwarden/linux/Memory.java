package org.ringwarden.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Shared mappings and sealed memfds: what registered buffers and ring memory are made of. */
public final class Memory {
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_POPULATE = 0x8000;

    public static final int MFD_CLOEXEC = 0x0001;
    public static final int MFD_ALLOW_SEALING = 0x0002;

    public static final int F_ADD_SEALS = 1033;
    public static final int F_GET_SEALS = 1034;
    public static final int F_SEAL_SEAL = 0x0001;
    public static final int F_SEAL_SHRINK = 0x0002;
    public static final int F_SEAL_GROW = 0x0004;
    public static final int F_SEAL_WRITE = 0x0008;

    private Memory() {
    }

    /**
     * {@code mmap(NULL, length, prot, flags, fd, offset)}, returned as a segment of
     * {@code length} bytes that is not freed by any arena: the caller must {@link #unmap} it.
     */
    public static MemorySegment map(long length, int prot, int flags, int fd, long offset) {
        long addr = Syscall.checked("mmap", Syscall.SYS_MMAP, 0, length, prot, flags, fd, offset);
        return MemorySegment.ofAddress(addr).reinterpret(length);
    }

    /** {@code mmap(MAP_SHARED, PROT_READ|PROT_WRITE)} of {@code fd} at {@code offset}. */
    public static MemorySegment mapShared(int fd, long offset, long length) {
        return map(length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
    }

    /**
     * {@code mmap(MAP_SHARED, PROT_READ|PROT_WRITE)} of {@code fd} at {@code offset}, owned by
     * {@code arena}, which runs {@code cleanup} (normally an {@link #unmap}) when it frees the
     * segment. One restricted call ({@code reinterpret}, which walks the stack to check native
     * access) instead of two for a {@link #mapShared} segment handed to an arena afterwards.
     */
    public static MemorySegment mapShared(int fd, long offset, long length, Arena arena,
                                          java.util.function.Consumer<MemorySegment> cleanup) {
        MemorySegment capture = Syscall.threadCaptureState();
        long addr = Syscall.checked(capture, "mmap", Syscall.SYS_MMAP, 0, length, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_POPULATE, fd, offset);
        try {
            return MemorySegment.ofAddress(addr).reinterpret(length, arena, cleanup);
        } catch (RuntimeException | Error e) {
            Syscall.checked(capture, "munmap", Syscall.SYS_MUNMAP, addr, length, 0, 0, 0, 0);
            throw e;
        }
    }

    /** {@code munmap} of exactly the range {@code segment} covers. */
    public static void unmap(MemorySegment segment) {
        Syscall.checked("munmap", Syscall.SYS_MUNMAP, segment.address(), segment.byteSize());
    }

    /** {@code memfd_create(name, flags)}. */
    public static int memfdCreate(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) Syscall.checked("memfd_create(" + name + ")", Syscall.SYS_MEMFD_CREATE,
                    arena.allocateFrom(name).address(), flags);
        }
    }

    /** {@code ftruncate(fd, length)}. */
    public static void truncate(int fd, long length) {
        Syscall.checked("ftruncate", Syscall.SYS_FTRUNCATE, fd, length);
    }

    /** {@code fcntl(fd, F_ADD_SEALS, seals)}. */
    public static void addSeals(int fd, int seals) {
        Syscall.checked("fcntl(F_ADD_SEALS)", Syscall.SYS_FCNTL, fd, F_ADD_SEALS, seals);
    }

    /** {@code fcntl(fd, F_GET_SEALS)}. */
    public static int seals(int fd) {
        return (int) Syscall.checked("fcntl(F_GET_SEALS)", Syscall.SYS_FCNTL, fd, F_GET_SEALS);
    }

    /** The page size the kernel maps with. */
    public static long pageSize() {
        return 4096;
    }
}
