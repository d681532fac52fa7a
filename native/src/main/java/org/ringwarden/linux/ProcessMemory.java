package org.ringwarden.linux;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Another process's memory through {@code process_vm_readv}/{@code process_vm_writev} (one
 * local and one remote iovec). Needs ptrace access to the process
 * ({@code PTRACE_MODE_ATTACH_REALCREDS}): same uid and dumpable, an ancestor under Yama
 * ptrace_scope 1, or {@code CAP_SYS_PTRACE}. Allocates nothing per call.
 *
 * <p>A transfer stops early at the first remote page that is not mapped; the return value
 * says how many bytes moved. A read of another process races with that process: validate
 * what was read, and check a seccomp notification's {@code isValid} afterwards.
 */
public final class ProcessMemory {
    private record Scratch(MemorySegment iovecs, MemorySegment capture) {
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(
            () -> new Scratch(Arena.ofAuto().allocate(32, 8), Syscall.newCaptureState()));

    private ProcessMemory() {
    }

    /**
     * Copies {@code local.byteSize()} bytes from {@code remoteAddr} in process {@code pid} into {@code local}.
     *
     * @return the bytes copied (fewer if a remote page is unmapped)
     * @throws KernelException {@code EFAULT} if nothing could be read, {@code ESRCH} no such
     *                         process, {@code EPERM} no ptrace rights
     */
    public static long read(int pid, long remoteAddr, MemorySegment local) {
        return transfer("process_vm_readv", Syscall.SYS_PROCESS_VM_READV, pid, remoteAddr, local);
    }

    /**
     * Copies {@code local} to {@code remoteAddr} in process {@code pid}.
     *
     * @return the bytes copied (fewer if a remote page is unmapped or read-only)
     */
    public static long write(int pid, long remoteAddr, MemorySegment local) {
        return transfer("process_vm_writev", Syscall.SYS_PROCESS_VM_WRITEV, pid, remoteAddr, local);
    }

    private static long transfer(String call, long nr, int pid, long remoteAddr, MemorySegment local) {
        Scratch s = SCRATCH.get();
        MemorySegment iov = s.iovecs;
        iov.set(JAVA_LONG, 0, local.address());
        iov.set(JAVA_LONG, 8, local.byteSize());
        iov.set(JAVA_LONG, 16, remoteAddr);
        iov.set(JAVA_LONG, 24, local.byteSize());
        long r = Syscall.rawRetrying(s.capture, nr, pid, iov.address(), 1, iov.address() + 16, 1, 0);
        if (r < 0) {
            throw new KernelException(call + "(" + pid + ", 0x" + Long.toHexString(remoteAddr) + ")", (int) -r);
        }
        return r;
    }
}
