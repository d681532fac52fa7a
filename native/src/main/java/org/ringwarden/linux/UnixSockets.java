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

    private static final long SYS_ACCEPT4 = 288;
    private static final long SYS_CONNECT = 42;
    private static final long SYS_BIND = 49;
    private static final long SYS_LISTEN = 50;
    private static final long SYS_SETSOCKOPT = 54;
    private static final int SO_RCVTIMEO = 20;
    private static final int SO_SNDTIMEO = 21;

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

    /** {@code path} as the bytes of a {@code sun_path}, which holds 107 and a NUL. */
    private static byte[] sunPath(String path) {
        byte[] name = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (name.length > 107) {
            throw new IllegalArgumentException("socket path is longer than the 107 bytes sun_path holds: " + path);
        }
        return name;
    }

    /** A {@code struct sockaddr_un} for {@code name} (from {@link #sunPath}), zero-terminated. */
    private static MemorySegment sockaddrUn(Arena arena, byte[] name) {
        MemorySegment addr = arena.allocate(110, 2);
        addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(name, 0, addr, ValueLayout.JAVA_BYTE, 2, name.length);
        return addr;
    }

    /**
     * {@code socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)}, {@code bind(path)}, {@code listen(backlog)}:
     * a listening socket at {@code path}, which must not exist. The caller owns the fd (and the file).
     */
    public static int listen(String path, int backlog) {
        return socketAt(path, (fd, addr, len) -> {
            Syscall.checked("bind(" + path + ")", SYS_BIND, fd, addr, len);
            Syscall.checked("listen(" + path + ")", SYS_LISTEN, fd, backlog);
        });
    }

    /**
     * {@code socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)} and {@code connect(path)}, retrying
     * {@code EINTR}: a blocking connection to the listener at {@code path}. The caller owns the fd.
     *
     * @throws KernelException {@code ENOENT} (nothing at {@code path}), {@code ECONNREFUSED}
     *                         (nobody listening), {@code EACCES}...
     * @throws IllegalArgumentException if {@code path} does not fit {@code sun_path}
     */
    public static int connect(String path) {
        return socketAt(path, (fd, addr, len) ->
                Syscall.checked("connect(" + path + ")", SYS_CONNECT, fd, addr, len));
    }

    /** What {@link #socketAt} does with the new socket and the address of {@code path}. */
    private interface AtAddress {
        void apply(int fd, long sockaddr, long length);
    }

    /**
     * A new {@code AF_UNIX} stream socket, given to {@code then} with a {@code sockaddr_un} for
     * {@code path} (valid during the call); closed again if {@code then} throws.
     */
    private static int socketAt(String path, AtAddress then) {
        byte[] name = sunPath(path);
        int fd = (int) Syscall.checked("socket(AF_UNIX, SOCK_STREAM)", Syscall.SYS_SOCKET, AF_UNIX,
                SOCK_STREAM | SOCK_CLOEXEC, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = sockaddrUn(arena, name);
            then.apply(fd, addr.address(), 2 + name.length + 1);
            return fd;
        } catch (RuntimeException e) {
            Descriptors.closeQuietly(fd);
            throw e;
        }
    }

    /** {@code SO_RCVTIMEO} alone: a blocking receive gives up with {@code EAGAIN} after {@code millis} (0: never). */
    public static void setReceiveTimeout(int fd, long millis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tv = arena.allocate(16, 8); // struct timeval
            tv.set(ValueLayout.JAVA_LONG, 0, millis / 1000);
            tv.set(ValueLayout.JAVA_LONG, 8, (millis % 1000) * 1000);
            Syscall.checked("setsockopt(SO_RCVTIMEO)", SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_RCVTIMEO, tv.address(), 16, 0);
        }
    }

    /**
     * {@code accept4(fd, NULL, NULL, SOCK_CLOEXEC)}, retrying {@code EINTR}; returns the
     * connection, or {@code -errno} ({@code -EAGAIN} on a non-blocking socket with none waiting).
     */
    public static int accept(int listeningFd) {
        return (int) Syscall.rawRetrying(CAPTURE.get(), SYS_ACCEPT4, listeningFd, 0, 0, SOCK_CLOEXEC, 0, 0);
    }

    /** {@code SO_RCVTIMEO} and {@code SO_SNDTIMEO}: a blocking call gives up with {@code EAGAIN} after {@code millis}. */
    public static void setTimeouts(int fd, long millis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tv = arena.allocate(16, 8); // struct timeval
            tv.set(ValueLayout.JAVA_LONG, 0, millis / 1000);
            tv.set(ValueLayout.JAVA_LONG, 8, (millis % 1000) * 1000);
            Syscall.checked("setsockopt(SO_RCVTIMEO)", SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_RCVTIMEO, tv.address(), 16, 0);
            Syscall.checked("setsockopt(SO_SNDTIMEO)", SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_SNDTIMEO, tv.address(), 16, 0);
        }
    }
}
