package org.ringwarden.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.FileDescriptorCast;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.UnixRights;

/**
 * {@link DaemonChannel} against a peer that speaks {@code recvmsg}/{@code sendmsg} itself (as
 * the daemon does): one descriptor per single zero byte, both ways, exactly as protocol.md says;
 * timeouts and a missing daemon as the IOExceptions its callers handle.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DaemonChannelTest {
    @TempDir
    Path dir;

    private AFUNIXServerSocket server;
    private AFUNIXSocket peer;
    private DaemonChannel channel;
    private final List<Integer> opened = new ArrayList<>();

    @BeforeEach
    void connect() throws IOException {
        Path sock = dir.resolve("s.sock");
        server = AFUNIXServerSocket.bindOn(AFUNIXSocketAddress.of(sock));
        channel = DaemonChannel.connect(sock);
        peer = server.accept();
    }

    @AfterEach
    void close() throws IOException {
        for (int fd : opened) {
            Descriptors.closeQuietly(fd);
        }
        channel.close();
        peer.close();
        server.close();
        Files.deleteIfExists(dir.resolve("s.sock"));
    }

    private int peerFd() throws IOException {
        return FileDescriptorCast.using(peer.getFileDescriptor()).as(Integer.class);
    }

    private int memfd(String name) {
        int fd = Memory.memfdCreate(name, Memory.MFD_CLOEXEC);
        opened.add(fd);
        return fd;
    }

    private static String identity(int fd) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
    }

    @Test
    void eachSentDescriptorTravelsAloneOnOneZeroByte() throws IOException {
        int[] fds = {memfd("a"), memfd("b"), memfd("c")};
        channel.sendDescriptors(fds);
        for (int i = 0; i < fds.length; i++) {
            byte[] buf = new byte[16];
            // Room for several bytes and several descriptors: what arrives per message is the channel's doing.
            UnixRights.Received r = UnixRights.recvFds(peerFd(), buf, 8);
            for (int fd : r.fds()) {
                opened.add(fd);
            }
            assertThat(r.bytes()).as("message %d carries one byte", i).isEqualTo(1);
            assertThat(buf[0]).as("the byte is 0").isZero();
            assertThat(r.fds()).as("message %d carries exactly one descriptor", i).hasSize(1);
            assertThat(identity(r.fds()[0])).as("descriptor %d is the one sent, in order", i).isEqualTo(identity(fds[i]));
        }
    }

    @Test
    void descriptorsAfterAFrameArriveInOrderAndCloseOnExec() throws IOException {
        int[] fds = {memfd("x"), memfd("y"), memfd("z")};
        byte[] frame = Frames.frame(ProtocolCodec.encode(new Response.Released("lease-1")));
        // Everything queued before the client reads a byte: the frame must not swallow descriptor bytes.
        assertThat(UnixRights.sendFds(peerFd(), frame, new int[0])).isEqualTo(frame.length);
        for (int fd : fds) {
            assertThat(UnixRights.sendFds(peerFd(), new byte[] {0}, new int[] {fd})).isEqualTo(1);
        }
        assertThat(channel.receive()).isEqualTo(new Response.Released("lease-1"));
        int[] got = channel.receiveDescriptors(3);
        for (int fd : got) {
            opened.add(fd);
        }
        for (int i = 0; i < 3; i++) {
            assertThat(identity(got[i])).as("descriptor %d in order", i).isEqualTo(identity(fds[i]));
            assertThat(Descriptors.fcntl(got[i], Descriptors.F_GETFD, 0) & Descriptors.FD_CLOEXEC)
                    .as("received descriptor %d is close-on-exec", i).isEqualTo((long) Descriptors.FD_CLOEXEC);
        }
    }

    @Test
    void aRequestArrivesAsOneFrameAndTheAnswerIsRead() throws IOException, RefusedException {
        channel.send(new Request.Release("lease-9"));
        byte[] buf = new byte[256];
        UnixRights.Received r = UnixRights.recvFds(peerFd(), buf, 0);
        assertThat(ProtocolCodec.decodeRequest(java.util.Arrays.copyOfRange(buf, Frames.HEADER_LENGTH, r.bytes())))
                .isEqualTo(new Request.Release("lease-9"));
        byte[] answer = Frames.frame(ProtocolCodec.encode(new Response.Released("lease-9")));
        assertThat(UnixRights.sendFds(peerFd(), answer, new int[0])).isEqualTo(answer.length);
        assertThat(channel.receive()).isEqualTo(new Response.Released("lease-9"));
    }

    @Test
    void aReadTimeoutEndsTheWaitForASilentDaemonWithSocketTimeoutException() throws IOException {
        channel.setReadTimeout(100);
        long start = System.nanoTime();
        assertThatThrownBy(() -> channel.receive()).isInstanceOf(java.net.SocketTimeoutException.class)
                .hasMessageContaining("did not answer in time");
        assertThat(System.nanoTime() - start).as("it waited for the timeout").isGreaterThanOrEqualTo(90_000_000L);
    }

    @Test
    void aDaemonThatClosesTheConnectionIsAnEofNamingIt() throws IOException {
        peer.close();
        assertThatThrownBy(() -> channel.receive()).isInstanceOf(java.io.EOFException.class)
                .hasMessageContaining("closed the connection");
    }

    @Test
    void connectingWhereNoDaemonListensIsAnIOExceptionNamingTheCall() {
        assertThatThrownBy(() -> DaemonChannel.connect(dir.resolve("none.sock"))).isInstanceOf(IOException.class)
                .hasMessageContaining("connect(").hasMessageContaining("ENOENT");
    }

    @Test
    void framesQueuedTogetherAreReadOneByOneWithNothingLost() throws IOException {
        byte[] one = Frames.frame(ProtocolCodec.encode(new Response.Released("lease-1")));
        byte[] two = Frames.frame(ProtocolCodec.encode(new Response.Released("lease-2")));
        byte[] both = java.util.Arrays.copyOf(one, one.length + two.length);
        System.arraycopy(two, 0, both, one.length, two.length);
        // One write, one message: the first read takes both frames into the buffer.
        assertThat(UnixRights.sendFds(peerFd(), both, new int[0])).isEqualTo(both.length);
        assertThat(channel.receive()).as("the first frame").isEqualTo(new Response.Released("lease-1"));
        assertThat(channel.receive()).as("the second, from the buffer").isEqualTo(new Response.Released("lease-2"));
    }

    @Test
    void aFrameLargerThanOneReadIsReadWhole() throws IOException {
        String message = "x".repeat(20_000); // more than the channel's 8 KiB read buffer
        byte[] frame = Frames.frame(ProtocolCodec.encode(new Response.Error(ErrorCode.BUSY, message)));
        byte[] next = Frames.frame(ProtocolCodec.encode(new Response.Released("after")));
        assertThat(UnixRights.sendFds(peerFd(), frame, new int[0])).isEqualTo(frame.length);
        assertThat(UnixRights.sendFds(peerFd(), next, new int[0])).isEqualTo(next.length);
        assertThat(channel.receive()).as("the large frame").isEqualTo(new Response.Error(ErrorCode.BUSY, message));
        assertThat(channel.receive()).as("and the one after it").isEqualTo(new Response.Released("after"));
    }

    @Test
    void aDescriptorOnAByteOfAFrameIsRefusedAndClosed() throws IOException {
        int fd = memfd("f");
        int before = Descriptors.countOpen();
        byte[] frame = Frames.frame(ProtocolCodec.encode(new Response.Released("lease-1")));
        assertThat(UnixRights.sendFds(peerFd(), frame, new int[] {fd})).isEqualTo(frame.length);
        assertThatThrownBy(() -> channel.receive()).as("a descriptor riding on a frame")
                .isInstanceOf(IOException.class).hasMessageContaining("descriptors on a byte of a frame");
        assertThat(Descriptors.countOpen()).as("the descriptor received with the frame was closed").isEqualTo(before);
    }

    @Test
    void aByteCarryingTwoDescriptorsIsRefusedAndNothingLeaks() throws IOException {
        int[] fds = {memfd("p"), memfd("q")};
        int before = Descriptors.countOpen();
        assertThat(UnixRights.sendFds(peerFd(), new byte[] {0}, fds)).isEqualTo(1);
        assertThatThrownBy(() -> channel.receiveDescriptors(2))
                .as("two descriptors on one byte break the protocol")
                .isInstanceOf(IOException.class).hasMessageContaining("carried 2 descriptor(s)");
        assertThat(Descriptors.countOpen()).as("every received descriptor was closed").isEqualTo(before);
    }

    @Test
    void anyJavaFileDescriptorCastsToItsNumberAsAcquireWithFileDescriptorsNeeds() throws IOException {
        // RingwardenClient.acquire(String, FileDescriptor...) relies on this for files and sockets alike.
        try (var in = new java.io.FileInputStream(dir.resolve("f").toFile().exists() ? dir.resolve("f").toFile()
                : Files.writeString(dir.resolve("f"), "x").toFile())) {
            int fd = FileDescriptorCast.using(in.getFD()).as(Integer.class);
            assertThat(identity(fd)).as("the number is the stream's descriptor").isEqualTo(dir.resolve("f").toString());
        }
    }

    @Test
    void aByteWithoutDescriptorIsRefused() throws IOException {
        int before = Descriptors.countOpen();
        int fd = memfd("r");
        assertThat(UnixRights.sendFds(peerFd(), new byte[] {0}, new int[] {fd})).isEqualTo(1);
        assertThat(UnixRights.sendFds(peerFd(), new byte[] {0}, new int[0])).isEqualTo(1);
        assertThatThrownBy(() -> channel.receiveDescriptors(2))
                .isInstanceOf(IOException.class).hasMessageContaining("carried 0 descriptor(s)");
        assertThat(Descriptors.countOpen()).as("the first descriptor was closed when the second byte failed")
                .isEqualTo(before + 1);
    }
}
