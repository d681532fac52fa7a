package org.ringwarden.daemon.grant;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.daemon.KernelWaits;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.Ring;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.Sqe;
import org.ringwarden.linux.uring.SqeFlag;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.Enabler;
import org.ringwarden.policy.Limits;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.Tickets;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * The whole delivery path in one JVM: a throwaway thread traps its own io_uring_setup (filter
 * on that thread only), its listener is attached, and the ticketed call returns the ring.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@IoUringSysctl.RequiresRings
class DeliveryTest {
    private static final long EPERM = -Errno.EPERM.number();

    @TempDir
    Path dir;
    private ResourceSnapshot before;
    private int fdsBefore;
    private GrantFixture f;
    private TrappedThread client;
    private Peer peer;
    private final List<AutoCloseable> clientSide = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        before = ResourceSnapshot.take(dir);
        fdsBefore = Descriptors.countOpen();
        f = new GrantFixture(dir, GrantFixture.limits());
        client = f.closeLater(new TrappedThread("rw-test-client"));
        peer = f.peer(0);
        f.grants.attach(peer, client.listenerFd(), null);
    }

    @AfterEach
    void nothingLeaked() throws Exception {
        for (AutoCloseable c : clientSide) {
            c.close();
        }
        f.close();
        assertThat(ResourceSnapshot.take(dir)).as("rings, memfds, mappings, listeners, pidfds, files: all given back")
                .isEqualTo(before);
        GrantFixture.await("the JVM's fd count is back to " + fdsBefore, () -> Descriptors.countOpen() == fdsBefore);
    }

    /** The client's side of a delivered ring: mapped from the fd and the grant's params. */
    private Ring mapped(long fd, Grant g) {
        assertThat(fd).as("io_uring_setup returned a ring fd, not an error").isNotNegative();
        Ring ring = Ring.map((int) fd, g.params());
        clientSide.add(ring);
        return ring;
    }

    private static int[] submitOne(Ring ring, java.util.function.LongConsumer prep) {
        long sqe = ring.nextSqe();
        prep.accept(sqe);
        Sqe.setUserData(ring.sqes(), sqe, 42);
        ring.submitAndWait(1);
        int[] got = {Integer.MIN_VALUE};
        ring.reap((userData, res, flags) -> got[0] = res);
        return got;
    }

    @Test
    void deliveredRingReadsTheFixedFileAndRefusesOtherOpcodes() throws Exception {
        Grant g = f.grants.acquire(peer, TestPolicies.reader(f.data), new int[0]);
        long fd = client.collect(g.ticket());
        Ring ring = mapped(fd, g);
        BufferGrant buf = g.buffers().get(0);

        int[] read = submitOne(ring, sqe -> {
            Sqe.prepReadFixed(ring.sqes(), sqe, 0, buf.address(), 10, 0, 0);
            Sqe.setFlags(ring.sqes(), sqe, SqeFlag.FIXED_FILE);
        });
        assertThat(read[0]).as("READ_FIXED of fixed file 0 into the registered buffer").isEqualTo(10);
        MemorySegment mine = Memory.mapShared(buf.memfd(), 0, buf.length());
        try {
            byte[] bytes = mine.asSlice(0, 10).toArray(JAVA_BYTE);
            assertThat(new String(bytes, StandardCharsets.US_ASCII)).as("the client's own mapping of the memfd")
                    .isEqualTo("hello ring");
        } finally {
            Memory.unmap(mine);
        }

        int[] plainRead = submitOne(ring, sqe -> {
            Sqe.prepRead(ring.sqes(), sqe, 0, buf.address(), 10, 0);
            Sqe.setFlags(ring.sqes(), sqe, SqeFlag.FIXED_FILE);
        });
        assertThat(plainRead[0]).as("READ is not an allowed opcode").isEqualTo(-Errno.EACCES.number());
        int[] nopWithoutFixed = submitOne(ring, sqe -> Sqe.prepNop(ring.sqes(), sqe));
        assertThat(nopWithoutFixed[0]).as("FIXED_FILE is required on every SQE").isEqualTo(-Errno.EACCES.number());

        GrantFixture.await("the delivery is audited", () -> f.count(AuditEvent.Kind.DELIVER) == 1);
        assertThat(f.last(AuditEvent.Kind.DELIVER).lease()).isEqualTo(g.leaseId());
        assertThat(f.grants.leases()).singleElement().satisfies(l -> assertThat(l.state()).isEqualTo("DELIVERED"));
        assertThat(f.grants.stats().delivered()).isEqualTo(1);
    }

    @Test
    void clientEnabledSingleIssuerRingIsEnabledByTheClient() throws Exception {
        CompiledPolicy fast = TestPolicies.reader("fast", f.data, 4096, Enabler.CLIENT,
                EnumSet.of(SetupFlag.SINGLE_ISSUER, SetupFlag.DEFER_TASKRUN, SetupFlag.SUBMIT_ALL),
                new Limits(8, 1 << 20), 0);
        Grant g = f.grants.acquire(peer, fast, new int[0]);
        assertThat(g.enabled()).as("left to the client").isFalse();
        Ring ring = mapped(client.collect(g.ticket()), g);
        long first = ring.nextSqe();
        Sqe.prepNop(ring.sqes(), first);
        Sqe.setFlags(ring.sqes(), first, SqeFlag.FIXED_FILE);
        KernelException disabled = catchThrowableOfType(KernelException.class, ring::submit);
        assertThat(disabled).as("not enabled yet").isNotNull();
        assertThat(disabled.errno()).isEqualTo(Errno.EBADFD.number());
        IoUringCalls.enableRings(ring.fd());
        ring.submitAndWait(1);
        int[] nop = {Integer.MIN_VALUE};
        ring.reap((userData, res, flags) -> nop[0] = res);
        assertThat(nop[0]).as("the enabling thread is the issuer; the restrictions hold").isZero();
        int[] bare = submitOne(ring, sqe -> Sqe.prepNop(ring.sqes(), sqe));
        assertThat(bare[0]).as("restrictions took effect at the client's enable").isEqualTo(-Errno.EACCES.number());
    }

    @Test
    void ticketIsSingleUse() throws Exception {
        Grant g = f.grants.acquire(peer, TestPolicies.reader(f.data), new int[0]);
        mapped(client.collect(g.ticket()), g);
        assertThat(client.collect(g.ticket())).as("a used ticket").isEqualTo(EPERM);
    }

    @Test
    void wrongTicketAndMissingMagicAreRefusedWithoutBurningTheTicket() throws Exception {
        Grant g = f.grants.acquire(peer, TestPolicies.reader(f.data), new int[0]);
        assertThat(client.collect(g.ticket() ^ 1)).as("a wrong ticket").isEqualTo(EPERM);
        assertThat(client.setup(1, 0, 0).get(10, TimeUnit.SECONDS)).as("a plain io_uring_setup").isEqualTo(EPERM);
        assertThat(client.setup(1, 0x52494E48L, g.ticket()).get(10, TimeUnit.SECONDS)).as("a wrong magic")
                .isEqualTo(EPERM);
        mapped(client.collect(g.ticket()), g);
        assertThat(f.count(AuditEvent.Kind.DELIVERY_REFUSED)).isEqualTo(3);
        assertThat(f.last(AuditEvent.Kind.DELIVERY_REFUSED).code()).isEqualTo(ErrorCode.NOT_PERMITTED);
    }

    @Test
    void foreignTicketIsRefusedAndStaysCollectableByItsOwner() throws Exception {
        TrappedThread otherClient = f.closeLater(new TrappedThread("rw-test-other"));
        Peer other = f.peer(0);
        f.grants.attach(other, otherClient.listenerFd(), null);
        Grant g = f.grants.acquire(peer, TestPolicies.reader(f.data), new int[0]);
        assertThat(otherClient.collect(g.ticket())).as("another connection's ticket").isEqualTo(EPERM);
        mapped(client.collect(g.ticket()), g);
    }

    @Test
    void callerOutsideThePeersProcessTreeIsRefused() throws Exception {
        Process sleeper = new ProcessBuilder("sleep", "60").start();
        try {
            TrappedThread stranger = f.closeLater(new TrappedThread("rw-test-stranger"));
            Peer sleeperPeer = f.peerOf((int) sleeper.pid(), 0);
            f.grants.attach(sleeperPeer, stranger.listenerFd(), null);
            Grant g = f.grants.acquire(sleeperPeer, TestPolicies.reader(f.data), new int[0]);
            assertThat(stranger.collect(g.ticket())).as("this JVM is not a descendant of the sleeper").isEqualTo(EPERM);
            assertThat(f.last(AuditEvent.Kind.DELIVERY_REFUSED).detail()).contains("not in the process tree");
            assertThat(f.grants.leases()).as("the ticket was not burned").singleElement()
                    .satisfies(l -> assertThat(l.state()).isEqualTo("PENDING"));
        } finally {
            sleeper.destroyForcibly().waitFor();
        }
    }

    @Test
    void exitedPeerGetsNoRing() throws Exception {
        Process child = new ProcessBuilder("sleep", "60").start();
        TrappedThread stranger = f.closeLater(new TrappedThread("rw-test-stranger"));
        // This JVM's own pid, but the pidfd of a process that then exits: the liveness check must fail.
        Peer p = new Peer(99, (int) ProcessHandle.current().pid(), 0, 0, new int[0],
                f.closeLater(org.ringwarden.linux.Pidfd.open((int) child.pid())).fd(), "test");
        f.grants.attach(p, stranger.listenerFd(), null);
        Grant g = f.grants.acquire(p, TestPolicies.reader(f.data), new int[0]);
        child.destroyForcibly().waitFor();
        assertThat(stranger.collect(g.ticket())).as("a dead peer's pid may be recycled: refuse").isEqualTo(EPERM);
    }

    @Test
    void transparentAttachmentLeavesTrappedCallsToItsSupervisorAndInstallsRingsOnRequest() throws Exception {
        // docs/transparent.md: the daemon does not receive on a transparent listener;
        // the supervisor (here: this test, on its own copy) receives and asks transparentSetup.
        TrappedThread app = f.closeLater(new TrappedThread("rw-test-app"));
        int appTid = app.tid();
        int mine = app.listenerFd();
        org.ringwarden.linux.seccomp.SeccompListener supervisor = f.closeLater(
                org.ringwarden.linux.seccomp.SeccompListener.adopt(org.ringwarden.linux.Descriptors.dupCloexec(mine)));
        Peer p = f.peer(0);
        f.grants.attach(p, mine, TestPolicies.transparent(TestPolicies.reader(f.data)));
        java.util.concurrent.CompletableFuture<Long> call = app.setup(4, 0, 0);
        assertThat(supervisor.poll(10_000)).as("the call waits for the supervisor")
                .isEqualTo(org.ringwarden.linux.seccomp.SeccompListener.Event.NOTIFICATION);
        // Once the trapped thread sleeps in io_uring_setup it has queued the notification and
        // woken every poller of the listener; a poller watching for it would then not be
        // asleep in poll(2) with it still pending. Only after both may "not taken" be asserted.
        KernelWaits.awaitBlockedIn(appTid, KernelWaits.SYS_IO_URING_SETUP, Duration.ofSeconds(10));
        KernelWaits.awaitBlockedIn(KernelWaits.threadNamed("ringwarden-listeners"), KernelWaits.SYS_POLL,
                Duration.ofSeconds(10));
        assertThat(supervisor.poll(0)).as("the daemon's poller did not take the notification: still pending")
                .isEqualTo(org.ringwarden.linux.seccomp.SeccompListener.Event.NOTIFICATION);
        org.ringwarden.linux.seccomp.SeccompNotification n = supervisor.receive();
        assertThat(n).as("the daemon's poller did not take the notification").isNotNull();
        var ring = f.grants.transparentSetup(p,
                new org.ringwarden.protocol.Request.TransparentSetup(n.id(), n.pid(), 4, 0, 0, null));
        assertThat(ring.errno()).as("%s", ring).isZero();
        assertThat(supervisor.isValid(n.id())).as("the daemon installs but does not answer: still unanswered").isTrue();
        assertThat(call).as("the daemon installs but does not answer").isNotDone();
        assertThat(supervisor.respond(n.id(), ring.fd())).isTrue();
        long fd = call.get(10, TimeUnit.SECONDS);
        assertThat(fd).as("the call returns the installed ring").isEqualTo(ring.fd());
        assertThat(java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + fd)).toString())
                .isEqualTo("anon_inode:[io_uring]");
        clientSide.add(() -> org.ringwarden.linux.Descriptors.close((int) fd));
        assertThat(f.last(AuditEvent.Kind.DELIVER).detail()).contains("transparent").contains("given entries 4");
    }

    @Test
    void threadExitHangsUpTheListenerAndDetaches() throws Exception {
        TrappedThread shortLived = new TrappedThread("rw-test-short");
        Peer p = f.peer(0);
        f.grants.attach(p, shortLived.listenerFd(), null);
        assertThat(f.grants.stats().attachments()).isEqualTo(2);
        shortLived.close();
        GrantFixture.await("the poller sees the hang-up", () -> f.count(AuditEvent.Kind.DETACH) == 1);
        assertThat(f.grants.stats().attachments()).isEqualTo(1);
        assertThat(f.last(AuditEvent.Kind.DETACH).peer()).isEqualTo(p);
        RefusedException e = catchThrowableOfType(RefusedException.class,
                () -> f.grants.acquire(p, TestPolicies.reader(f.data), new int[0]));
        assertThat(e.code()).as("no process left to deliver to").isEqualTo(ErrorCode.NOT_ATTACHED);
    }

    @Test
    void callerKilledWhileTrappedDoesNotWedgeThePoller() throws Exception {
        TrappedThread parent = f.closeLater(new TrappedThread("rw-test-parent"));
        int listenerFd = parent.listenerFd();
        // A child process started by the filtered thread inherits its filter: its
        // io_uring_setup is trapped to a listener nobody watches yet, and it is killed there.
        String java = ProcessHandle.current().info().command().orElseThrow();
        CompletableFuture<Process> started = parent.submit(() -> new ProcessBuilder(java,
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                TrappedSetupChild.class.getName(), "12345").redirectErrorStream(true).start());
        Process child = started.get(30, TimeUnit.SECONDS);
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).as("the child reached its io_uring_setup").contains("calling");
            assertThat(Poll.has(Poll.poll(listenerFd, Poll.POLLIN, 20_000), Poll.POLLIN))
                    .as("the child's call is trapped").isTrue();
        } finally {
            child.destroyForcibly().waitFor();
        }
        Peer p = f.peer(0);
        f.grants.attach(p, listenerFd, null);
        Grant g = f.grants.acquire(p, TestPolicies.reader(f.data), new int[0]);
        mapped(parent.collect(g.ticket()), g);
        GrantFixture.await("the poller went on and delivered", () -> f.grants.stats().delivered() == 1);
    }

    @Test
    void connectionClosedAfterDeliveryFreesTheDaemonsCopies() throws Exception {
        Grant delivered = f.grants.acquire(peer, TestPolicies.reader(f.data), new int[] {f.openFd()});
        Ring ring = mapped(client.collect(delivered.ticket()), delivered);
        f.grants.acquire(peer, TestPolicies.reader(f.data), new int[0]);
        ResourceSnapshot held = ResourceSnapshot.take(dir);
        assertThat(held.ringFds()).as("the daemon's two rings and the client's one").isEqualTo(before.ringFds() + 3);
        f.grants.connectionClosed(peer);
        ResourceSnapshot after = ResourceSnapshot.take(dir);
        assertThat(after.ringFds()).as("only the client's copy is left").isEqualTo(before.ringFds() + 1);
        assertThat(after.memfdFds()).as("memfds closed").isEqualTo(before.memfdFds());
        assertThat(after.memfdMappings()).as("buffers unmapped").isEqualTo(before.memfdMappings());
        assertThat(after.listenerFds()).as("listener closed").isEqualTo(before.listenerFds());
        int[] nop = submitOne(ring, sqe -> {
            Sqe.prepNop(ring.sqes(), sqe);
            Sqe.setFlags(ring.sqes(), sqe, SqeFlag.FIXED_FILE);
        });
        assertThat(nop[0]).as("the client's ring outlives the connection (no revocation)").isZero();
        assertThat(f.grants.leases()).as("so its lease is still counted").singleElement()
                .satisfies(l -> assertThat(l.state()).isEqualTo("HELD"));
        assertThat(client.collect(1)).as("a trapped call with no listener left").isEqualTo(-Errno.ENOSYS.number());
    }

    @Test
    void repeatedDeliveriesLeaveNothingBehind() throws Exception {
        CompiledPolicy reader = TestPolicies.reader(f.data);
        for (int i = 0; i < 100; i++) {
            Grant g = f.grants.acquire(peer, reader, new int[0]);
            long fd = client.collect(g.ticket());
            assertThat(fd).as("delivery %d", i).isNotNegative();
            Descriptors.close((int) fd);
            f.grants.release(peer, g.leaseId());
        }
        GrantFixture.await("100 deliveries counted", () -> f.grants.stats().delivered() == 100);
        assertThat(f.grants.leases()).isEmpty();
    }

    @Test
    void releaseRacingADeliveryNeverHandsOutAnotherFile() throws Exception {
        CompiledPolicy reader = TestPolicies.reader(f.data);
        int delivered = 0;
        for (int i = 0; i < 50; i++) {
            Grant g = f.grants.acquire(peer, reader, new int[0]);
            CompletableFuture<Long> call = client.setup(1, Tickets.MAGIC, g.ticket());
            f.grants.release(peer, g.leaseId());
            long fd = call.get(10, TimeUnit.SECONDS);
            if (fd >= 0) {
                delivered++;
                assertThat(java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString())
                        .as("whatever was delivered is a ring").isEqualTo("anon_inode:[io_uring]");
                Descriptors.close((int) fd);
            } else {
                assertThat(fd).as("a released lease's ticket").isEqualTo(EPERM);
            }
        }
        // A ring delivered in the race was closed after its release was handled: its lease ends
        // when the sweep sees it gone, not before.
        GrantFixture.await("every lease ended once its ring is closed", () -> f.grants.leases().isEmpty());
        System.err.println("release raced 50 deliveries; " + delivered + " were delivered first");
    }
}
