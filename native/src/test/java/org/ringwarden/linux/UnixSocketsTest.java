package org.ringwarden.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class UnixSocketsTest {
    @Test
    void sendNowSendsWhatTheSocketTakesAndNeverBlocks() throws Exception {
        // A blocking socket: sendNow must not block on it either (MSG_DONTWAIT).
        int[] sv = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
        try {
            byte[] frame = "{\"v\":1}".getBytes();
            assertThat(UnixSockets.sendNow(sv[0], frame)).as("an empty socket takes a small frame whole").isEqualTo(frame.length);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment got = arena.allocate(64);
                long n = Syscall.checked("read", Syscall.SYS_READ, sv[1], got.address(), 64);
                assertThat(got.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE)).as("the bytes, in order").isEqualTo(frame);
            }

            byte[] big = new byte[64 * 1024];
            long sent = 0;
            int r;
            while ((r = UnixSockets.sendNow(sv[0], big)) > 0) {
                sent += r;
                assertThat(sent).as("a peer that reads nothing fills the socket within a few MiB").isLessThan(64L << 20);
            }
            assertThat(r).as("a full socket: -EAGAIN at once, not a blocked thread").isEqualTo(-Errno.EAGAIN.number());
        } finally {
            Descriptors.closeQuietly(sv[0]);
            Descriptors.closeQuietly(sv[1]);
        }
    }

    @Test
    void sendNowToAClosedPeerIsEpipeWithoutSigpipe() {
        int[] sv = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
        Descriptors.closeQuietly(sv[1]);
        try {
            // A SIGPIPE would end the JVM: reaching the assertion is half the proof.
            assertThat(UnixSockets.sendNow(sv[0], new byte[] {1})).isEqualTo(-Errno.EPIPE.number());
        } finally {
            Descriptors.closeQuietly(sv[0]);
        }
    }
}
