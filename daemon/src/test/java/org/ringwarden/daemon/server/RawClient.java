package org.ringwarden.daemon.server;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.UnixSockets;
import org.ringwarden.protocol.Frames;
import org.ringwarden.protocol.ProtocolCodec;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

/**
 * A protocol client for tests that can also misbehave: raw bytes, partial frames, descriptors
 * in the wrong number. Built on the raw syscalls (no library between the test and the socket),
 * so that every byte and descriptor on the wire is the one the test wrote.
 */
final class RawClient implements AutoCloseable {
    private static final long SYS_CONNECT = 42;
    private final int fd;

    private RawClient(int fd) {
        this.fd = fd;
    }

    static RawClient connect(Path socket) {
        int fd = (int) Syscall.checked("socket", Syscall.SYS_SOCKET, UnixSockets.AF_UNIX,
                UnixSockets.SOCK_STREAM | UnixSockets.SOCK_CLOEXEC, 0);
        try (Arena arena = Arena.ofConfined()) {
            byte[] path = socket.toString().getBytes(UTF_8);
            MemorySegment addr = arena.allocate(110, 8);
            addr.set(JAVA_SHORT, 0, (short) UnixSockets.AF_UNIX);
            MemorySegment.copy(path, 0, addr, JAVA_BYTE, 2, path.length);
            Syscall.checked("connect(" + socket + ")", SYS_CONNECT, fd, addr.address(), 2 + path.length + 1);
        } catch (RuntimeException e) {
            Descriptors.closeQuietly(fd);
            throw e;
        }
        return new RawClient(fd);
    }

    int fd() {
        return fd;
    }

    void writeRaw(byte[] bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, bytes.length));
            MemorySegment.copy(bytes, 0, buf, JAVA_BYTE, 0, bytes.length);
            long off = 0;
            while (off < bytes.length) {
                off += Syscall.checked("write", Syscall.SYS_WRITE, fd, buf.address() + off, bytes.length - off);
            }
        }
    }

    void send(Request r) {
        writeRaw(Frames.frame(ProtocolCodec.encode(r)));
    }

    void sendJson(String json) {
        writeRaw(Frames.frame(json.getBytes(UTF_8)));
    }

    /** One descriptor on one zero byte, as the protocol says. */
    void sendFd(int descriptor) {
        UnixRights.sendFds(fd, new byte[] {0}, new int[] {descriptor});
    }

    /** Anything: several descriptors on one byte, none, a non-zero byte. */
    void sendFds(byte[] data, int[] descriptors) {
        UnixRights.sendFds(fd, data, descriptors);
    }

    /** Reads exactly {@code n} bytes or fails after {@code timeout}. */
    byte[] readExactly(int n, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] out = new byte[n];
        int got = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, n));
            while (got < n) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0 || Poll.poll(fd, Poll.POLLIN, left) == 0) {
                    throw new SocketTimeoutException("no data within " + timeout + " (" + got + " of " + n + " bytes)");
                }
                long r = Syscall.checked("read", Syscall.SYS_READ, fd, buf.address(), n - got);
                if (r == 0) {
                    throw new EOFException("the daemon closed the connection after " + got + " of " + n + " bytes");
                }
                MemorySegment.copy(buf, JAVA_BYTE, 0, out, got, (int) r);
                got += (int) r;
            }
        }
        return out;
    }

    Response read(Duration timeout) throws IOException {
        byte[] h = readExactly(4, timeout);
        int n = ((h[0] & 0xff) << 24) | ((h[1] & 0xff) << 16) | ((h[2] & 0xff) << 8) | (h[3] & 0xff);
        try {
            return ProtocolCodec.decodeResponse(readExactly(n, timeout));
        } catch (RefusedException e) {
            throw new IOException("the daemon sent a malformed response: " + e.getMessage(), e);
        }
    }

    Response read() throws IOException {
        return read(Duration.ofSeconds(10));
    }

    Response call(Request r) throws IOException {
        send(r);
        return read();
    }

    /**
     * Receives one descriptor riding on one byte; returns it (owned by the caller). Fails if the
     * byte is not the 0 the protocol promises.
     */
    UnixRights.Received receiveFd(Duration timeout) throws IOException {
        if (Poll.poll(fd, Poll.POLLIN, timeout.toMillis()) == 0) {
            throw new SocketTimeoutException("no descriptor within " + timeout);
        }
        byte[] one = new byte[1];
        UnixRights.Received r = UnixRights.recvFds(fd, one, 4);
        if (r.bytes() == 1 && one[0] != 0) {
            r.closeAll();
            throw new IOException("a descriptor rode on byte " + (one[0] & 0xff) + ", not 0");
        }
        return r;
    }

    /** True once the daemon has closed its end (reads EOF within the timeout). */
    boolean closedByPeer(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(4096);
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    return false;
                }
                if (Poll.poll(fd, Poll.POLLIN, left) == 0) {
                    return false;
                }
                long r = Syscall.rawOnThisThread(Syscall.SYS_READ, fd, buf.address(), 4096, 0, 0, 0);
                if (r == 0 || r == -104 /* ECONNRESET */) {
                    return true;
                }
                if (r < 0) {
                    throw new IOException("read failed: errno " + -r);
                }
            }
        }
    }

    @Override
    public void close() {
        Descriptors.closeQuietly(fd);
    }
}
