package org.ringwarden.client;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.UnixSockets;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;

/**
 * {@link BrokeredRing} on real rings prepared in-process the way the daemon prepares them
 * ({@link LocalGrant}): translation of registered-buffer addresses, the policy check and the
 * kernel's own refusal behind it, client enabling and the single issuer, every typed operation,
 * and no allocation per operation.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@RequiresRings
class BrokeredRingTest {
    private static final List<IoUringOp> READER_OPS = List.of(IoUringOp.NOP, IoUringOp.READ_FIXED);

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private final List<Integer> fds = new ArrayList<>();
    private Path file;
    private byte[] content;

    @BeforeEach
    void dataFile() throws IOException {
        // /var/tmp: a regular filesystem (tmpfs reads take another path in io_uring).
        file = Files.createTempFile(Path.of("/var/tmp"), "rw-client-test", ".dat");
        content = new byte[64 * 1024];
        new Random(7).nextBytes(content);
        Files.write(file, content);
    }

    @AfterEach
    void clean() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
        for (int fd : fds) {
            Descriptors.closeQuietly(fd);
        }
        Files.deleteIfExists(file);
    }

    private int open(Path p, int flags) {
        int fd = Descriptors.open(p.toString(), flags | Descriptors.O_CLOEXEC, 0);
        fds.add(fd);
        return fd;
    }

    private BrokeredRing ring(String policy, List<IoUringOp> ops, List<SqeFlag> allowed, List<SqeFlag> required,
                              boolean enable, long setupFlags, int... files) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < files.length; i++) {
            names.add(i == 0 ? "data" : "file" + i);
        }
        LocalGrant g = LocalGrant.prepare(policy, ops, allowed, required, files, names, 1 << 20, enable, setupFlags);
        cleanup.add(g);
        BrokeredRing r = g.deliver();
        cleanup.add(r);
        return r;
    }

    private BrokeredRing reader() {
        return ring("reader", READER_OPS, List.of(), List.of(SqeFlag.FIXED_FILE), true, 0,
                open(file, Descriptors.O_RDONLY));
    }

    private static int[] one(BrokeredRing ring) {
        ring.submitAndWait(1);
        CompletionCursor c = ring.completions();
        assertThat(c.next()).as("a completion is ready").isTrue();
        int[] r = {(int) c.userData(), c.result()};
        c.release();
        return r;
    }

    @Test
    void readFixedLandsInTheClientsOwnMappingThroughTheTranslatedAddress() {
        BrokeredRing ring = reader();
        RegisteredBuffer io = ring.buffer("io");
        ring.prepare().readFixed(ring.file("data"), io, 4096, 8192, 16384).userData(5);
        int[] r = one(ring);
        assertThat(r).as("user data 5, 8192 bytes read").containsExactly(5, 8192);
        byte[] got = io.segment().asSlice(4096, 8192).toArray(JAVA_BYTE);
        byte[] want = java.util.Arrays.copyOfRange(content, 16384, 16384 + 8192);
        assertThat(got).as("the file's bytes at 16 KiB appear at offset 4 KiB of the client's mapping").isEqualTo(want);
    }

    @Test
    void aSliceOfTheClientMappingIsTranslatedToo() {
        BrokeredRing ring = reader();
        MemorySegment slice = ring.buffer("io").segment().asSlice(65536, 4096);
        ring.prepare().readFixed(ring.file("data"), slice, 0).userData(1);
        assertThat(one(ring)[1]).isEqualTo(4096);
        assertThat(slice.toArray(JAVA_BYTE)).isEqualTo(java.util.Arrays.copyOf(content, 4096));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment foreign = a.allocate(4096);
            assertThatThrownBy(() -> ring.prepare().readFixed(0, foreign, 0))
                    .as("memory outside every registered buffer cannot be used for READ_FIXED")
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not inside a registered buffer");
        }
    }

    @Test
    void writeFixedSendsTheClientsBytesToTheFile() throws IOException {
        int rw = open(file, Descriptors.O_RDWR);
        BrokeredRing ring = ring("writer", List.of(IoUringOp.WRITE_FIXED), List.of(), List.of(SqeFlag.FIXED_FILE),
                true, 0, rw);
        RegisteredBuffer io = ring.buffer("io");
        io.segment().setString(0, "hello from the client mapping", StandardCharsets.US_ASCII);
        ring.prepare().writeFixed(ring.file("data"), io, 0, 29, 100).userData(9);
        assertThat(one(ring)).containsExactly(9, 29);
        byte[] onDisk = Files.readAllBytes(file);
        assertThat(new String(onDisk, 100, 29, StandardCharsets.US_ASCII)).isEqualTo("hello from the client mapping");
    }

    @Test
    void aDisallowedOpcodeIsRefusedBeforeTheKernelWithTheOpcodeAndPolicyNamed() {
        BrokeredRing ring = reader();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(4096);
            assertThatThrownBy(() -> ring.prepare().read(ring.file("data"), buf, 0))
                    .isInstanceOf(PolicyViolationException.class)
                    .hasMessage("READ is not allowed by policy 'reader'; allowed: NOP, READ_FIXED")
                    .satisfies(e -> {
                        assertThat(((PolicyViolationException) e).refused()).isEqualTo("READ");
                        assertThat(((PolicyViolationException) e).policy()).isEqualTo("reader");
                    });
        }
        assertThat(ring.pending()).as("the refused SQE was never written").isZero();
        ring.prepare().nop().userData(3);
        assertThat(one(ring)).as("the ring still works").containsExactly(3, 0);
    }

    @Test
    void withTheCheckOffTheKernelRefusesWhatTheCheckWouldHaveCaught() {
        BrokeredRing ring = reader().checkPolicy(false);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(4096);
            ring.prepare().read(ring.file("data"), buf, 0).userData(77);
            int[] r = one(ring);
            assertThat(r).as("the kernel's restriction completes READ with -EACCES").containsExactly(77,
                    -Errno.EACCES.number());
            assertThat(buf.get(JAVA_LONG, 0)).as("nothing was read").isZero();
        }
    }

    @Test
    void aDisallowedFlagAndAMissingRequiredFlagAreNamed() {
        BrokeredRing ring = reader();
        assertThatThrownBy(() -> ring.prepare().readFixed(ring.file("data"), ring.buffer("io"), 0, 10, 0).link())
                .isInstanceOf(PolicyViolationException.class)
                .hasMessage("SQE flag IO_LINK is not allowed by policy 'reader'; allowed flags: FIXED_FILE");
        assertThatThrownBy(() -> ring.prepare().readFixed(ring.file("data"), ring.buffer("io"), 0, 10, 0).plainDescriptor())
                .isInstanceOf(PolicyViolationException.class)
                .hasMessage("READ_FIXED without FIXED_FILE: policy 'reader' requires FIXED_FILE on every SQE");
        assertThat(ring.pending()).as("the refused SQEs were given back, not queued").isZero();
        ring.prepare().nop().userData(4);
        assertThat(one(ring)).as("the next SQE takes the slot and runs").containsExactly(4, 0);
    }

    @Test
    void linkedOperationsRunInOrderAndAFailedLinkCancelsTheRest() {
        int rd = open(file, Descriptors.O_RDONLY);
        BrokeredRing ring = ring("linker", List.of(IoUringOp.NOP, IoUringOp.READ_FIXED),
                List.of(SqeFlag.IO_LINK, SqeFlag.FIXED_FILE), List.of(), true, 0, rd);
        ring.prepare().nop().userData(1).link();
        ring.prepare().readFixed(ring.file("data"), ring.buffer("io"), 0, 100, 0).userData(2).link();
        ring.prepare().nop().userData(3);
        ring.submitAndWait(3);
        List<String> seen = new ArrayList<>();
        ring.reap((ud, res, fl) -> seen.add(ud + ":" + res));
        assertThat(seen).containsExactly("1:0", "2:100", "3:0");
        // A short read breaks a link chain: the READ_FIXED at EOF reads 0 < 100 bytes.
        ring.prepare().readFixed(ring.file("data"), ring.buffer("io"), 0, 100, content.length).userData(4).link();
        ring.prepare().nop().userData(5);
        ring.submitAndWait(2);
        seen.clear();
        ring.reap((ud, res, fl) -> seen.add(ud + ":" + res));
        assertThat(seen).containsExactly("4:0", "5:" + -Errno.ECANCELED.number());
    }

    @Test
    void aClientEnabledSingleIssuerRingIsEnabledByTheFirstSubmitterWhichBecomesItsOnlyIssuer() throws Exception {
        BrokeredRing ring = ring("issuer", READER_OPS, List.of(), List.of(), false, SetupFlag.SINGLE_ISSUER.abi());
        assertThat(ring.enabledByDaemon()).isFalse();
        assertThat(ring.singleIssuer()).isTrue();
        assertThat(ring.issuer()).as("nobody enabled it yet").isNull();
        AtomicReference<Throwable> fromOther = new AtomicReference<>();
        Thread worker = Thread.ofPlatform().name("ring-issuer").start(() -> {
            ring.prepare().nop().userData(1);
            ring.submitAndWait(1);
            ring.completions().next();
            ring.completions().release();
        });
        worker.join();
        assertThat(ring.issuer()).as("the thread that submitted first is the issuer").isSameAs(worker);
        ring.prepare().nop().userData(2);
        assertThatThrownBy(ring::submit).as("the test thread is not the issuer")
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("SINGLE_ISSUER")
                .hasMessageContaining("'ring-issuer'");
    }

    @Test
    void theKernelRefusesAnotherThreadOnASingleIssuerRingToo() throws Exception {
        // Without the library's thread check (a new BrokeredRing over the same fd knows no issuer), the kernel says EEXIST.
        LocalGrant g = LocalGrant.prepare("issuer", READER_OPS, List.of(), List.of(), new int[0], List.of(), 4096, false,
                SetupFlag.SINGLE_ISSUER.abi());
        cleanup.add(g);
        BrokeredRing first = g.deliver();
        cleanup.add(first);
        Thread t = Thread.ofPlatform().start(first::enable);
        t.join();
        BrokeredRing second = BrokeredRing.map(null, new org.ringwarden.protocol.Response.Grant(g.grant.lease(),
                g.grant.policy(), 1, 1, new org.ringwarden.protocol.Response.Ring(g.grant.ring().sqEntries(),
                g.grant.ring().cqEntries(), g.grant.ring().setupFlags(), g.grant.ring().features(), true,
                g.grant.ring().sqOff(), g.grant.ring().cqOff()), g.grant.files(), g.grant.buffers(), g.grant.allowed()),
                Descriptors.dupCloexec(g.ringFd), new int[] {Descriptors.dupCloexec(g.memfd)});
        cleanup.add(second);
        second.prepare().nop();
        assertThatThrownBy(second::submit).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("SINGLE_ISSUER");
    }

    @Test
    void aFullSubmissionQueueIsReportedNotSilentlySubmitted() {
        BrokeredRing ring = reader();
        for (int i = 0; i < ring.sqEntries(); i++) {
            ring.prepare().nop().userData(i);
        }
        assertThatThrownBy(() -> ring.prepare().nop()).isInstanceOf(SubmissionQueueFullException.class);
        assertThat(ring.submitAndWait(ring.sqEntries())).isEqualTo(ring.sqEntries());
        assertThat(ring.reap((u, r, f) -> { })).isEqualTo(ring.sqEntries());
    }

    @Test
    void everyTypedOperationDoesWhatItsNameSays() throws Exception {
        int[] sp = UnixSockets.socketpair(UnixSockets.SOCK_STREAM | UnixSockets.SOCK_CLOEXEC);
        fds.add(sp[0]);
        fds.add(sp[1]);
        int rw = open(file, Descriptors.O_RDWR);
        BrokeredRing ring = ring("all", null, List.of(), List.of(), true, 0, rw, sp[0], sp[1]);
        int data = ring.file("data");
        int a = ring.file("file1");
        int b = ring.file("file2");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(4096);
            MemorySegment out = arena.allocateFrom("ping", StandardCharsets.US_ASCII);
            // WRITE, READ, FSYNC
            ring.prepare().write(data, out.asSlice(0, 4), 0).userData(1).link();
            ring.prepare().fsync(data, true).userData(2).link();
            ring.prepare().read(data, buf.asSlice(0, 4), 0).userData(3);
            assertThat(results(ring, 3)).containsExactly("1:4", "2:0", "3:4");
            assertThat(ascii(buf.asSlice(0, 4))).isEqualTo("ping");
            // WRITEV, READV
            MemorySegment iov = arena.allocate(32, 8);
            iov.set(JAVA_LONG, 0, out.address());
            iov.set(JAVA_LONG, 8, 2);
            iov.set(JAVA_LONG, 16, out.address() + 2);
            iov.set(JAVA_LONG, 24, 2);
            ring.prepare().writev(data, iov, 2, 10).userData(4);
            assertThat(results(ring, 1)).containsExactly("4:4");
            MemorySegment riov = arena.allocate(16, 8);
            riov.set(JAVA_LONG, 0, buf.address() + 100);
            riov.set(JAVA_LONG, 8, 4);
            ring.prepare().readv(data, riov, 1, 10).userData(5);
            assertThat(results(ring, 1)).containsExactly("5:4");
            assertThat(ascii(buf.asSlice(100, 4))).as("READV read what WRITEV wrote").isEqualTo("ping");
            // SEND, RECV on registered sockets
            ring.prepare().send(a, out.asSlice(0, 4), 0).userData(6).link();
            ring.prepare().recv(b, buf.asSlice(200, 4), 0).userData(7);
            assertThat(results(ring, 2)).containsExactly("6:4", "7:4");
            // SENDMSG, RECVMSG
            MemorySegment msg = arena.allocate(56, 8);
            msg.set(JAVA_LONG, 16, iov.address()); // msg_iov
            msg.set(JAVA_LONG, 24, 2);             // msg_iovlen
            MemorySegment rmsg = arena.allocate(56, 8);
            rmsg.set(JAVA_LONG, 16, riov.address());
            rmsg.set(JAVA_LONG, 24, 1);
            ring.prepare().sendmsg(a, msg, 0).userData(8).link();
            ring.prepare().recvmsg(b, rmsg, 0).userData(9);
            assertThat(results(ring, 2)).containsExactly("8:4", "9:4");
            // POLL_ADD bounded by LINK_TIMEOUT: nothing to read, so the timeout fires and cancels the poll
            MemorySegment ts = arena.allocate(16, 8);
            ts.set(JAVA_LONG, 0, 0);
            ts.set(JAVA_LONG, 8, 20_000_000);
            ring.prepare().pollAdd(b, 1).userData(10).link();
            ring.prepare().linkTimeout(ts, false).userData(11);
            assertThat(results(ring, 2)).containsExactlyInAnyOrder("10:" + -Errno.ECANCELED.number(),
                    "11:" + -Errno.ETIME.number());
            // TIMEOUT
            ring.prepare().timeout(ts, 0, false).userData(12);
            assertThat(results(ring, 1)).containsExactly("12:" + -Errno.ETIME.number());
            // ASYNC_CANCEL of a pending poll
            ring.prepare().pollAdd(b, 1).userData(13);
            ring.submit();
            ring.prepare().cancel(13).userData(14);
            assertThat(results(ring, 2)).containsExactlyInAnyOrder("13:" + -Errno.ECANCELED.number(), "14:0");
            // CLOSE of a fixed slot; the slot is then empty (EBADF)
            ring.prepare().close(b).userData(15);
            assertThat(results(ring, 1)).containsExactly("15:0");
            ring.prepare().recv(b, buf.asSlice(0, 4), 0).userData(16);
            assertThat(results(ring, 1)).containsExactly("16:" + -Errno.EBADF.number());
        }
    }

    @Test
    void acceptAndConnectThroughFixedSockets() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "rw-sock");
        Path sockPath = dir.resolve("l.sock");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(110);
            addr.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) UnixSockets.AF_UNIX);
            addr.setString(2, sockPath.toString());
            long addrLen = 2 + sockPath.toString().length() + 1;
            int listenFd = socket();
            int clientFd = socket();
            org.ringwarden.linux.Syscall.checked("bind", 49, listenFd, addr.address(), addrLen);
            org.ringwarden.linux.Syscall.checked("listen", 50, listenFd, 4);
            BrokeredRing ring = ring("net", null, List.of(), List.of(), true, 0, listenFd, clientFd);
            ring.prepare().accept(ring.file("data"), null, null, Descriptors.O_CLOEXEC).userData(2);
            ring.prepare().connect(ring.file("file1"), addr.asSlice(0, addrLen)).userData(1);
            ring.submitAndWait(2);
            List<long[]> got = new ArrayList<>();
            while (got.size() < 2) {
                ring.awaitCompletions(1);
                ring.reap((ud, res, fl) -> got.add(new long[] {ud, res}));
            }
            for (long[] g : got) {
                assertThat(g[1]).as("op %d succeeded", g[0]).isGreaterThanOrEqualTo(0);
                if (g[0] == 2) {
                    Descriptors.closeQuietly((int) g[1]); // the accepted connection
                }
            }
        } finally {
            Files.deleteIfExists(sockPath);
            Files.deleteIfExists(dir);
        }
    }

    private int socket() {
        int fd = (int) org.ringwarden.linux.Syscall.checked("socket", org.ringwarden.linux.Syscall.SYS_SOCKET,
                UnixSockets.AF_UNIX, UnixSockets.SOCK_STREAM | UnixSockets.SOCK_CLOEXEC, 0);
        fds.add(fd);
        return fd;
    }

    /** Mappings of io_uring rings and memfds in this process (the JVM's own come and go). */
    static long ringMappings() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .filter(l -> l.contains("io_uring") || l.contains("memfd:")).count();
    }

    private static String ascii(MemorySegment m) {
        return new String(m.toArray(JAVA_BYTE), StandardCharsets.US_ASCII);
    }

    private static List<String> results(BrokeredRing ring, int n) {
        ring.submitAndWait(n);
        List<String> seen = new ArrayList<>();
        while (seen.size() < n) {
            ring.awaitCompletions(1);
            ring.reap((ud, res, fl) -> seen.add(ud + ":" + res));
        }
        return seen;
    }

    @Test
    void closingUnmapsAndClosesEverythingItHeld() throws IOException {
        LocalGrant g = LocalGrant.prepare("reader", READER_OPS, List.of(), List.of(), new int[0], List.of(), 1 << 20,
                true, 0);
        try {
            BrokeredRing warm = g.deliver(); // loads every class the cycle needs, which opens jars
            warm.prepare().nop();
            warm.submitAndWait(1);
            warm.close();
            int withGrant = Descriptors.countOpen();
            long mapsWithGrant = ringMappings();
            for (int i = 0; i < 50; i++) {
                BrokeredRing r = g.deliver();
                if (i == 0) {
                    assertThat(ringMappings()).as("an open ring shows its ring and buffer mappings")
                            .isGreaterThanOrEqualTo(mapsWithGrant + 2);
                }
                r.prepare().nop();
                r.submitAndWait(1);
                CompletionCursor c = r.completions();
                assertThat(c.next()).as("the NOP's completion").isTrue();
                SubmissionEntry e = r.prepare().nop(); // an SQE claimed, never submitted
                r.close();
                r.close();
                assertThatThrownBy(r::prepare).isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(c::userData).as("the cursor's completion, read after close")
                        .isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(e::nop).as("an entry prepared before close").isInstanceOf(IllegalStateException.class);
                // The SQE array is unmapped by close: a modifier must be refused, not write there.
                assertThatThrownBy(() -> e.userData(5)).as("a modifier of an SQE claimed before close")
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
                assertThatThrownBy(() -> r.buffer("io").segment().get(JAVA_INT, 0))
                        .as("the buffer mapping is gone with the ring").isInstanceOf(IllegalStateException.class);
            }
            assertThat(Descriptors.countOpen()).as("no descriptor left by 50 rings").isEqualTo(withGrant);
            assertThat(ringMappings()).as("no ring or buffer mapping left by 50 rings")
                    .isEqualTo(mapsWithGrant);
        } finally {
            g.close();
        }
    }

    @Test
    void steadyStateSubmissionAndCompletionAllocateNothing() {
        BrokeredRing ring = reader();
        RegisteredBuffer io = ring.buffer("io");
        int data = ring.file("data");
        long[] sum = new long[1];
        org.ringwarden.linux.uring.CompletionHandler h = (ud, res, fl) -> sum[0] += res;
        Runnable batch = () -> {
            for (int i = 0; i < 16; i++) {
                ring.prepare().readFixed(data, io, (long) i * 4096, 4096, (long) (i % 16) * 4096).userData(i);
            }
            ring.submitAndWait(16);
            ring.reap(h);
            for (int i = 0; i < 16; i++) {
                ring.prepare().nop().userData(i);
            }
            ring.submitAndWait(16);
            CompletionCursor c = ring.completions();
            while (c.next()) {
                sum[0] += c.result();
            }
        };
        for (int i = 0; i < 20_000; i++) {
            batch.run(); // let the JIT compile the path
        }
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 5_000; i++) {
            batch.run();
        }
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        assertThat(allocated).as("bytes allocated by 160,000 operations (prepare, submit, reap, cursor)")
                .isLessThan(16 * 1024);
        assertThat(sum[0]).isPositive();
    }
}
