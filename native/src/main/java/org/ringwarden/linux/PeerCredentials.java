package org.ringwarden.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Who is at the other end of a connected {@code AF_UNIX} socket, as the kernel recorded it at
 * {@code connect}/{@code socketpair} time ({@code SO_PEERCRED}): never what the peer says.
 *
 * @param pid the peer's process id (in our pid namespace; 0 if not visible there)
 * @param uid its effective uid at connect time
 * @param gid its effective gid at connect time
 */
public record PeerCredentials(int pid, int uid, int gid) {
    public static final int SO_PEERCRED = 17;
    /** {@code SO_PEERPIDFD} (6.5+). */
    public static final int SO_PEERPIDFD = 77;

    /** {@code getsockopt(socketFd, SOL_SOCKET, SO_PEERCRED)}: {@code struct ucred { pid_t pid; uid_t uid; gid_t gid; }}. */
    public static PeerCredentials of(int socketFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ucred = arena.allocate(12, 4);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 12);
            Syscall.checked("getsockopt(SO_PEERCRED)", Syscall.SYS_GETSOCKOPT, socketFd, UnixSockets.SOL_SOCKET,
                    SO_PEERCRED, ucred.address(), len.address(), 0);
            return new PeerCredentials(ucred.get(ValueLayout.JAVA_INT, 0), ucred.get(ValueLayout.JAVA_INT, 4),
                    ucred.get(ValueLayout.JAVA_INT, 8));
        }
    }

    /**
     * {@code getsockopt(socketFd, SOL_SOCKET, SO_PEERPIDFD)}: a pidfd (close-on-exec) of the
     * peer process as it was at connect time, immune to pid reuse. The caller owns it.
     *
     * @return the pidfd, or -1 if the kernel does not have {@code SO_PEERPIDFD} ({@code ENOPROTOOPT}, before 6.5)
     * @throws KernelException e.g. {@code ESRCH} if the peer process is already gone (kernels that report it)
     */
    public static int peerPidfd(int socketFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fd = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            long r = Syscall.rawOnThisThread(Syscall.SYS_GETSOCKOPT, socketFd, UnixSockets.SOL_SOCKET, SO_PEERPIDFD,
                    fd.address(), len.address(), 0);
            if (r == -Errno.ENOPROTOOPT.number()) {
                return -1;
            }
            if (r < 0) {
                throw new KernelException("getsockopt(SO_PEERPIDFD)", (int) -r);
            }
            return fd.get(ValueLayout.JAVA_INT, 0);
        }
    }
}
