package org.ringwarden.daemon.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.ThreadCredentials;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.linux.seccomp.SeccompNotification;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.Enabler;
import org.ringwarden.policy.Limits;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * One user cannot make another user's acquire fail, on the real kernel: a hostile
 * peer (uid 61001 and up) and a victim (the next uid), each with its own trapped thread and attachment.
 * The daemon's RLIMIT_MEMLOCK is lowered to 2 MiB for each test, so that "one user pins it all"
 * is cheap to try. Each test has uids of its own: the kernel frees a closed ring's memory, and
 * uncharges its user, a little after the last close, so a user shared with the test before
 * could start with part of its budget still in use.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@IoUringSysctl.RequiresRings
class IsolationTest {
    private static final AtomicInteger NEXT_UID = new AtomicInteger(61_001);
    private final int hostileUid = NEXT_UID.getAndAdd(2);
    private final int victimUid = hostileUid + 1;

    @TempDir
    Path dir;
    private GrantFixture f;
    private TrappedThread hostileThread;
    private TrappedThread victimThread;
    private Peer hostile;
    private Peer victim;
    private long[] memlock;
    private final List<Integer> clientRings = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        assumeTrue(ThreadCredentials.hasEffective(ThreadCredentials.CAP_SETUID), "needs root (CAP_SETUID)");
        GrantFixture fixture = new GrantFixture(dir, GrantFixture.limits()); // raises RLIMIT_MEMLOCK to the quotas' need
        memlock = org.ringwarden.linux.ResourceLimits.memlock();
        org.ringwarden.linux.ResourceLimits.setMemlock(2L << 20, memlock[1]);
        use(fixture);
    }

    /** Makes {@code fixture} this test's: a trapped thread for each user, attached. */
    private void use(GrantFixture fixture) throws Exception {
        f = fixture;
        hostileThread = f.closeLater(new TrappedThread("rw-hostile"));
        victimThread = f.closeLater(new TrappedThread("rw-victim"));
        hostile = f.peer(hostileUid);
        victim = f.peer(victimUid);
        f.grants.attach(hostile, hostileThread.listenerFd(), null);
        f.grants.attach(victim, victimThread.listenerFd(), null);
    }

    @AfterEach
    void stop() throws Exception {
        clientRings.forEach(Descriptors::closeQuietly);
        if (f != null) {
            f.close();
        }
        if (memlock != null) {
            org.ringwarden.linux.ResourceLimits.setMemlock(memlock[0], memlock[1]);
        }
    }

    private static CompiledPolicy policy(String name, long bufferBytes, Enabler enabler, int leases) {
        return TestPolicies.reader(name, null, bufferBytes, enabler, EnumSet.noneOf(SetupFlag.class),
                new Limits(leases, 64L << 20), 0);
    }

    /** Acquires and collects on {@code thread}; the ring fd in this process. */
    private int acquireAndCollect(Peer peer, TrappedThread thread, CompiledPolicy p) throws Exception {
        Grant g = f.grants.acquire(peer, p, new int[0]);
        long fd = thread.collect(g.ticket());
        assertThat(fd).as("collected").isNotNegative();
        clientRings.add((int) fd);
        for (int memfd : g.bufferFds()) {
            Descriptors.closeQuietly(memfd);
        }
        return (int) fd;
    }

    /**
     * A complain-mode ring waits, before it is handed over, for the refusal watcher to trace its
     * user. That wait is on its user's own ring-builder lane: another user's acquire meanwhile
     * is served at once. Here the watcher looks once and then not again, so the hostile user's
     * ring waits for as long as the test wants it to.
     */
    @Test
    void aComplainModeRingWaitingForTheWatcherDoesNotDelayAnotherUsersAcquire() throws Exception {
        f.close();
        use(new GrantFixture(dir, GrantFixture.limits(),
                new ComplainFollowing(java.time.Duration.ofMinutes(10), java.time.Duration.ofMinutes(10))));
        CompiledPolicy complain = new org.ringwarden.policy.PolicyLoader(new org.ringwarden.policy.PolicyLoader.Options(
                false, true, false, org.ringwarden.policy.SubjectResolver.system()))
                .parse("try.json", """
                        { "name": "try", "description": "tried in complain mode", "mode": "complain",
                          "subjects": { "uids": [0] }, "ring": { "sqEntries": 8 }, "sqe": { "ops": ["NOP"] } }
                        """.getBytes(java.nio.charset.StandardCharsets.UTF_8)).orThrow().all().getFirst();

        f.grants.complainTargets(); // a watcher looks once, and not again
        java.util.concurrent.CompletableFuture<Grant> held = f.grants.acquireAsync(hostile, complain, new int[0]);
        GrantFixture.await("the complain-mode ring waits for the watcher", () -> Thread.getAllStackTraces().values()
                .stream().anyMatch(stack -> java.util.Arrays.stream(stack).anyMatch(
                        e -> e.getClassName().endsWith("ComplainFollowing") && e.getMethodName().equals("awaitFollowed"))));

        Grant other = f.grants.acquireAsync(victim, policy("reader", 0, Enabler.DAEMON, 8), new int[0]).get();
        assertThat(other.leaseId()).as("the other user's acquire is served").isNotEmpty();
        assertThat(held).as("while the complain-mode ring still waits").isNotDone();

        f.grants.complainTargets(); // the watcher looks again: it traces the hostile user now
        f.grants.complainTargets(); // and a look after that shows it did
        assertThat(held.get().policy()).isEqualTo("try");
    }

    @Test
    void buffersAClientRegistersBeforeEnablingItsRingAreChargedToThatClientAlone() throws Exception {
        int ring = acquireAndCollect(hostile, hostileThread, policy("client-enabled", 4096, Enabler.CLIENT, 8));
        try (Arena a = Arena.ofConfined()) {
            // The attack (docs/security.md, "Who pays for pinned memory"): the ring is not enabled yet, so no register restriction
            // applies: swap the daemon's buffer for 4 MiB of the client's own memory.
            IoUringCalls.register(ring, RegisterOp.UNREGISTER_BUFFERS, MemorySegment.NULL, 0);
            MemorySegment big = Memory.map(4L << 20, Memory.PROT_READ | Memory.PROT_WRITE,
                    Memory.MAP_PRIVATE | Memory.MAP_ANONYMOUS, -1, 0);
            try {
                KernelException refused = catchThrowableOfType(KernelException.class,
                        () -> registerBuffer(ring, big, a));
                assertThat(refused).as("4 MiB over a 2 MiB per-user budget").isNotNull();
                assertThat(refused.errnoName()).isEqualTo("ENOMEM");
                // Within its own budget it may pin (the same as if it had made the ring itself)...
                registerBuffer(ring, big.asSlice(0, 1L << 20), a);
            } finally {
                Memory.unmap(big);
            }
        }
        // ...and that costs the victim nothing: its own 1 MiB buffer fits its own budget.
        int victimRing = acquireAndCollect(victim, victimThread, policy("victim", 1L << 20, Enabler.DAEMON, 8));
        assertThat(victimRing).isNotNegative();
    }

    private static void registerBuffer(int ring, MemorySegment buf, Arena a) {
        MemorySegment iov = a.allocate(16);
        iov.set(ValueLayout.JAVA_LONG, 0, buf.address());
        iov.set(ValueLayout.JAVA_LONG, 8, buf.byteSize());
        IoUringCalls.register(ring, RegisterOp.REGISTER_BUFFERS, iov, 1);
    }

    @Test
    void aUserThatUsesUpItsPinnedMemoryIsRefusedAloneWithQuotaExceeded() throws Exception {
        CompiledPolicy big = policy("big", 512L << 10, Enabler.DAEMON, 64);
        int granted = 0;
        RefusedException refused = null;
        for (int i = 0; i < 16 && refused == null; i++) {
            try {
                acquireAndCollect(hostile, hostileThread, big);
                granted++;
            } catch (RefusedException e) {
                refused = e;
            }
        }
        assertThat(refused).as("the hostile user's budget runs out").isNotNull();
        assertThat(refused.code()).as(refused.getMessage()).isEqualTo(ErrorCode.QUOTA_EXCEEDED);
        assertThat(refused.getMessage()).contains("uid " + hostileUid).contains("RLIMIT_MEMLOCK");
        assertThat(granted).as("2 MiB of 512 KiB buffers plus rings").isBetween(2, 4);
        // The victim's budget is its own: every acquire up to the same size succeeds.
        for (int i = 0; i < granted; i++) {
            acquireAndCollect(victim, victimThread, big);
        }
    }

    @Test
    void aReleasedRingTheClientKeepsCountsUntilTheClientClosesIt() throws Exception {
        CompiledPolicy two = policy("two", 4096, Enabler.DAEMON, 2);
        List<Integer> kept = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Grant g = f.grants.acquire(hostile, two, new int[0]);
            long fd = hostileThread.collect(g.ticket());
            kept.add((int) fd);
            for (int memfd : g.bufferFds()) {
                Descriptors.closeQuietly(memfd);
            }
            f.grants.release(hostile, g.leaseId()); // ...and keep the ring
        }
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> f.grants.acquire(hostile, two, new int[0]));
        assertThat(e).as("release-and-keep gains nothing").isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.QUOTA_EXCEEDED);
        assertThat(f.grants.leases()).extracting(LeaseInfo::state).containsExactly("HELD", "HELD");
        assertThat(f.count(AuditEvent.Kind.END)).isZero();

        Descriptors.close(kept.remove(0));
        Grant again = f.grants.acquire(hostile, two, new int[0]); // the limit looks again at once
        for (int memfd : again.bufferFds()) {
            Descriptors.closeQuietly(memfd);
        }
        assertThat(f.count(AuditEvent.Kind.END)).as("the closed ring's lease ended").isEqualTo(1);
        kept.forEach(Descriptors::close);
        GrantFixture.await("the last kept ring's lease ends once it is closed",
                () -> f.grants.leases().stream().noneMatch(l -> l.state().equals("HELD")));
        // The victim was never involved.
        acquireAndCollect(victim, victimThread, two);
    }

    @Test
    void aTransparentSetupIsServedOncePerCallAndCountsAgainstThePolicy() throws Exception {
        CompiledPolicy fio = TestPolicies.transparent(policy("fio", 0, Enabler.DAEMON, 2));
        TrappedThread program = f.closeLater(new TrappedThread("rw-program"));
        Peer supervisor = f.peer(hostileUid);
        // The supervisor keeps a copy of the listener and receives the trapped calls itself.
        SeccompListener mine = SeccompListener.adopt(Descriptors.dupCloexec(program.listenerFd()));
        f.closeLater(mine);
        f.grants.attach(supervisor, program.listenerFd(), fio);

        List<Integer> rings = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            var call = program.setup(8, 0, 0);
            SeccompNotification n = awaitNotification(mine);
            Request.TransparentSetup setup = new Request.TransparentSetup(n.id(), n.pid(), 8, 0, 0, "test");
            Response.TransparentRing r = f.grants.transparentSetup(supervisor, setup);
            if (i < 2) {
                assertThat(r.errno()).as("ring %d: %s", i, r.message()).isZero();
                Response.TransparentRing twice = f.grants.transparentSetup(supervisor, setup);
                assertThat(twice.errno()).as("the same call asked again: " + twice.message()).isEqualTo(Errno.EBUSY.number());
                mine.respond(n.id(), r.fd());
                rings.add((int) (long) call.get(10, TimeUnit.SECONDS));
            } else {
                assertThat(r.errno()).as("a third ring over the policy's 2 per user: " + r.message())
                        .isEqualTo(Errno.ENOMEM.number());
                assertThat(r.message()).contains("leases per user");
                mine.fail(n.id(), r.errno());
                assertThat(call.get(10, TimeUnit.SECONDS)).isEqualTo(-Errno.ENOMEM.number());
            }
        }
        assertThat(f.grants.leases()).as("two transparent rings, held by the program").hasSize(2);
        // The program closes one of its rings: the next call is served again.
        int closed = rings.remove(0);
        program.submit(() -> {
            Descriptors.close(closed);
            return null;
        }).get(10, TimeUnit.SECONDS);
        var call = program.setup(8, 0, 0);
        SeccompNotification n = awaitNotification(mine);
        Response.TransparentRing r = f.grants.transparentSetup(supervisor,
                new Request.TransparentSetup(n.id(), n.pid(), 8, 0, 0, "test"));
        assertThat(r.errno()).as(r.message()).isZero();
        mine.respond(n.id(), r.fd());
        rings.add((int) (long) call.get(10, TimeUnit.SECONDS));
        clientRings.addAll(rings);
    }

    private static SeccompNotification awaitNotification(SeccompListener l) {
        for (int i = 0; i < 100; i++) {
            if (l.poll(100) == SeccompListener.Event.NOTIFICATION) {
                SeccompNotification n = l.receive();
                if (n != null) {
                    return n;
                }
            }
        }
        throw new AssertionError("no trapped call within 10 s");
    }
}
