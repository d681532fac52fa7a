package org.ringwarden.protocol;

import static java.util.Objects.requireNonNull;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.util.Arrays;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.UnixSockets;

/**
 * The control connection to the daemon: an {@code AF_UNIX} stream socket driven with
 * {@code sendmsg}/{@code recvmsg} ({@link UnixRights}), carrying frames (protocol.md, "Frames")
 * and descriptors, one per single zero byte.
 *
 * <p>Raw system calls rather than a socket library: the calls are the ones the rest of
 * ringwarden already links ({@code syscall(2)}), so a short-lived process such as
 * {@code ringwarden run} loads and initialises nothing more for its connection (junixsocket,
 * used here before, extracted and loaded its native library and registered its address
 * families at every start: 30 to 60 ms of {@code ringwarden run}'s start-up).
 *
 * <p>The descriptor rule (checked by {@code DaemonChannelTest} against a peer that uses
 * {@code recvmsg}/{@code sendmsg} directly):
 * <ul>
 * <li>Sending: one descriptor per 1-byte {@code sendmsg} of a zero byte.
 * <li>Receiving: reads go into a buffer, so that a frame usually takes one {@code recvmsg}
 *     (a length prefix and then the body took two). A read may then run past a frame into the
 *     descriptor bytes that follow it; the kernel ends a read right after the first message
 *     that carries descriptors (unix_stream_read_generic), so descriptors received with a read
 *     belong to its last byte, and the buffer remembers them with that byte. Each descriptor
 *     byte must be a zero carrying exactly one descriptor; a byte with none or several, or
 *     descriptors on a byte of a frame, is the peer breaking the protocol: every descriptor
 *     received is closed.
 * </ul>
 * Received descriptors arrive close-on-exec ({@code MSG_CMSG_CLOEXEC}) and are handed on as ints.
 *
 * <p>The one blocking connection to the daemon: the client library, {@code ringwarden run}
 * and the tests all use it. Not thread-safe: one exchange at a time, and {@link #close} not
 * while another thread uses it.
 */
public final class DaemonChannel implements AutoCloseable {
    /** Bytes per read: a grant with a few files and buffers fits. */
    private static final int READ_BUFFER = 8192;
    private static final int[] NO_FDS = {};

    /** The socket; -1 once closed. */
    private int socket;
    private final Path path;
    /** Bytes received and not yet taken: {@code buf[pos, limit)}. */
    private final byte[] buf = new byte[READ_BUFFER];
    private int pos;
    private int limit;
    /** Descriptors received with the byte at {@code buf[fdsAt]} and not yet taken. */
    private int @Nullable [] fds;
    private int fdsAt;

    private int[] lastFds = NO_FDS;

    private DaemonChannel(int socket, Path path) {
        this.socket = socket;
        this.path = path;
    }

    /** Connects to the daemon's socket at {@code path}. */
    public static DaemonChannel connect(Path path) throws IOException {
        requireNonNull(path, "path");
        try {
            return new DaemonChannel(UnixSockets.connect(path.toString()), path);
        } catch (KernelException | IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * Takes over a connected socket inherited as descriptor {@code fd} (the supervisor of
     * {@code ringwarden run} gets its connection this way); closing the channel closes it.
     */
    public static DaemonChannel adopt(int fd) throws IOException {
        if (fd < 0) {
            throw new IOException("not a descriptor: " + fd);
        }
        return new DaemonChannel(fd, Path.of("/proc/self/fd/" + fd));
    }

    /** Where it is connected (for messages). */
    public Path path() {
        return path;
    }

    /** The socket's descriptor, for handing the connection to a child process or polling it. */
    public int fd() throws IOException {
        if (socket < 0) {
            throw new IOException("the connection to the daemon at " + path + " is closed");
        }
        return socket;
    }

    /**
     * Bounds each read of an answer to {@code millis} (0: no bound, the default); a read that
     * waits longer fails with {@link java.net.SocketTimeoutException}, after which the
     * connection is out of step and must be closed.
     */
    public void setReadTimeout(int millis) throws IOException {
        if (millis < 0) {
            throw new IllegalArgumentException("negative timeout: " + millis);
        }
        try {
            UnixSockets.setReceiveTimeout(fd(), millis);
        } catch (KernelException e) {
            throw failed(e);
        }
    }

    /** Sends {@code request} and reads the answer. */
    public Response call(Request request) throws IOException {
        send(request);
        return receive();
    }

    /** Sends one request frame. */
    public void send(Request request) throws IOException {
        byte[] frame = Frames.frame(ProtocolCodec.encode(request));
        int sent = 0;
        while (sent < frame.length) {
            sent += write(sent == 0 ? frame : Arrays.copyOfRange(frame, sent, frame.length), NO_FDS);
        }
    }

    /** Reads one response frame. */
    public Response receive() throws IOException {
        byte[] body;
        try {
            body = readFrame();
        } catch (EOFException e) {
            throw new EOFException("the daemon at " + path + " closed the connection");
        } catch (RefusedException e) {
            throw new IOException("the daemon at " + path + " sent a broken frame: " + e.getMessage(), e);
        }
        try {
            return ProtocolCodec.decodeResponse(body);
        } catch (RefusedException e) {
            throw new IOException("the daemon at " + path + " sent a message this client does not understand ("
                    + e.code() + "): " + e.getMessage(), e);
        }
    }

    /** One frame's body (protocol.md, "Frames"), from the buffer and as few reads as it takes. */
    private byte[] readFrame() throws IOException, RefusedException {
        while (limit - pos < Frames.HEADER_LENGTH) {
            fill();
        }
        long n = ((buf[pos] & 0xffL) << 24) | ((buf[pos + 1] & 0xff) << 16) | ((buf[pos + 2] & 0xff) << 8)
                | (buf[pos + 3] & 0xff);
        if (n < 1 || n > Frames.MAX_LENGTH) {
            throw new RefusedException(ErrorCode.BAD_REQUEST, "frame length " + n + " is outside 1.."
                    + Frames.MAX_LENGTH);
        }
        int length = (int) n;
        if (Frames.HEADER_LENGTH + length <= buf.length) {
            while (limit - pos < Frames.HEADER_LENGTH + length) {
                fill();
            }
        }
        refuseDescriptorsBefore(Math.min(limit, pos + Frames.HEADER_LENGTH + length));
        pos += Frames.HEADER_LENGTH;
        byte[] body = new byte[length];
        int have = Math.min(length, limit - pos);
        System.arraycopy(buf, pos, body, 0, have);
        pos += have;
        // A frame larger than the buffer: the rest straight into the body, never past the frame.
        while (have < length) {
            int r = read(body, have, length - have);
            int[] got = received();
            if (got.length > 0) {
                closeAll(got);
                throw new IOException("the daemon broke the descriptor rule: descriptors on a byte of a frame");
            }
            if (r <= 0) {
                throw new EOFException();
            }
            have += r;
        }
        return body;
    }

    /** Reads once more into the buffer; throws {@link EOFException} at the end of the stream. */
    private void fill() throws IOException {
        if (pos == limit) {
            pos = 0;
            limit = 0;
        } else if (limit == buf.length) {
            System.arraycopy(buf, pos, buf, 0, limit - pos);
            fdsAt -= pos;
            limit -= pos;
            pos = 0;
        }
        int r = read(buf, limit, buf.length - limit);
        int[] got = received();
        if (r <= 0) {
            closeAll(got);
            throw new EOFException();
        }
        limit += r;
        if (got.length > 0) {
            if (fds != null) { // the kernel ends a read after descriptors: two sets untaken is a broken peer
                closeAll(got);
                throw new IOException("the daemon broke the descriptor rule: descriptors on a byte of a frame");
            }
            fds = got;
            fdsAt = limit - 1;
        }
    }

    /**
     * One {@code recvmsg} into {@code into[off, off + len)}: the bytes read (0 at the end of the
     * stream); the descriptors it brought wait in {@link #received}.
     */
    private int read(byte[] into, int off, int len) throws IOException {
        UnixRights.Received r;
        try {
            // Room for as many descriptors as one message may carry: a peer that sends several
            // on one byte must be seen, and refused, rather than truncated.
            r = UnixRights.recvFds(fd(), into, off, len, UnixRights.MAX_FDS);
        } catch (KernelException e) {
            throw failed(e);
        }
        int[] got = r.fds();
        if (r.controlTruncated()) {
            closeAll(got);
            throw new IOException("the daemon broke the descriptor rule: more descriptors on one byte than a message carries");
        }
        lastFds = got.length == 0 ? NO_FDS : got;
        return r.bytes();
    }

    /** One {@code sendmsg} of {@code data} with {@code fds} on its first byte: the bytes sent. */
    private int write(byte[] data, int[] fds) throws IOException {
        try {
            return UnixRights.sendFds(fd(), data, fds);
        } catch (KernelException e) {
            throw failed(e);
        }
    }

    /** A failed call as the IOException callers expect: a read past its timeout is a {@link SocketTimeoutException}. */
    private IOException failed(KernelException e) {
        if (e.errno() == Errno.EAGAIN.number()) {
            SocketTimeoutException t = new SocketTimeoutException("the daemon at " + path + " did not answer in time");
            t.initCause(e);
            return t;
        }
        return new IOException("the connection to the daemon at " + path + " failed: " + e.getMessage(), e);
    }

    /** The descriptors the last read brought (close-on-exec ints we own), none if it brought none. */
    private int[] received() {
        int[] got = lastFds;
        lastFds = NO_FDS;
        return got;
    }

    /** Descriptors held for a byte before {@code end} (a frame's bytes) break the protocol. */
    private void refuseDescriptorsBefore(int end) throws IOException {
        if (fds != null && fdsAt < end) {
            closeAll(fds);
            fds = null;
            throw new IOException("the daemon broke the descriptor rule: descriptors on a byte of a frame");
        }
    }

    /** Sends {@code fds} in order, each on its own single zero byte; our descriptors stay open. */
    public void sendDescriptors(int[] fds) throws IOException {
        for (int fd : fds) {
            if (write(new byte[] {0}, new int[] {fd}) != 1) {
                throw new IOException("the daemon at " + path + " took no byte for a descriptor");
            }
        }
    }

    /**
     * Receives exactly {@code count} descriptors, one per zero byte, as close-on-exec ints the
     * caller owns. On any failure every descriptor received so far is closed.
     */
    public int[] receiveDescriptors(int count) throws IOException {
        int[] out = new int[count];
        int got = 0;
        try {
            for (; got < count; got++) {
                if (pos == limit) {
                    try {
                        fill();
                    } catch (EOFException e) {
                        throw new EOFException("the daemon closed the connection after " + got + " of " + count
                                + " descriptor(s)");
                    }
                }
                int b = buf[pos] & 0xff;
                int[] ints = NO_FDS;
                if (fds != null && fdsAt == pos) {
                    ints = fds;
                    fds = null;
                }
                pos++;
                if (ints.length != 1 || b != 0) {
                    closeAll(ints);
                    throw new IOException("the daemon broke the descriptor rule: byte " + b + " carried "
                            + ints.length + " descriptor(s), expected one on a zero byte");
                }
                out[got] = ints[0];
            }
            return out;
        } catch (IOException | RuntimeException e) {
            for (int i = 0; i < got; i++) {
                Descriptors.closeQuietly(out[i]);
            }
            throw e;
        }
    }

    private static void closeAll(int[] fds) {
        for (int fd : fds) {
            Descriptors.closeQuietly(fd);
        }
    }

    @Override
    public void close() throws IOException {
        if (fds != null) {
            closeAll(fds);
            fds = null;
        }
        int s = socket;
        if (s >= 0) {
            socket = -1;
            Descriptors.closeQuietly(s);
        }
    }
}
