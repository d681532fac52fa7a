package org.ringwarden.protocol;

import static java.util.Objects.requireNonNull;

import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;

import org.jspecify.annotations.Nullable;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.FileDescriptorCast;
import org.ringwarden.linux.Descriptors;

/**
 * The control connection to the daemon over junixsocket: frames (protocol.md, "Frames") and
 * descriptors, one per single zero byte.
 *
 * <p>How junixsocket maps onto the protocol's descriptor rule (checked by
 * {@code DaemonChannelTest} against a peer that uses {@code recvmsg}/{@code sendmsg} directly):
 * <ul>
 * <li>Sending: {@link AFUNIXSocket#setOutboundFileDescriptors} attaches the descriptors to the
 *     next write only, so one {@code setOutboundFileDescriptors(fd)} + {@code write(0)} per
 *     descriptor is one 1-byte {@code sendmsg} carrying exactly that descriptor.
 * <li>Receiving: reads go into a buffer, so that a frame usually takes one {@code recvmsg}
 *     (a length prefix and then the body took two). A read may then run past a frame into the
 *     descriptor bytes that follow it; the kernel ends a read right after the first message
 *     that carries descriptors (unix_stream_read_generic), so descriptors received with a read
 *     belong to its last byte, and the buffer remembers them with that byte. Each descriptor
 *     byte must be a zero carrying exactly one descriptor; a byte with none or several, or
 *     descriptors on a byte of a frame, is the peer breaking the protocol: every descriptor
 *     received is closed.
 * </ul>
 * Received descriptors are handed on as plain close-on-exec ints.
 *
 * <p>The one blocking connection to the daemon: the client library, {@code ringwarden run}
 * (which hands it to its supervisor by inheritance, {@link #adopt}) and the tests all use it.
 * Not thread-safe: one exchange at a time.
 */
public final class DaemonChannel implements AutoCloseable {
    /** Bytes per read: a grant with a few files and buffers fits. */
    private static final int READ_BUFFER = 8192;
    private static final int[] NO_FDS = {};

    private final AFUNIXSocket socket;
    private final InputStream in;
    private final OutputStream out;
    private final Path path;
    /** Bytes received and not yet taken: {@code buf[pos, limit)}. */
    private final byte[] buf = new byte[READ_BUFFER];
    private int pos;
    private int limit;
    /** Descriptors received with the byte at {@code buf[fdsAt]} and not yet taken. */
    private int @Nullable [] fds;
    private int fdsAt;

    private DaemonChannel(AFUNIXSocket socket, Path path) throws IOException {
        this.socket = socket;
        this.path = path;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Connects to the daemon's socket at {@code path}. */
    public static DaemonChannel connect(Path path) throws IOException {
        requireNonNull(path, "path");
        return open(AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(path)), path);
    }

    /**
     * Takes over a connected socket inherited as descriptor {@code fd} (the supervisor of
     * {@code ringwarden run} gets its connection this way); closing the channel closes it.
     */
    public static DaemonChannel adopt(int fd) throws IOException {
        AFUNIXSocket s = FileDescriptorCast.unsafeUsing(fd).as(AFUNIXSocket.class);
        return open(s, Path.of("/proc/self/fd/" + fd));
    }

    private static DaemonChannel open(AFUNIXSocket s, Path path) throws IOException {
        try {
            // Room for the control message of one descriptor (and then some: a peer that sends
            // several in one message must be seen, and refused, rather than truncated).
            s.setAncillaryReceiveBufferSize(4096);
            return new DaemonChannel(s, path);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** Where it is connected (for messages). */
    public Path path() {
        return path;
    }

    /** The socket's descriptor, for handing the connection to a child process. */
    public int fd() throws IOException {
        return FileDescriptorCast.using(socket.getFileDescriptor()).as(Integer.class);
    }

    /**
     * Bounds each read of an answer to {@code millis} (0: no bound, the default); a read that
     * waits longer fails with {@link java.net.SocketTimeoutException}, after which the
     * connection is out of step and must be closed.
     */
    public void setReadTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    /** Sends {@code request} and reads the answer. */
    public Response call(Request request) throws IOException {
        send(request);
        return receive();
    }

    /** Sends one request frame. */
    public void send(Request request) throws IOException {
        out.write(Frames.frame(ProtocolCodec.encode(request)));
        out.flush();
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
            int r = in.read(body, have, length - have);
            int[] got = received();
            if (got.length > 0) {
                closeAll(got);
                throw new IOException("the daemon broke the descriptor rule: descriptors on a byte of a frame");
            }
            if (r < 0) {
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
        int r = in.read(buf, limit, buf.length - limit);
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

    /** The descriptors the last read brought (close-on-exec ints we own), none if it brought none. */
    private int[] received() throws IOException {
        FileDescriptor[] got = socket.getReceivedFileDescriptors();
        if (got == null) {
            return NO_FDS;
        }
        socket.clearReceivedFileDescriptors();
        return adopt(got);
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
            socket.setOutboundFileDescriptors(FileDescriptorCast.unsafeUsing(fd).getFileDescriptor());
            out.write(0);
        }
        out.flush();
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

    /**
     * The descriptors as ints the caller owns, close-on-exec. junixsocket fills the
     * {@link FileDescriptor}s from native code without a cleaner, so nothing closes them behind
     * our back; it receives with {@code MSG_CMSG_CLOEXEC}, and the flag is set here anyway.
     */
    private static int[] adopt(FileDescriptor[] received) throws IOException {
        if (received == null) {
            return new int[0];
        }
        int[] fds = new int[received.length];
        for (int i = 0; i < received.length; i++) {
            fds[i] = FileDescriptorCast.using(received[i]).as(Integer.class);
        }
        for (int fd : fds) {
            if (fd >= 0 && (Descriptors.fcntl(fd, Descriptors.F_GETFD, 0) & Descriptors.FD_CLOEXEC) == 0) {
                Descriptors.fcntl(fd, Descriptors.F_SETFD, Descriptors.FD_CLOEXEC);
            }
        }
        return fds;
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
        socket.close();
    }
}
