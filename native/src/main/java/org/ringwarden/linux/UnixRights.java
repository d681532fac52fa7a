package org.ringwarden.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.util.Objects.requireNonNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Passing descriptors over an {@code AF_UNIX} socket with {@code SCM_RIGHTS}
 * ({@code sendmsg}/{@code recvmsg} with a control message).
 *
 * <p>Layouts on x86_64: {@code struct msghdr} is 56 bytes ({@code msg_name}@0,
 * {@code msg_namelen}@8, {@code msg_iov}@16, {@code msg_iovlen}@24, {@code msg_control}@32,
 * {@code msg_controllen}@40, {@code msg_flags}@48); {@code struct cmsghdr} is 16 bytes
 * ({@code cmsg_len} a {@code size_t}, then level and type), its data follows at 16;
 * {@code CMSG_LEN(n) = 16 + n}, {@code CMSG_SPACE(n) = 16 + align8(n)}.
 *
 * <p>The kernel refuses an io_uring fd here ({@code EINVAL}, since 6.7 and its stable
 * backports): rings travel through seccomp notification instead (protocol.md).
 */
public final class UnixRights {
    public static final int SCM_RIGHTS = 1;
    /** {@code SCM_PIDFD} (6.5+): a pidfd the kernel adds when {@code SO_PASSPIDFD} is set. */
    public static final int SCM_PIDFD = 4;
    /** {@code SCM_MAX_FD}: the most descriptors one message may carry. */
    public static final int MAX_FDS = 253;
    public static final int MSG_CTRUNC = 0x08;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;

    private static final long MSGHDR_SIZE = 56;
    private static final long MSG_IOV = 16;
    private static final long MSG_IOVLEN = 24;
    private static final long MSG_CONTROL = 32;
    private static final long MSG_CONTROLLEN = 40;
    private static final long MSG_FLAGS = 48;
    private static final long CMSGHDR_SIZE = 16;

    private UnixRights() {
    }

    /** {@code CMSG_LEN(n)}: a control message with {@code n} bytes of data, without trailing padding. */
    public static long cmsgLen(long n) {
        return CMSGHDR_SIZE + n;
    }

    /** {@code CMSG_SPACE(n)}: the same, padded to the 8-byte alignment the next header needs. */
    public static long cmsgSpace(long n) {
        return CMSGHDR_SIZE + align8(n);
    }

    /** What {@link #recvFds} got. The caller owns every fd in {@link #fds()} and must close them. */
    public record Received(int bytes, int[] fds, boolean controlTruncated) {
        public Received {
            fds = fds.clone();
        }

        @Override
        public int[] fds() {
            return fds.clone();
        }

        /** Closes every received fd (cleanup when the exchange fails). */
        public void closeAll() {
            for (int fd : fds) {
                Descriptors.closeQuietly(fd);
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Received r && r.bytes == bytes && r.controlTruncated == controlTruncated
                    && Arrays.equals(r.fds, fds);
        }

        @Override
        public int hashCode() {
            return bytes * 31 + Arrays.hashCode(fds);
        }

        @Override
        public String toString() {
            return "Received[bytes=" + bytes + ", fds=" + Arrays.toString(fds) + (controlTruncated ? ", truncated" : "") + "]";
        }
    }

    /**
     * {@code sendmsg(socketFd, {data, SCM_RIGHTS fds}, MSG_NOSIGNAL)}, retrying {@code EINTR}.
     * The descriptors ride on the first byte of {@code data}, so {@code data} must not be
     * empty. Our fds stay open (the receiver gets duplicates).
     *
     * @return the number of bytes sent (a stream socket may send fewer than {@code data.length})
     * @throws KernelException e.g. {@code EINVAL} for an io_uring fd, {@code EPIPE} if the peer closed
     */
    public static int sendFds(int socketFd, byte[] data, int[] fds) {
        requireNonNull(data, "data");
        requireNonNull(fds, "fds");
        if (data.length == 0) {
            throw new IllegalArgumentException("SCM_RIGHTS needs at least one byte of data to ride on");
        }
        if (fds.length > MAX_FDS) {
            throw new IllegalArgumentException("at most " + MAX_FDS + " descriptors per message, not " + fds.length);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(data.length);
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
            MemorySegment iov = arena.allocate(16, 8);
            iov.set(JAVA_LONG, 0, buf.address());
            iov.set(JAVA_LONG, 8, data.length);
            MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8); // zeroed: no name, flags 0
            msg.set(JAVA_LONG, MSG_IOV, iov.address());
            msg.set(JAVA_LONG, MSG_IOVLEN, 1);
            if (fds.length > 0) {
                long space = cmsgSpace(4L * fds.length);
                MemorySegment control = arena.allocate(space, 8);
                control.set(JAVA_LONG, 0, cmsgLen(4L * fds.length));
                control.set(JAVA_INT, 8, UnixSockets.SOL_SOCKET);
                control.set(JAVA_INT, 12, SCM_RIGHTS);
                for (int i = 0; i < fds.length; i++) {
                    control.set(JAVA_INT, CMSGHDR_SIZE + 4L * i, fds[i]);
                }
                msg.set(JAVA_LONG, MSG_CONTROL, control.address());
                msg.set(JAVA_LONG, MSG_CONTROLLEN, space);
            }
            return (int) Syscall.checked("sendmsg(SCM_RIGHTS x" + fds.length + ")", Syscall.SYS_SENDMSG, socketFd,
                    msg.address(), MSG_NOSIGNAL);
        }
    }

    /**
     * {@code recvmsg(socketFd, MSG_CMSG_CLOEXEC)} into {@code buffer}, accepting up to
     * {@code maxFds} descriptors (all arrive close-on-exec), retrying {@code EINTR}. If more
     * descriptors were sent than fit, the kernel closes the rest and reports
     * {@link Received#controlTruncated()}. A pidfd the kernel adds on its own
     * ({@code SCM_PIDFD}, only with {@code SO_PASSPIDFD}, which this project never sets) is
     * closed, not returned.
     *
     * @return bytes read (0 at end of stream) and the descriptors received
     */
    public static Received recvFds(int socketFd, byte[] buffer, int maxFds) {
        requireNonNull(buffer, "buffer");
        return recvFds(socketFd, buffer, 0, buffer.length, maxFds);
    }

    /** As {@link #recvFds(int, byte[], int)}, into {@code buffer[offset, offset + length)}. */
    public static Received recvFds(int socketFd, byte[] buffer, int offset, int length, int maxFds) {
        requireNonNull(buffer, "buffer");
        java.util.Objects.checkFromIndexSize(offset, length, buffer.length);
        if (maxFds < 0 || maxFds > MAX_FDS) {
            throw new IllegalArgumentException("maxFds out of range: " + maxFds);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, length));
            MemorySegment iov = arena.allocate(16, 8);
            iov.set(JAVA_LONG, 0, buf.address());
            iov.set(JAVA_LONG, 8, length);
            // The kernel installs (controllen - 16) / 4 descriptors at most: CMSG_LEN, not
            // CMSG_SPACE, so that exactly maxFds fit and any more are closed (MSG_CTRUNC).
            MemorySegment control = arena.allocate(cmsgSpace(4L * Math.max(1, maxFds)), 8);
            MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
            msg.set(JAVA_LONG, MSG_IOV, iov.address());
            msg.set(JAVA_LONG, MSG_IOVLEN, 1);
            if (maxFds > 0) {
                msg.set(JAVA_LONG, MSG_CONTROL, control.address());
                msg.set(JAVA_LONG, MSG_CONTROLLEN, cmsgLen(4L * maxFds));
            }
            int n = (int) Syscall.checked("recvmsg", Syscall.SYS_RECVMSG, socketFd, msg.address(), MSG_CMSG_CLOEXEC);
            MemorySegment.copy(buf, JAVA_BYTE, 0, buffer, offset, n);
            int flags = msg.get(JAVA_INT, MSG_FLAGS);
            long controlLen = msg.get(JAVA_LONG, MSG_CONTROLLEN);
            int[] fds = new int[0];
            long at = 0;
            while (at + CMSGHDR_SIZE <= controlLen) {
                long len = control.get(JAVA_LONG, at);
                if (len < CMSGHDR_SIZE || at + len > controlLen) {
                    break;
                }
                int level = control.get(JAVA_INT, at + 8);
                int type = control.get(JAVA_INT, at + 12);
                int count = (int) ((len - CMSGHDR_SIZE) / 4);
                if (level == UnixSockets.SOL_SOCKET && type == SCM_RIGHTS) {
                    int old = fds.length;
                    fds = Arrays.copyOf(fds, old + count);
                    for (int i = 0; i < count; i++) {
                        fds[old + i] = control.get(JAVA_INT, at + CMSGHDR_SIZE + 4L * i);
                    }
                } else if (level == UnixSockets.SOL_SOCKET && type == SCM_PIDFD) {
                    for (int i = 0; i < count; i++) {
                        Descriptors.closeQuietly(control.get(JAVA_INT, at + CMSGHDR_SIZE + 4L * i));
                    }
                }
                at += align8(len);
            }
            return new Received(n, fds, (flags & MSG_CTRUNC) != 0);
        }
    }

    private static long align8(long n) {
        return (n + 7) & ~7L;
    }
}
