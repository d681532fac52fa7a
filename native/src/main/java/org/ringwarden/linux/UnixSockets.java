package org.ringwarden.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@code AF_UNIX} socket constants and {@code socketpair(2)}. */
public final class UnixSockets {
    public static final int AF_UNIX = 1;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_SEQPACKET = 5;
    public static final int SOCK_NONBLOCK = 04000;
    public static final int SOCK_CLOEXEC = 02000000;
    public static final int SOL_SOCKET = 1;
    /** {@code send} flag: do not block, whatever the descriptor's own mode. */
    public static final int MSG_DONTWAIT = 0x40;
    /** {@code send} flag: a closed peer gives {@code EPIPE}, not {@code SIGPIPE}. */
    public static final int MSG_NOSIGNAL = 0x4000;

    private static final ThreadLocal<MemorySegment> CAPTURE = ThreadLocal.withInitial(Syscall::newCaptureState);

    private UnixSockets() {
    }

    /**
     * {@code socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0)}: two connected sockets, both
     * close-on-exec. The caller owns both fds.
     *
     * @param type {@link #SOCK_STREAM}, {@link #SOCK_SEQPACKET} or {@link #SOCK_DGRAM}, optionally with {@link #SOCK_NONBLOCK}
     */
    public static int[] socketpair(int type) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sv = arena.allocate(ValueLayout.JAVA_INT, 2);
            Syscall.checked("socketpair(AF_UNIX, " + type + ")", Syscall.SYS_SOCKETPAIR, AF_UNIX, type | SOCK_CLOEXEC, 0,
                    sv.address());
            return new int[] {sv.getAtIndex(ValueLayout.JAVA_INT, 0), sv.getAtIndex(ValueLayout.JAVA_INT, 1)};
        }
    }

    /**
     * {@code send(fd, data, MSG_DONTWAIT | MSG_NOSIGNAL)}, retrying {@code EINTR}: as much of
     * {@code data} as the socket takes now.
     *
     * @return the bytes sent (a stream socket may take fewer than {@code data.length}), or
     *         {@code -errno} ({@code -EAGAIN} when it takes nothing now, {@code -EPIPE} when the
     *         peer is gone)
     */
    public static int sendNow(int fd, byte[] data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            return (int) Syscall.rawRetrying(CAPTURE.get(), Syscall.SYS_SENDTO, fd, buf.address(), data.length,
                    MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
        }
    }
}
