package org.ringwarden.daemon.systemd;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixSockets;

/** A service manager's notification socket for tests: an AF_UNIX datagram socket at an abstract name. */
final class NotifyReceiver implements AutoCloseable {
    private static final long SYS_BIND = 49;
    private final int fd;
    final String name;

    NotifyReceiver(String abstractName) {
        this.name = abstractName;
        fd = (int) Syscall.checked("socket", Syscall.SYS_SOCKET, UnixSockets.AF_UNIX,
                UnixSockets.SOCK_DGRAM | UnixSockets.SOCK_CLOEXEC, 0);
        try (Arena arena = Arena.ofConfined()) {
            byte[] n = abstractName.getBytes(UTF_8);
            MemorySegment addr = arena.allocate(110, 8);
            addr.set(JAVA_SHORT, 0, (short) UnixSockets.AF_UNIX);
            MemorySegment.copy(n, 0, addr, JAVA_BYTE, 3, n.length); // sun_path[0] = 0: abstract
            Syscall.checked("bind(@" + abstractName + ")", SYS_BIND, fd, addr.address(), 2 + 1 + n.length);
        } catch (RuntimeException e) {
            Descriptors.closeQuietly(fd);
            throw e;
        }
    }

    /** The NOTIFY_SOCKET value that names this socket. */
    String notifySocket() {
        return "@" + name;
    }

    /** The next datagram, or null after {@code timeoutMs}. */
    String next(long timeoutMs) {
        if (Poll.poll(fd, Poll.POLLIN, timeoutMs) == 0) {
            return null;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(4096);
            long n = Syscall.checked("read", Syscall.SYS_READ, fd, buf.address(), 4096);
            byte[] b = new byte[(int) n];
            MemorySegment.copy(buf, JAVA_BYTE, 0, b, 0, (int) n);
            return new String(b, UTF_8);
        }
    }

    /** Reads datagrams until one contains {@code text}; returns it, or null after {@code timeoutMs}. */
    String await(String text, long timeoutMs) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return null;
            }
            String m = next(left);
            if (m != null && m.contains(text)) {
                return m;
            }
        }
    }

    @Override
    public void close() {
        Descriptors.closeQuietly(fd);
    }
}
