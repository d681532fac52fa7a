package org.ringwarden.linux.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.ringwarden.linux.uring.RingFixtures.await;
import static org.ringwarden.linux.uring.RingFixtures.sqe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.Syscall;

/** Operations prepared with {@link Sqe} do on the kernel what they say, through a {@link Ring}. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@RequiresRings
class SqeOperationsTest {
    private static final int POLLIN = 0x1;

    private int openBefore;
    private Arena arena;

    @BeforeEach
    void setUp() {
        assertThat(openBefore).isZero();
        openBefore = Descriptors.countOpen();
        arena = Arena.ofConfined();
    }

    @AfterEach
    void tearDown() {
        arena.close();
        assertThat(Descriptors.countOpen()).as("open descriptors after the test (before: %d): %s", openBefore,
                RingFixtures.openDescriptors()).isEqualTo(openBefore);
    }

    @Test
    void writeFsyncAndReadRoundTripThroughARegularFile() throws Exception {
        Path file = Path.of("target").toAbsolutePath()
                .resolve("sqe-ops-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".bin");
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            res.onClose(() -> Files.deleteIfExists(file));
            int fd = res.fd(Descriptors.open(file.toString(),
                    Descriptors.O_RDWR | Descriptors.O_CREAT | Descriptors.O_EXCL | Descriptors.O_CLOEXEC, 0600));
            Ring ring = res.newRing(8, 0);
            MemorySegment out = arena.allocateFrom("ringwarden writes through io_uring");
            MemorySegment in = arena.allocate(out.byteSize());
            long w = sqe(ring);
            Sqe.prepWrite(ring.sqes(), w, fd, out.address(), (int) out.byteSize(), 100);
            Sqe.setFlags(ring.sqes(), w, SqeFlag.IO_LINK);
            Sqe.setUserData(ring.sqes(), w, 1);
            long s = sqe(ring);
            Sqe.prepFsync(ring.sqes(), s, fd, Sqe.FSYNC_DATASYNC);
            Sqe.setFlags(ring.sqes(), s, SqeFlag.IO_LINK);
            Sqe.setUserData(ring.sqes(), s, 2);
            long r = sqe(ring);
            Sqe.prepRead(ring.sqes(), r, fd, in.address(), (int) in.byteSize(), 100);
            Sqe.setUserData(ring.sqes(), r, 3);
            assertThat(ring.submitAndWait(3)).as("submitted").isEqualTo(3);
            int n = (int) out.byteSize();
            assertThat(await(ring, 3)).as("linked write, fsync, read")
                    .containsOnly(Map.entry(1L, n), Map.entry(2L, 0), Map.entry(3L, n));
            assertThat(in.getString(0)).as("read back").isEqualTo("ringwarden writes through io_uring");
            assertThat(Files.size(file)).as("file size").isEqualTo(100L + n);
        }
    }

    @Test
    void timeoutCompletesWithEtimeAfterItsTime() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(4, 0);
            MemorySegment ts = arena.allocate(IoUringLayout.KERNEL_TIMESPEC);
            ts.set(ValueLayout.JAVA_LONG, 8, 20_000_000L); // 20 ms
            long t = sqe(ring);
            Sqe.prepTimeout(ring.sqes(), t, ts.address(), 0, 0);
            Sqe.setUserData(ring.sqes(), t, 5);
            long start = System.nanoTime();
            ring.submitAndWait(1);
            long waited = System.nanoTime() - start;
            assertThat(await(ring, 1)).as("timeout result").containsOnly(Map.entry(5L, -Errno.ETIME.number()));
            assertThat(waited).as("submitAndWait(1) waited for the timer (ns)").isGreaterThanOrEqualTo(15_000_000L);
        }
    }

    @Test
    void pollAddCompletesWhenThePipeBecomesReadableAndCancelRemovesAPendingPoll() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, 0);
            int[] pipe = res.pipe();
            long p = sqe(ring);
            Sqe.prepPollAdd(ring.sqes(), p, pipe[0], POLLIN);
            Sqe.setUserData(ring.sqes(), p, 1);
            assertThat(ring.submit()).as("poll submitted").isEqualTo(1);
            assertThat(ring.cqReady()).as("no completion while the pipe is empty").isZero();
            MemorySegment b = arena.allocateFrom("x");
            Syscall.checked("write", Syscall.SYS_WRITE, pipe[1], b.address(), 1);
            assertThat(await(ring, 1).get(1L) & POLLIN).as("poll result has POLLIN").isEqualTo(POLLIN);

            int[] idle = res.pipe(); // nothing is ever written to it: the poll stays pending until cancelled
            long q = sqe(ring);
            Sqe.prepPollAdd(ring.sqes(), q, idle[0], POLLIN);
            Sqe.setUserData(ring.sqes(), q, 2);
            ring.submit();
            long c = sqe(ring);
            Sqe.prepAsyncCancel(ring.sqes(), c, 2, 0);
            Sqe.setUserData(ring.sqes(), c, 3);
            ring.submitAndWait(2);
            assertThat(await(ring, 2)).as("cancelled poll and the cancel")
                    .containsOnly(Map.entry(2L, -Errno.ECANCELED.number()), Map.entry(3L, 0));
        }
    }

    @Test
    void sendAndRecvOverASocketPair() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, 0);
            MemorySegment sv = arena.allocate(ValueLayout.JAVA_INT, 2);
            Syscall.checked("socketpair", Syscall.SYS_SOCKETPAIR, 1 /* AF_UNIX */, 1 | 0x80000 /* STREAM|CLOEXEC */, 0,
                    sv.address());
            int a = res.fd(sv.getAtIndex(ValueLayout.JAVA_INT, 0));
            int b = res.fd(sv.getAtIndex(ValueLayout.JAVA_INT, 1));
            MemorySegment msg = arena.allocateFrom("over the socket");
            MemorySegment got = arena.allocate(64);
            long r = sqe(ring);
            Sqe.prepRecv(ring.sqes(), r, b, got.address(), 64, 0);
            Sqe.setUserData(ring.sqes(), r, 2);
            long s = sqe(ring);
            Sqe.prepSend(ring.sqes(), s, a, msg.address(), (int) msg.byteSize(), 0);
            Sqe.setUserData(ring.sqes(), s, 1);
            ring.submitAndWait(2);
            int n = (int) msg.byteSize();
            assertThat(await(ring, 2)).as("send and recv").containsOnly(Map.entry(1L, n), Map.entry(2L, n));
            assertThat(got.getString(0)).as("received").isEqualTo("over the socket");
        }
    }

    @Test
    void closeClosesTheDescriptor() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(4, 0);
            int fd = Descriptors.open("/dev/null", Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0);
            long c = sqe(ring);
            Sqe.prepClose(ring.sqes(), c, fd);
            Sqe.setUserData(ring.sqes(), c, 9);
            ring.submitAndWait(1);
            assertThat(await(ring, 1)).as("close").containsOnly(Map.entry(9L, 0));
            assertThat(Descriptors.isOpen(fd)).as("fd %d after IORING_OP_CLOSE", fd).isFalse();
        }
    }
}
