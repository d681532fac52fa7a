package org.ringwarden.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Raw Linux system calls through {@code syscall(2)} from libc, with errno captured by the
 * linker ({@link Linker.Option#captureCallState}) so that nothing between the call and the
 * read of errno can overwrite it.
 *
 * <p>Every argument is passed as a {@code long}: pointers as {@link MemorySegment#address()},
 * ints sign-extended, exactly what the kernel's register ABI expects on x86_64. Only x86_64
 * is supported; the class refuses to load elsewhere rather than call the wrong numbers.
 *
 * <p>Two families: {@code checked*} throws {@link KernelException} on failure and retries on
 * {@code EINTR} (tearing down a ring interrupts the thread that created it, see security.md);
 * {@link #raw} returns {@code -errno} and allocates nothing, for hot paths that keep their own
 * capture segment ({@link #newCaptureState}).
 */
public final class Syscall {
    // x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    public static final long SYS_READ = 0;
    public static final long SYS_WRITE = 1;
    public static final long SYS_CLOSE = 3;
    public static final long SYS_FSTAT = 5;
    public static final long SYS_POLL = 7;
    public static final long SYS_MMAP = 9;
    public static final long SYS_MUNMAP = 11;
    public static final long SYS_IOCTL = 16;
    public static final long SYS_PREAD64 = 17;
    public static final long SYS_PWRITE64 = 18;
    public static final long SYS_DUP = 32;
    public static final long SYS_GETPID = 39;
    public static final long SYS_SOCKET = 41;
    public static final long SYS_SENDTO = 44;
    public static final long SYS_SENDMSG = 46;
    public static final long SYS_RECVMSG = 47;
    public static final long SYS_SOCKETPAIR = 53;
    public static final long SYS_GETSOCKOPT = 55;
    public static final long SYS_EXECVE = 59;
    public static final long SYS_KILL = 62;
    public static final long SYS_FCNTL = 72;
    public static final long SYS_FTRUNCATE = 77;
    public static final long SYS_GETUID = 102;
    public static final long SYS_GETGID = 104;
    public static final long SYS_SETRESUID = 117;
    public static final long SYS_SETRESGID = 119;
    public static final long SYS_PRCTL = 157;
    public static final long SYS_GETTID = 186;
    public static final long SYS_TGKILL = 234;
    public static final long SYS_OPENAT = 257;
    public static final long SYS_PROCESS_VM_READV = 310;
    public static final long SYS_PROCESS_VM_WRITEV = 311;
    public static final long SYS_SECCOMP = 317;
    public static final long SYS_MEMFD_CREATE = 319;
    public static final long SYS_PIDFD_SEND_SIGNAL = 424;
    public static final long SYS_IO_URING_SETUP = 425;
    public static final long SYS_IO_URING_ENTER = 426;
    public static final long SYS_IO_URING_REGISTER = 427;
    public static final long SYS_PIDFD_OPEN = 434;
    public static final long SYS_OPENAT2 = 437;
    public static final long SYS_PIDFD_GETFD = 438;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle SYSCALL;

    static {
        String arch = System.getProperty("os.arch");
        if (!"amd64".equals(arch) && !"x86_64".equals(arch)) {
            throw new UnsupportedOperationException(
                    "ringwarden's kernel layer knows the x86_64 system call numbers only; this JVM runs on " + arch);
        }
        FunctionDescriptor desc = FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);
        SYSCALL = LINKER.downcallHandle(LINKER.defaultLookup().find("syscall").orElseThrow(), desc,
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    }

    private static final ThreadLocal<MemorySegment> CAPTURE = ThreadLocal.withInitial(Syscall::newCaptureState);

    private Syscall() {
    }

    /** A segment to pass to {@link #raw}; one per thread that calls it (it is written by each call). */
    public static MemorySegment newCaptureState() {
        return Arena.ofAuto().allocate(CAPTURE_LAYOUT);
    }

    /**
     * A capture segment allocated in {@code arena} (for an object that already owns an arena:
     * no automatic arena, and no cleaner, of its own).
     */
    public static MemorySegment newCaptureState(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    /** The calling thread's own capture segment (the one {@link #checked} uses). */
    public static MemorySegment threadCaptureState() {
        return CAPTURE.get();
    }

    /**
     * The call itself: returns the kernel's result, or {@code -errno} on failure. Allocates
     * nothing; {@code capture} must not be shared between threads.
     */
    public static long raw(MemorySegment capture, long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        long r;
        try {
            r = (long) SYSCALL.invokeExact(capture, nr, a0, a1, a2, a3, a4, a5);
        } catch (Throwable t) {
            throw new AssertionError("syscall downcall failed", t);
        }
        return r == -1 ? -(int) ERRNO.get(capture, 0L) : r;
    }

    /** As {@link #raw}, retrying on {@code EINTR}. */
    public static long rawRetrying(MemorySegment capture, long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        long r;
        do {
            r = raw(capture, nr, a0, a1, a2, a3, a4, a5);
        } while (r == -Errno.EINTR.number());
        return r;
    }

    /** Calls, retries on {@code EINTR}, and throws {@link KernelException} naming {@code call} on failure. */
    public static long checked(String call, long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        return checked(CAPTURE.get(), call, nr, a0, a1, a2, a3, a4, a5);
    }

    /**
     * As {@link #checked(String, long, long, long, long, long, long, long)} with the caller's own
     * {@code capture} segment (see {@link #raw}) instead of this thread's: no thread-local lookup,
     * which under C1 is a native call (Reference.refersTo) per system call.
     */
    public static long checked(MemorySegment capture, String call, long nr, long a0, long a1, long a2, long a3,
                               long a4, long a5) {
        long r = rawRetrying(capture, nr, a0, a1, a2, a3, a4, a5);
        if (r < 0 && r >= -4095) {
            throw new KernelException(call, (int) -r);
        }
        return r;
    }

    public static long checked(String call, long nr, long a0, long a1, long a2, long a3) {
        return checked(call, nr, a0, a1, a2, a3, 0, 0);
    }

    public static long checked(String call, long nr, long a0, long a1, long a2) {
        return checked(call, nr, a0, a1, a2, 0, 0, 0);
    }

    public static long checked(String call, long nr, long a0, long a1) {
        return checked(call, nr, a0, a1, 0, 0, 0, 0);
    }

    public static long checked(String call, long nr, long a0) {
        return checked(call, nr, a0, 0, 0, 0, 0, 0);
    }

    /** As {@link #raw} with this thread's capture segment: {@code -errno} on failure, no retry. */
    public static long rawOnThisThread(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        return raw(CAPTURE.get(), nr, a0, a1, a2, a3, a4, a5);
    }
}
