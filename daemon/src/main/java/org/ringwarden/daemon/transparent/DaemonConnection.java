package org.ringwarden.daemon.transparent;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.util.Objects.requireNonNull;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.UnixSockets;
import org.ringwarden.protocol.Frames;
import org.ringwarden.protocol.ProtocolCodec;
import org.ringwarden.protocol.ProtocolException;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

/**
 * A blocking control connection to the daemon on a plain descriptor, so that it can be handed
 * to another process (the supervisor) by inheritance: {@code ringwarden run} opens it and
 * attaches, the supervisor it spawned goes on using it. One request at a time.
 */
final class DaemonConnection implements AutoCloseable {
    private static final long SYS_CONNECT = 42;
    private static final int SUN_PATH_MAX = 108;

    private final int fd;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment io = arena.allocate(Frames.HEADER_LENGTH + Frames.MAX_LENGTH);
    private boolean closed;

    private DaemonConnection(int fd) {
        this.fd = fd;
    }

    /** Connects to the daemon's socket at {@code path} (close-on-exec). */
    static DaemonConnection connect(Path path) {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        if (p.length >= SUN_PATH_MAX) {
            throw new IllegalArgumentException("socket path too long for sockaddr_un: " + path);
        }
        int fd = (int) Syscall.checked("socket(AF_UNIX)", Syscall.SYS_SOCKET, UnixSockets.AF_UNIX,
                UnixSockets.SOCK_STREAM | UnixSockets.SOCK_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = a.allocate(2 + SUN_PATH_MAX);
            addr.set(JAVA_SHORT, 0, (short) UnixSockets.AF_UNIX);
            MemorySegment.copy(p, 0, addr, JAVA_BYTE, 2, p.length);
            Syscall.checked("connect(" + path + ")", SYS_CONNECT, fd, addr.address(), 2 + p.length + 1);
        } catch (KernelException e) {
            Descriptors.closeQuietly(fd);
            throw e;
        }
        return new DaemonConnection(fd);
    }

    /** Takes over an inherited connection. */
    static DaemonConnection adopt(int fd) {
        return new DaemonConnection(fd);
    }

    int fd() {
        return fd;
    }

    /** Sends one request frame. */
    void send(Request request) throws IOException {
        byte[] frame = Frames.frame(ProtocolCodec.encode(requireNonNull(request, "request")));
        MemorySegment.copy(frame, 0, io, JAVA_BYTE, 0, frame.length);
        long off = 0;
        while (off < frame.length) {
            long r = Syscall.rawOnThisThread(Syscall.SYS_WRITE, fd, io.address() + off, frame.length - off, 0, 0, 0);
            if (r == -4) { // EINTR
                continue;
            }
            if (r < 0) {
                throw new IOException("writing to the daemon failed", new KernelException("write", (int) -r));
            }
            off += r;
        }
    }

    /** Sends one descriptor as {@code SCM_RIGHTS} on a single zero byte (protocol.md). */
    void sendDescriptor(int descriptor) {
        UnixRights.sendFds(fd, new byte[] {0}, new int[] {descriptor});
    }

    /** Reads one response frame. */
    Response receive() throws IOException, ProtocolException {
        readFully(0, Frames.HEADER_LENGTH);
        int n = io.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 0);
        if (n < 1 || n > Frames.MAX_LENGTH) {
            throw new IOException("the daemon sent a frame of " + Integer.toUnsignedString(n) + " bytes");
        }
        readFully(0, n);
        return ProtocolCodec.decodeResponse(io.asSlice(0, n).toArray(JAVA_BYTE));
    }

    /** Sends {@code request} and reads the answer. */
    Response call(Request request) throws IOException, ProtocolException {
        send(request);
        return receive();
    }

    private void readFully(long at, int n) throws IOException {
        long off = 0;
        while (off < n) {
            long r = Syscall.rawOnThisThread(Syscall.SYS_READ, fd, io.address() + at + off, n - off, 0, 0, 0);
            if (r == -4) {
                continue;
            }
            if (r < 0) {
                throw new IOException("reading from the daemon failed", new KernelException("read", (int) -r));
            }
            if (r == 0) {
                throw new EOFException("the daemon closed the connection");
            }
            off += r;
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Descriptors.closeQuietly(fd);
            arena.close();
        }
    }
}
