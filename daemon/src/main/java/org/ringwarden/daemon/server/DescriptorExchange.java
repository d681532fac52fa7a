package org.ringwarden.daemon.server;

import java.util.Arrays;
import java.util.function.Consumer;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.UnixRights;

import io.netty.channel.Channel;
import io.netty.channel.unix.UnixChannel;

/**
 * Moves descriptors across a connection outside Netty's byte path: {@code k} single bytes of
 * value 0, each carrying exactly one descriptor as {@code SCM_RIGHTS} (protocol.md, "Frames").
 *
 * <p>Why not Netty's own descriptor support ({@code DomainSocketReadMode.FILE_DESCRIPTORS} and
 * {@code FileDescriptor} writes)? Read in Netty's source (transport-native-unix-common,
 * {@code netty_unix_socket_recvFd}/{@code sendFd}): the receiving side calls
 * {@code fcntl(fd, F_SETFL, O_NONBLOCK)} on every descriptor it gets, which changes the
 * <em>client's</em> open file description (its own files would turn non-blocking under it),
 * receives without {@code MSG_CMSG_CLOEXEC}, and turns a byte that carries no descriptor into
 * a bogus negative "descriptor"; the sending side sends one byte of uninitialised stack, not
 * the 0 the protocol promises. So the daemon does both with {@code recvmsg}/{@code sendmsg}
 * itself ({@link UnixRights}), on the channel's event loop, while the channel's own reading is
 * paused ({@code autoRead} off) so that nothing else touches the socket.
 *
 * <p>The socket is non-blocking: an attempt that would block waits for the socket to become
 * readable (writable) through the event loop's own epoll ({@link SocketReadiness}) and is made
 * again the moment it is, so descriptors are read as soon as they arrive (what the earlier
 * timed retries cost: bench/README.md, "Acquire cost"). A hostile peer that never sends costs
 * one epoll entry and one timer until the deadline, not a blocked thread.
 */
final class DescriptorExchange {
    private static final byte[] ZERO = {0};
    /** The end of an exchange: the descriptors, or why it failed (every received descriptor already closed). */
    sealed interface Outcome {
        record Received(int[] fds) implements Outcome {
        }

        record Sent() implements Outcome {
        }

        record Failed(String reason) implements Outcome {
        }
    }

    private DescriptorExchange() {
    }

    /**
     * Receives exactly {@code count} descriptors, one per byte of value 0, before
     * {@code deadlineNanos} ({@link System#nanoTime()}); calls {@code done} on the event loop.
     * A different count (a byte without a descriptor, a byte with several, a non-zero byte,
     * end of stream, the deadline) closes every descriptor received and fails.
     */
    static void receive(Channel channel, int count, long deadlineNanos, Consumer<Outcome> done) {
        new Receiver(channel, count, deadlineNanos, done).attempt();
    }

    /** Sends {@code fds} in order, one per byte of value 0, before the deadline; our copies stay open. */
    static void send(Channel channel, int[] fds, long deadlineNanos, Consumer<Outcome> done) {
        new Sender(channel, fds.clone(), deadlineNanos, done).attempt();
    }

    private static int socketFd(Channel channel) {
        return ((UnixChannel) channel).fd().intValue();
    }

    private static boolean wouldBlock(KernelException e) {
        return e.is(Errno.EAGAIN);
    }

    private abstract static class Attempt {
        final Channel channel;
        final long deadlineNanos;
        final Consumer<Outcome> done;
        /** True for a send (wait until writable), false for a receive (until readable). */
        private final boolean writes;

        Attempt(Channel channel, long deadlineNanos, Consumer<Outcome> done, boolean writes) {
            this.channel = channel;
            this.deadlineNanos = deadlineNanos;
            this.done = done;
            this.writes = writes;
        }

        abstract void attempt();

        /** Attempts again once the socket is ready, or fails at the deadline or when the connection closes. */
        void retryOrFail(String what) {
            if (System.nanoTime() - deadlineNanos >= 0) {
                fail("timed out " + what);
                return;
            }
            try {
                SocketReadiness.await(channel, writes, deadlineNanos, why -> {
                    switch (why) {
                        case READY -> attempt();
                        case DEADLINE -> fail("timed out " + what);
                        case CLOSED -> fail("the connection closed " + what);
                    }
                });
            } catch (KernelException e) {
                fail("cannot wait for the socket (" + e.getMessage() + ") " + what);
            }
        }

        abstract void fail(String reason);
    }

    private static final class Receiver extends Attempt {
        private final int count;
        private int[] got = new int[0];

        Receiver(Channel channel, int count, long deadlineNanos, Consumer<Outcome> done) {
            super(channel, deadlineNanos, done, false);
            this.count = count;
        }

        @Override
        void attempt() {
            if (!channel.isOpen()) {
                fail("the connection closed");
                return;
            }
            byte[] one = new byte[1];
            while (got.length < count) {
                UnixRights.Received r;
                try {
                    // maxFds = count: room to see (and then refuse) a message that carries several.
                    r = UnixRights.recvFds(socketFd(channel), one, count);
                } catch (KernelException e) {
                    if (wouldBlock(e)) {
                        retryOrFail("waiting for " + count + " descriptor(s), got " + got.length);
                    } else {
                        fail("recvmsg failed: " + e.getMessage());
                    }
                    return;
                }
                int[] fds = r.fds();
                got = concat(got, fds);
                if (r.bytes() == 0) {
                    fail("the peer closed the connection after " + got.length + " of " + count + " descriptor(s)");
                    return;
                }
                if (r.controlTruncated()) {
                    fail("the peer sent more descriptors in one message than announced");
                    return;
                }
                if (fds.length != 1) {
                    fail("each descriptor byte must carry exactly one descriptor; one carried " + fds.length);
                    return;
                }
                if (one[0] != 0) {
                    fail("a descriptor byte must be 0, not " + (one[0] & 0xff));
                    return;
                }
            }
            int[] result = got;
            got = new int[0];
            done.accept(new Outcome.Received(result));
        }

        @Override
        void fail(String reason) {
            for (int fd : got) {
                Descriptors.closeQuietly(fd);
            }
            got = new int[0];
            done.accept(new Outcome.Failed(reason));
        }

        private static int[] concat(int[] a, int[] b) {
            if (b.length == 0) {
                return a;
            }
            int[] c = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, c, a.length, b.length);
            return c;
        }
    }

    private static final class Sender extends Attempt {
        private final int[] fds;
        private int sent;

        Sender(Channel channel, int[] fds, long deadlineNanos, Consumer<Outcome> done) {
            super(channel, deadlineNanos, done, true);
            this.fds = fds;
        }

        @Override
        void attempt() {
            if (!channel.isOpen()) {
                fail("the connection closed");
                return;
            }
            while (sent < fds.length) {
                try {
                    int n = UnixRights.sendFds(socketFd(channel), ZERO, new int[] {fds[sent]});
                    if (n != 1) {
                        fail("sendmsg sent " + n + " bytes, not 1");
                        return;
                    }
                    sent++;
                } catch (KernelException e) {
                    if (wouldBlock(e)) {
                        retryOrFail("sending descriptor " + (sent + 1) + " of " + fds.length);
                    } else {
                        fail("sendmsg failed: " + e.getMessage());
                    }
                    return;
                }
            }
            done.accept(new Outcome.Sent());
        }

        @Override
        void fail(String reason) {
            done.accept(new Outcome.Failed(reason));
        }
    }
}
