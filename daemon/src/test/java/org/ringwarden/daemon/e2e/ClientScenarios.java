package org.ringwarden.daemon.e2e;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.ringwarden.client.BrokeredRing;
import org.ringwarden.client.CompletionCursor;
import org.ringwarden.client.DaemonErrorException;
import org.ringwarden.client.DeliveryUnavailableException;
import org.ringwarden.client.PolicyInfo;
import org.ringwarden.client.PolicyViolationException;
import org.ringwarden.client.RegisteredBuffer;
import org.ringwarden.client.RingwardenClient;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.Tasks;
import org.ringwarden.linux.UnixSockets;
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompAction;
import org.ringwarden.linux.seccomp.SeccompFilter;
import org.ringwarden.linux.seccomp.SeccompFilterFlag;
import org.ringwarden.linux.uring.IoUringCalls;

/**
 * The sandboxed side of the end-to-end tests: a separate JVM, run as uid 65534 with setpriv,
 * using only the client library against the real daemon. Each scenario prints {@code OK ...}
 * lines and exits 0, or prints {@code FAIL <why>} and exits 1; {@link ClientEndToEndTest}
 * asserts on both. (No JUnit here: this process must need nothing but the library.)
 *
 * <p>Arguments: {@code SCENARIO SOCKET [ARGS...]}.
 */
public final class ClientScenarios {
    private ClientScenarios() {
    }

    public static void main(String[] args) {
        String scenario = args[0];
        Path socket = Path.of(args[1]);
        String[] rest = java.util.Arrays.copyOfRange(args, 2, args.length);
        try {
            switch (scenario) {
                case "reader" -> reader(socket, rest[0]);
                case "fast-reader" -> fastReader(socket, rest[0]);
                case "appender" -> appender(socket, rest[0]);
                case "net" -> net(socket);
                case "nop" -> nop(socket);
                case "errors" -> errors(socket);
                case "blocked" -> blocked(socket);
                case "collect-fails" -> collectFails(socket);
                case "in-flight" -> inFlight(socket);
                case "cycles" -> cycles(socket, Integer.parseInt(rest[0]));
                case "threads" -> threads(socket);
                case "lockdown" -> lockdown(socket, rest[0]);
                default -> throw new AssertionError("unknown scenario " + scenario);
            }
            System.out.println("DONE " + scenario);
            System.out.flush();
            System.exit(0);
        } catch (Throwable t) {
            System.out.println("FAIL " + t);
            t.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
        System.out.println("OK " + what);
    }

    private static int one(BrokeredRing ring) {
        ring.submitAndWait(1);
        CompletionCursor c = ring.completions();
        if (!c.next()) {
            throw new AssertionError("no completion after submitAndWait(1)");
        }
        int r = c.result();
        c.release();
        return r;
    }

    private static String sha256(MemorySegment m) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(m.toArray(JAVA_BYTE)));
    }

    private static boolean cannotOpen(String path) {
        try {
            Descriptors.close(Descriptors.open(path, Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0));
            return false;
        } catch (KernelException e) {
            return e.is(Errno.EACCES);
        }
    }

    // ------------------------------------------------------------------ the host lock-down

    /**
     * With {@code kernel.io_uring_disabled=1} this uid may not make a ring of its own (before the
     * library installs any filter, so the kernel itself answers), yet reads through a brokered one.
     */
    static void lockdown(Path socket, String expectSha) throws Exception {
        try {
            IoUringCalls.CreatedRing own = IoUringCalls.create(8, 0, 0);
            Descriptors.close(own.fd());
            check(false, "io_uring_setup of our own must fail under kernel.io_uring_disabled=1");
        } catch (KernelException e) {
            check(e.is(Errno.EPERM), "our own io_uring_setup is refused by the kernel: " + e.getMessage());
        }
        reader(socket, expectSha);
    }

    // ------------------------------------------------------------------ each bundled policy

    /** reader: READ_FIXED (and READ, READV into our own memory) of a file only root may open. */
    static void reader(Path socket, String expectSha) throws Exception {
        try (RingwardenClient client = RingwardenClient.connect(socket);
             BrokeredRing ring = client.acquire("reader")) {
            check(Tasks.getuid() == 65534, "running as uid 65534");
            check(client.policies().stream().map(PolicyInfo::name).toList().contains("reader"), "reader is listed");
            RegisteredBuffer io = ring.buffer("io");
            int data = ring.file("data");
            int n = 0;
            for (int off = 0; off < 65536; off += 16384) {
                ring.prepare().readFixed(data, io, off, 16384, off).userData(off);
                n++;
            }
            ring.submitAndWait(n);
            long[] total = {0};
            int got = ring.reap((ud, res, fl) -> total[0] += res);
            check(got == n && total[0] == 65536, "4 READ_FIXED of 16 KiB in one batch read the whole file");
            check(sha256(io.segment().asSlice(0, 65536)).equals(expectSha),
                    "the bytes in the client's mapping are the file's (SHA-256 matches)");
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment own = arena.allocate(65536);
                ring.prepare().read(data, own, 0).userData(7);
                check(one(ring) == 65536 && sha256(own).equals(expectSha), "READ into the client's own memory");
                MemorySegment iov = arena.allocate(32, 8);
                iov.set(JAVA_LONG, 0, own.address());
                iov.set(JAVA_LONG, 8, 100);
                iov.set(JAVA_LONG, 16, own.address() + 100);
                iov.set(JAVA_LONG, 24, 100);
                ring.prepare().readv(data, iov, 2, 0).userData(8);
                check(one(ring) == 200, "READV of two iovecs");
                try {
                    ring.prepare().write(data, own.asSlice(0, 10), 0);
                    throw new AssertionError("the library let a WRITE through");
                } catch (PolicyViolationException e) {
                    check(e.getMessage().equals("WRITE is not allowed by policy 'reader'; allowed: NOP, READV, READ_FIXED,"
                            + " ASYNC_CANCEL, READ, FADVISE"), "WRITE refused by the library: " + e.getMessage());
                }
                ring.checkPolicy(false);
                ring.prepare().write(data, own.asSlice(0, 10), 0).userData(9);
                check(one(ring) == -Errno.EACCES.number(), "with the check off the kernel refuses WRITE with -EACCES");
                ring.checkPolicy(true);
            }
        }
    }

    /** fast-reader: the client enables the ring; the enabling thread is the single issuer (DEFER_TASKRUN). */
    static void fastReader(Path socket, String expectSha) throws Exception {
        try (RingwardenClient client = RingwardenClient.connect(socket);
             BrokeredRing ring = client.acquire("fast-reader")) {
            check(!ring.enabledByDaemon() && ring.singleIssuer() && ring.issuer() == null,
                    "fast-reader arrives disabled, SINGLE_ISSUER, with no issuer yet");
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicReference<String> sha = new AtomicReference<>();
            Thread issuer = Thread.ofPlatform().name("fast-reader-issuer").start(() -> {
                try {
                    RegisteredBuffer io = ring.buffer("io");
                    for (int i = 0; i < 16; i++) {
                        ring.prepare().readFixed(ring.file("data"), io, i * 4096L, 4096, i * 4096L).userData(i);
                    }
                    ring.submitAndWait(16);
                    int[] ok = {0};
                    while (ok[0] < 16) {
                        ring.awaitCompletions(1);
                        ring.reap((ud, res, fl) -> ok[0] += res == 4096 ? 1 : 1000);
                    }
                    if (ok[0] != 16) {
                        throw new AssertionError("short or failed reads: " + ok[0]);
                    }
                    sha.set(sha256(io.segment().asSlice(0, 65536)));
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            issuer.join();
            if (failure.get() != null) {
                throw new AssertionError("issuer thread failed", failure.get());
            }
            check(ring.issuer() == issuer, "the thread that submitted first enabled the ring and is its issuer");
            check(expectSha.equals(sha.get()), "16 READ_FIXED from the issuer read the file");
            ring.prepare().nop();
            try {
                ring.submit();
                throw new AssertionError("another thread could submit");
            } catch (IllegalStateException e) {
                check(e.getMessage().contains("'fast-reader-issuer'"), "another thread is refused, issuer named: "
                        + e.getMessage());
            }
        }
    }

    /** appender: append-only writes through WRITE_FIXED and WRITE, linked with FSYNC. */
    static void appender(Path socket, String logPath) throws Exception {
        check(cannotOpen(logPath) || !Files.exists(Path.of(logPath)), "the log is not ours to open");
        try (RingwardenClient client = RingwardenClient.connect(socket);
             BrokeredRing ring = client.acquire("appender")) {
            RegisteredBuffer out = ring.buffer("out");
            int log = ring.file("log");
            byte[] line1 = "first line, WRITE_FIXED from the registered buffer\n".getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(line1, 0, out.segment(), JAVA_BYTE, 0, line1.length);
            ring.prepare().writeFixed(log, out, 0, line1.length, 0).userData(1).link();
            ring.prepare().fsync(log, true).userData(2);
            ring.submitAndWait(2);
            List<String> seen = new ArrayList<>();
            ring.reap((ud, res, fl) -> seen.add(ud + ":" + res));
            check(seen.equals(List.of("1:" + line1.length, "2:0")), "WRITE_FIXED linked to FSYNC: " + seen);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment own = arena.allocateFrom("second line, WRITE from the client's memory\n",
                        StandardCharsets.US_ASCII);
                ring.prepare().write(log, own.asSlice(0, own.byteSize() - 1), 0).userData(3);
                check(one(ring) == own.byteSize() - 1, "WRITE appended");
            }
            try {
                ring.prepare().readFixed(log, out, 0, 10, 0);
                throw new AssertionError("READ_FIXED allowed on an append-only policy");
            } catch (PolicyViolationException e) {
                check(e.refused().equals("READ_FIXED"), "READ_FIXED refused: " + e.getMessage());
            }
        }
    }

    /** net: the client's own sockets registered as fixed files; SEND/RECV, SENDMSG/RECVMSG, poll, timeouts, cancel. */
    static void net(Path socket) throws Exception {
        int[] sp = UnixSockets.socketpair(UnixSockets.SOCK_STREAM | UnixSockets.SOCK_CLOEXEC);
        try (RingwardenClient client = RingwardenClient.connect(socket);
             BrokeredRing ring = client.acquire("net", sp[0], sp[1]);
             Arena arena = Arena.ofConfined()) {
            int a = ring.clientFile(0);
            int b = ring.clientFile(1);
            check(a == 0 && b == 1 && ring.fileNames().equals(List.of("client-0", "client-1")),
                    "the client's sockets are fixed files 0 and 1 (the policy has none of its own)");
            MemorySegment msg = arena.allocateFrom("hello through a brokered ring", StandardCharsets.US_ASCII);
            int len = (int) msg.byteSize() - 1;
            MemorySegment in = arena.allocate(256);
            ring.prepare().send(a, msg.asSlice(0, len), 0).userData(1).link();
            ring.prepare().recv(b, in.asSlice(0, len), 0).userData(2);
            ring.submitAndWait(2);
            List<String> seen = new ArrayList<>();
            ring.reap((ud, res, fl) -> seen.add(ud + ":" + res));
            check(seen.equals(List.of("1:" + len, "2:" + len)), "SEND then RECV on the client's sockets: " + seen);
            check(new String(in.asSlice(0, len).toArray(JAVA_BYTE), StandardCharsets.US_ASCII)
                    .equals("hello through a brokered ring"), "RECV got what SEND sent");
            // The same bytes through the plain socket, to prove they are the client's own sockets.
            long w = Syscall.checked("write", Syscall.SYS_WRITE, sp[0], msg.address(), 5);
            ring.prepare().recv(b, in, 0).userData(3);
            check(one(ring) == 5 && w == 5, "RECV on the ring sees a write(2) on the client's own descriptor");
            // SENDMSG/RECVMSG
            MemorySegment iov = arena.allocate(16, 8);
            iov.set(JAVA_LONG, 0, msg.address());
            iov.set(JAVA_LONG, 8, 5);
            MemorySegment hdr = arena.allocate(56, 8);
            hdr.set(JAVA_LONG, 16, iov.address());
            hdr.set(JAVA_LONG, 24, 1);
            MemorySegment riov = arena.allocate(16, 8);
            riov.set(JAVA_LONG, 0, in.address());
            riov.set(JAVA_LONG, 8, 64);
            MemorySegment rhdr = arena.allocate(56, 8);
            rhdr.set(JAVA_LONG, 16, riov.address());
            rhdr.set(JAVA_LONG, 24, 1);
            ring.prepare().sendmsg(a, hdr, 0).userData(4).link();
            ring.prepare().recvmsg(b, rhdr, 0).userData(5);
            ring.submitAndWait(2);
            seen.clear();
            ring.reap((ud, res, fl) -> seen.add(ud + ":" + res));
            check(seen.equals(List.of("4:5", "5:5")), "SENDMSG then RECVMSG: " + seen);
            // POLL_ADD bounded by LINK_TIMEOUT, TIMEOUT, ASYNC_CANCEL
            MemorySegment ts = arena.allocate(16, 8);
            ts.set(JAVA_LONG, 8, 20_000_000L);
            ring.prepare().pollAdd(b, 1).userData(6).link();
            ring.prepare().linkTimeout(ts, false).userData(7);
            ring.submitAndWait(2);
            seen.clear();
            while (seen.size() < 2) {
                ring.awaitCompletions(1);
                ring.reap((ud, res, fl) -> seen.add(ud + ":" + res));
            }
            check(seen.containsAll(List.of("6:" + -Errno.ECANCELED.number(), "7:" + -Errno.ETIME.number())),
                    "POLL_ADD with nothing to read is cut by LINK_TIMEOUT: " + seen);
            ring.prepare().timeout(ts, 0, false).userData(8);
            check(one(ring) == -Errno.ETIME.number(), "TIMEOUT expires with -ETIME");
            ring.prepare().pollAdd(b, 1).userData(9);
            ring.submit();
            ring.prepare().cancel(9).userData(10);
            ring.submitAndWait(2);
            seen.clear();
            while (seen.size() < 2) {
                ring.awaitCompletions(1);
                ring.reap((ud, res, fl) -> seen.add(ud + ":" + res));
            }
            check(seen.containsAll(List.of("9:" + -Errno.ECANCELED.number(), "10:0")), "ASYNC_CANCEL of a pending poll: "
                    + seen);
        } finally {
            Descriptors.closeQuietly(sp[0]);
            Descriptors.closeQuietly(sp[1]);
        }
    }

    /** nop: a batch, a link, a skipped success. */
    static void nop(Path socket) throws Exception {
        try (RingwardenClient client = RingwardenClient.connect(socket);
             BrokeredRing ring = client.acquire("nop")) {
            for (int i = 0; i < ring.sqEntries(); i++) {
                ring.prepare().nop().userData(100 + i);
            }
            check(ring.submitAndWait(ring.sqEntries()) == ring.sqEntries(), "a full batch of NOPs submitted at once");
            long[] sum = {0};
            ring.reap((ud, res, fl) -> sum[0] += ud);
            long want = 0;
            for (int i = 0; i < ring.sqEntries(); i++) {
                want += 100 + i;
            }
            check(sum[0] == want, "every NOP completed with its user data");
            ring.prepare().nop().userData(1).link();
            ring.prepare().nop().userData(2).skipSuccess();
            ring.prepare().nop().userData(3);
            ring.submitAndWait(2);
            List<Long> seen = new ArrayList<>();
            ring.reap((ud, res, fl) -> seen.add(ud));
            check(seen.equals(List.of(1L, 3L)), "a linked NOP, and CQE_SKIP_SUCCESS hides the second: " + seen);
        }
    }

    // ------------------------------------------------------------------ errors

    static void errors(Path socket) throws Exception {
        int filtersBefore = seccompFilters();
        try {
            RingwardenClient.connect(Path.of("/nonexistent/ringwarden.sock"));
            throw new AssertionError("connected to nothing");
        } catch (IOException e) {
            check(!(e instanceof DaemonErrorException) && e.getMessage().contains("cannot connect"),
                    "no daemon: IOException " + e.getMessage());
        }
        check(seccompFilters() == filtersBefore, "a failed connect installed no filter");
        try (RingwardenClient client = RingwardenClient.connect(socket)) {
            check(Prctl.noNewPrivs(), "connected: no-new-privs is set");
            try {
                RingwardenClient.connect(socket);
                throw new AssertionError("a second client in one process");
            } catch (IllegalStateException e) {
                check(e.getMessage().contains("already has an open RingwardenClient"), "second connect refused: "
                        + e.getMessage());
            }
            String hidden = null;
            String missing = null;
            try {
                client.acquire("root-only");
            } catch (DaemonErrorException.NotPermitted e) {
                hidden = e.daemonMessage().replace("root-only", "X");
            }
            try {
                client.acquire("no-such-policy");
            } catch (DaemonErrorException.NotPermitted e) {
                missing = e.daemonMessage().replace("no-such-policy", "X");
            }
            check(hidden != null && hidden.equals(missing),
                    "a policy for root and a missing one: the same NotPermitted, nothing revealed: " + hidden);
            check(client.policies().stream().noneMatch(p -> p.name().equals("root-only")), "root-only is not listed");
            List<BrokeredRing> held = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    held.add(client.acquire("nop"));
                }
                try {
                    client.acquire("nop");
                    throw new AssertionError("a fifth nop lease");
                } catch (DaemonErrorException.QuotaExceeded e) {
                    check(e.code() == org.ringwarden.protocol.ErrorCode.QUOTA_EXCEEDED,
                            "the fifth nop lease: QuotaExceeded: " + e.daemonMessage());
                }
            } finally {
                for (BrokeredRing r : held) {
                    r.close();
                }
            }
            try (BrokeredRing again = client.acquire("nop")) {
                check(true, "closing rings releases their leases: acquiring works again");
            }
            int[] many = new int[3];
            for (int i = 0; i < 3; i++) {
                many[i] = Descriptors.dupCloexec(1);
            }
            try {
                client.acquire("nop", many);
                throw new AssertionError("nop took client descriptors");
            } catch (DaemonErrorException.NotPermitted e) {
                check(true, "client descriptors beyond the policy's bound: NotPermitted: " + e.daemonMessage());
            } finally {
                for (int fd : many) {
                    Descriptors.closeQuietly(fd);
                }
            }
            try {
                IoUringCalls.create(4, 0, 0);
                throw new AssertionError("made a ring of its own");
            } catch (KernelException e) {
                check(e.is(Errno.EPERM), "io_uring_setup without a ticket: the daemon answers EPERM");
            }
        }
        // The daemon lets go of the listener when it has processed the close: shortly after.
        int errno = 0;
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                IoUringCalls.create(4, 0, 0);
                throw new AssertionError("made a ring of its own after close");
            } catch (KernelException e) {
                errno = e.errno();
                if (e.is(Errno.ENOSYS)) {
                    break;
                }
                Thread.sleep(10);
            }
        }
        check(errno == Errno.ENOSYS.number(), "after the client closed, io_uring_setup fails with ENOSYS (nobody listens)");
        try (RingwardenClient client = RingwardenClient.connect(socket);
             BrokeredRing ring = client.acquire("nop")) {
            ring.prepare().nop().userData(5);
            check(one(ring) == 0 && seccompFilters() == filtersBefore + 2, "reconnecting adds a filter layer and works");
        }
    }

    /** A filter already on the process that answers io_uring_setup itself: connect must refuse, and say why. */
    /** The seccomp filters on this thread, as the kernel counts them ({@code Seccomp_filters:} in /proc/self/status). */
    private static int seccompFilters() throws IOException {
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/thread-self/status"))) {
            if (line.startsWith("Seccomp_filters:")) {
                return Integer.parseInt(line.substring("Seccomp_filters:".length()).strip());
            }
        }
        throw new AssertionError("no Seccomp_filters: in /proc/thread-self/status (Linux 5.9+)");
    }

    static void blocked(Path socket) throws Exception {
        Prctl.setNoNewPrivs();
        SeccompFilter f = SeccompFilter.builder()
                .on((int) Syscall.SYS_IO_URING_SETUP, SeccompAction.errno(Errno.ENOSYS.number())).build();
        Seccomp.setModeFilter(f, java.util.EnumSet.of(SeccompFilterFlag.TSYNC));
        try {
            RingwardenClient.connect(socket).close();
            throw new AssertionError("connected under a filter that blocks io_uring_setup");
        } catch (DeliveryUnavailableException e) {
            check(e.getMessage().contains("a seccomp filter already on this process")
                    && e.getMessage().contains("ENOSYS"), "refused with the reason: " + e.getMessage());
        }
    }

    /**
     * A grant whose ring cannot be installed: with no descriptor number free below RLIMIT_NOFILE,
     * the daemon's NOTIF_ADDFD fails with EMFILE and the trapped io_uring_setup returns it.
     */
    static void collectFails(Path socket) throws Exception {
        try (RingwardenClient client = RingwardenClient.connect(socket); Arena arena = Arena.ofConfined()) {
            try (BrokeredRing warm = client.acquire("nop")) {
                check(warm.sqEntries() > 0, "a nop ring before the limit");
            }
            new RingCollectionException_ClassLoad().touch();
            int lowestFree = 0;
            while (Descriptors.isOpen(lowestFree)) {
                lowestFree++;
            }
            MemorySegment oldLimit = arena.allocate(16, 8);
            MemorySegment newLimit = arena.allocate(16, 8);
            Syscall.checked("prlimit64", 302, 0, 7 /* RLIMIT_NOFILE */, 0, oldLimit.address());
            newLimit.set(JAVA_LONG, 0, lowestFree);
            newLimit.set(JAVA_LONG, 8, oldLimit.get(JAVA_LONG, 8));
            Throwable caught = null;
            Syscall.checked("prlimit64", 302, 0, 7, newLimit.address(), 0);
            try {
                client.acquire("nop").close();
            } catch (Throwable t) {
                caught = t;
            } finally {
                Syscall.checked("prlimit64", 302, 0, 7, oldLimit.address(), 0);
            }
            check(caught instanceof org.ringwarden.client.RingCollectionException rce
                            && rce.errno() == Errno.EMFILE.number() && rce.getMessage().contains("EMFILE"),
                    "no descriptor free for the ring: RingCollectionException " + caught);
            try (BrokeredRing after = client.acquire("nop")) {
                after.prepare().nop();
                check(one(after) == 0, "with descriptors free again, acquiring works (the failed lease was ended)");
            }
        }
    }

    /** Loads the exception classes the refusal path needs while descriptors are still free. */
    private static final class RingCollectionException_ClassLoad {
        void touch() {
            Errno.nameOf(24);
            new StringBuilder().append(org.ringwarden.client.RingCollectionException.class.getName());
            // The codec makes a kind's reader on first use: the error answer's reader (and
            // ErrorCode) must be loaded before the limit too (classes load from directories here).
            try {
                org.ringwarden.protocol.ProtocolCodec.decodeResponse(org.ringwarden.protocol.ProtocolCodec.encode(
                        new org.ringwarden.protocol.Response.Error(org.ringwarden.protocol.ErrorCode.BUSY, "warm")));
            } catch (org.ringwarden.protocol.RefusedException e) {
                throw new AssertionError(e);
            }
        }
    }

    // ------------------------------------------------------------------ lifetimes

    /** Closing a ring while operations are in flight: they end, nothing leaks, the next ring works. */
    static void inFlight(Path socket) throws Exception {
        int[] sp = UnixSockets.socketpair(UnixSockets.SOCK_STREAM | UnixSockets.SOCK_CLOEXEC);
        try (RingwardenClient client = RingwardenClient.connect(socket); Arena arena = Arena.ofShared()) {
            try (BrokeredRing warm = client.acquire("net", sp[0], sp[1])) {
                warm.prepare().nop();
                one(warm);
            }
            int fds = Descriptors.countOpen();
            long maps = ringMappings();
            MemorySegment in = arena.allocate(4096);
            for (int round = 0; round < 20; round++) {
                BrokeredRing ring = client.acquire("net", sp[0], sp[1]);
                for (int i = 0; i < 8; i++) {
                    ring.prepare().recv(ring.clientFile(1), in, 0).userData(i); // nothing will come: in flight
                }
                ring.prepare().pollAdd(ring.clientFile(1), 1).userData(99);
                int submitted = ring.submit();
                if (submitted != 9 || ring.ready() != 0) {
                    throw new AssertionError("round " + round + ": " + submitted + " submitted, " + ring.ready() + " done");
                }
                ring.close();
            }
            check(true, "20 rings closed, each with 9 operations in flight");
            // The kernel tears in-flight requests down asynchronously; give it a moment.
            long deadline = System.nanoTime() + 5_000_000_000L;
            while ((Descriptors.countOpen() != fds || ringMappings() != maps) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            check(Descriptors.countOpen() == fds && ringMappings() == maps,
                    "20 rings closed with operations in flight left no descriptor or mapping");
            long w = Syscall.checked("write", Syscall.SYS_WRITE, sp[0], in.address(), 3);
            long r = Syscall.checked("read", Syscall.SYS_READ, sp[1], in.address(), 3);
            check(w == 3 && r == 3, "the sockets' data was not eaten by cancelled RECVs");
            try (BrokeredRing next = client.acquire("net", sp[0], sp[1])) {
                next.prepare().nop().userData(1);
                check(one(next) == 0, "a new ring works after closing rings with operations in flight");
            }
        } finally {
            Descriptors.closeQuietly(sp[0]);
            Descriptors.closeQuietly(sp[1]);
        }
    }

    /** N acquire + collect + map + NOP + close cycles: nothing left behind here (the test checks the daemon). */
    static void cycles(Path socket, int n) throws Exception {
        try (RingwardenClient client = RingwardenClient.connect(socket)) {
            try (BrokeredRing warm = client.acquire("reader")) {
                warm.prepare().nop();
                one(warm);
            }
            int fds = Descriptors.countOpen();
            long maps = ringMappings();
            for (int i = 0; i < n; i++) {
                try (BrokeredRing ring = client.acquire("reader")) {
                    ring.prepare().nop().userData(i);
                    if (one(ring) != 0) {
                        throw new AssertionError("NOP " + i + " failed");
                    }
                }
            }
            check(Descriptors.countOpen() == fds, n + " cycles: descriptors " + Descriptors.countOpen() + " == " + fds);
            check(ringMappings() == maps, n + " cycles: ring and buffer mappings " + ringMappings() + " == " + maps);
            System.out.println("READY-FOR-DAEMON-CHECK");
            System.out.flush();
            // Hold the connection until the test has counted the daemon's side.
            System.in.read();
        }
    }

    /** One client shared by threads: concurrent acquire and use. */
    static void threads(Path socket) throws Exception {
        try (RingwardenClient client = RingwardenClient.connect(socket)) {
            List<Thread> ts = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int t = 0; t < 4; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < 10; i++) {
                            try (BrokeredRing r = client.acquire("nop")) {
                                r.prepare().nop().userData(i);
                                if (one(r) != 0) {
                                    throw new AssertionError("NOP failed");
                                }
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("a thread failed", failure.get());
            }
            check(true, "4 threads x 10 acquire/NOP/close on one shared client");
        }
    }

    static long ringMappings() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .filter(l -> l.contains("io_uring") || l.contains("memfd:")).count();
    }
}
