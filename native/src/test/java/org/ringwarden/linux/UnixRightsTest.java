package org.ringwarden.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.SetupFlag;

@Timeout(20)
class UnixRightsTest {
    @Test
    void controlMessageSizesFollowCmsgMacros() {
        assertThat(UnixRights.cmsgLen(4)).as("CMSG_LEN(4)").isEqualTo(20);
        assertThat(UnixRights.cmsgSpace(4)).as("CMSG_SPACE(4)").isEqualTo(24);
        assertThat(UnixRights.cmsgSpace(12)).as("CMSG_SPACE(12)").isEqualTo(32);
    }

    @ParameterizedTest(name = "socket type {0}, ring R_DISABLED={1}")
    @CsvSource({"1, false", "1, true", "5, false", "5, true"})
    @org.ringwarden.linux.uring.RequiresRings
    void scmRightsRefusesAnIoUringFdWithEinval(int socketType, boolean disabled) {
        int[] sv = UnixSockets.socketpair(socketType);
        IoUringCalls.CreatedRing ring = IoUringCalls.create(4, 0, disabled ? SetupFlag.R_DISABLED.abi() : 0);
        try {
            assertThatThrownBy(() -> UnixRights.sendFds(sv[0], new byte[] {0}, new int[] {ring.fd()}))
                    .as("sendmsg(SCM_RIGHTS, ring fd) on %s", socketType == 1 ? "SOCK_STREAM" : "SOCK_SEQPACKET")
                    .isInstanceOfSatisfying(KernelException.class,
                            e -> assertThat(e.is(Errno.EINVAL)).as("errno of %s", e.getMessage()).isTrue());
            assertThatThrownBy(() -> Descriptors.open("/proc/self/fd/" + ring.fd(), Descriptors.O_RDWR, 0))
                    .as("reopening a ring through /proc/self/fd")
                    .isInstanceOfSatisfying(KernelException.class,
                            e -> assertThat(e.is(Errno.ENXIO)).as("errno of %s", e.getMessage()).isTrue());
        } finally {
            Descriptors.close(ring.fd());
            Descriptors.close(sv[0]);
            Descriptors.close(sv[1]);
        }
    }

    @ParameterizedTest(name = "socket type {0}")
    @ValueSource(ints = {UnixSockets.SOCK_STREAM, UnixSockets.SOCK_SEQPACKET})
    void anOrdinaryFdArrivesUsableAndCloseOnExec(int socketType) {
        int[] sv = UnixSockets.socketpair(socketType);
        int memfd = Memory.memfdCreate("scm-rights-test", Memory.MFD_CLOEXEC);
        int received = -1;
        try (Arena arena = Arena.ofConfined()) {
            byte[] text = "through the socket".getBytes(StandardCharsets.UTF_8);
            MemorySegment out = arena.allocateFrom(JAVA_BYTE, text);
            Syscall.checked("pwrite64", Syscall.SYS_PWRITE64, memfd, out.address(), text.length, 0);

            assertThat(UnixRights.sendFds(sv[0], new byte[] {42}, new int[] {memfd})).as("bytes sent").isEqualTo(1);
            byte[] buf = new byte[8];
            UnixRights.Received r = UnixRights.recvFds(sv[1], buf, 4);
            assertThat(r.bytes()).as("bytes received").isEqualTo(1);
            assertThat(buf[0]).as("the data byte").isEqualTo((byte) 42);
            assertThat(r.controlTruncated()).as("MSG_CTRUNC").isFalse();
            assertThat(r.fds()).as("descriptors received").hasSize(1);
            received = r.fds()[0];
            assertThat(received).as("a new descriptor, not ours").isNotEqualTo(memfd);
            assertThat(Descriptors.fcntl(received, Descriptors.F_GETFD, 0) & Descriptors.FD_CLOEXEC)
                    .as("MSG_CMSG_CLOEXEC").isEqualTo(Descriptors.FD_CLOEXEC);
            MemorySegment in = arena.allocate(text.length);
            long n = Syscall.checked("pread64", Syscall.SYS_PREAD64, received, in.address(), text.length, 0);
            assertThat(n).as("bytes read through the received fd").isEqualTo(text.length);
            assertThat(in.toArray(JAVA_BYTE)).as("the same file").isEqualTo(text);
        } finally {
            Descriptors.closeQuietly(received);
            Descriptors.close(memfd);
            Descriptors.close(sv[0]);
            Descriptors.close(sv[1]);
        }
    }

    @Test
    void moreFdsThanRoomAreTruncatedAndTheRestClosedByTheKernel() {
        int[] sv = UnixSockets.socketpair(UnixSockets.SOCK_SEQPACKET);
        int a = Memory.memfdCreate("a", Memory.MFD_CLOEXEC);
        int b = Memory.memfdCreate("b", Memory.MFD_CLOEXEC);
        int c = Memory.memfdCreate("c", Memory.MFD_CLOEXEC);
        UnixRights.Received r = null;
        try {
            int before = Descriptors.countOpen();
            UnixRights.sendFds(sv[0], new byte[] {1}, new int[] {a, b, c});
            r = UnixRights.recvFds(sv[1], new byte[1], 1);
            assertThat(r.fds()).as("received fds when room for one").hasSize(1);
            assertThat(r.controlTruncated()).as("MSG_CTRUNC when fds did not fit").isTrue();
            assertThat(Descriptors.countOpen()).as("fds that did not fit were not installed").isEqualTo(before + 1);
            r.closeAll();
            UnixRights.sendFds(sv[0], new byte[] {2}, new int[] {a});
            r = UnixRights.recvFds(sv[1], new byte[1], 0);
            assertThat(r.fds()).as("received fds when room for none").isEmpty();
            assertThat(r.controlTruncated()).as("MSG_CTRUNC when no room at all").isTrue();
            assertThat(Descriptors.countOpen()).as("nothing installed").isEqualTo(before);
        } finally {
            if (r != null) {
                r.closeAll();
            }
            Descriptors.close(a);
            Descriptors.close(b);
            Descriptors.close(c);
            Descriptors.close(sv[0]);
            Descriptors.close(sv[1]);
        }
    }

    @Test
    void emptyDataIsRefusedBeforeTheKernel() {
        assertThatThrownBy(() -> UnixRights.sendFds(0, new byte[0], new int[] {1})).as("no byte to ride on")
                .isInstanceOf(IllegalArgumentException.class);
    }
}
