package org.ringwarden.client;

import static java.util.Objects.requireNonNull;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;

import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.FileDescriptorCast;
import org.ringwarden.client.protocol.Frames;
import org.ringwarden.client.protocol.ProtocolCodec;
import org.ringwarden.client.protocol.ProtocolException;
import org.ringwarden.client.protocol.Request;
import org.ringwarden.client.protocol.Response;
import org.ringwarden.linux.Descriptors;

/**
 * The control connection to the daemon over junixsocket: frames (protocol.md, "Frames") and
 * descriptors, one per single zero byte.
 *
 * <p>How junixsocket maps onto the protocol's descriptor rule (checked by
 * {@code ControlChannelTest} against a peer that uses {@code recvmsg}/{@code sendmsg} directly):
 * <ul>
 * <li>Sending: {@link AFUNIXSocket#setOutboundFileDescriptors} attaches the descriptors to the
 *     next write only, so one {@code setOutboundFileDescriptors(fd)} + {@code write(0)} per
 *     descriptor is one 1-byte {@code sendmsg} carrying exactly that descriptor.
 * <li>Receiving: frames are read with exact lengths and no buffering, so a read never runs
 *     into the descriptor bytes that follow a frame; each descriptor byte is then read alone
 *     and {@link AFUNIXSocket#getReceivedFileDescriptors} must give exactly one descriptor. The
 *     kernel never merges two descriptor-carrying messages into one read, so a byte with none
 *     or several is the peer breaking the protocol: every descriptor received is closed.
 * </ul>
 * Received descriptors are handed on as plain close-on-exec ints.
 *
 * <p>Not thread-safe: {@link RingwardenClient} serialises exchanges.
 */
final class ControlChannel implements AutoCloseable {
    private final AFUNIXSocket socket;
    private final InputStream in;
    /** Over {@link #in}, kept: exact-length reads, no buffering (see the class comment). */
    private final DataInputStream frames;
    private final OutputStream out;
    private final Path path;

    private ControlChannel(AFUNIXSocket socket, Path path) throws IOException {
        this.socket = socket;
        this.path = path;
        this.in = socket.getInputStream();
        this.frames = new DataInputStream(in);
        this.out = socket.getOutputStream();
    }

    /** Connects to the daemon's socket at {@code path}. */
    static ControlChannel connect(Path path) throws IOException {
        requireNonNull(path, "path");
        AFUNIXSocket s = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(path));
        try {
            // Room for the control message of one descriptor (and then some: a peer that sends
            // several in one message must be seen, and refused, rather than truncated).
            s.setAncillaryReceiveBufferSize(4096);
            return new ControlChannel(s, path);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    Path path() {
        return path;
    }

    /** Sends one request frame. */
    void send(Request request) throws IOException {
        out.write(Frames.frame(ProtocolCodec.encode(request)));
        out.flush();
    }

    /** Reads one response frame. */
    Response receive() throws IOException {
        byte[] body;
        try {
            body = Frames.read(frames);
        } catch (EOFException e) {
            throw new EOFException("the daemon at " + path + " closed the connection");
        } catch (ProtocolException e) {
            throw new IOException("the daemon at " + path + " sent a broken frame: " + e.getMessage(), e);
        }
        try {
            return ProtocolCodec.decodeResponse(body);
        } catch (ProtocolException e) {
            throw new IOException("the daemon at " + path + " sent a message this client does not understand ("
                    + e.code() + "): " + e.getMessage(), e);
        }
    }

    /** Sends {@code fds} in order, each on its own single zero byte; our descriptors stay open. */
    void sendDescriptors(int[] fds) throws IOException {
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
    int[] receiveDescriptors(int count) throws IOException {
        int[] fds = new int[count];
        int got = 0;
        try {
            socket.clearReceivedFileDescriptors();
            for (; got < count; got++) {
                int b = in.read();
                FileDescriptor[] received = socket.getReceivedFileDescriptors();
                socket.clearReceivedFileDescriptors();
                int[] ints = adopt(received);
                if (b < 0) {
                    closeAll(ints);
                    throw new EOFException("the daemon closed the connection after " + got + " of " + count
                            + " descriptor(s)");
                }
                if (ints.length != 1 || b != 0) {
                    closeAll(ints);
                    throw new IOException("the daemon broke the descriptor rule: byte " + b + " carried "
                            + ints.length + " descriptor(s), expected one on a zero byte");
                }
                fds[got] = ints[0];
            }
            return fds;
        } catch (IOException | RuntimeException e) {
            for (int i = 0; i < got; i++) {
                Descriptors.closeQuietly(fds[i]);
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
        socket.close();
    }
}
