package org.ringwarden.linux.seccomp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.ProcessInfo;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.Tasks;
import org.ringwarden.linux.ThreadStates;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.IoUringParams;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.RequiresRings;

/**
 * Ring delivery through seccomp user notification on the real kernel, the way protocol.md
 * describes it, with a throwaway filtered thread as the client (see {@link FilteredThread}
 * for why never TSYNC in a test JVM) and the test thread as the supervisor.
 */
@Timeout(60)
@RequiresRings
class SeccompDeliveryTest {
    /** "RING": protocol.md's magic in the third argument register. */
    private static final long MAGIC = 0x52494E47L;
    private static final int SETUP = (int) Syscall.SYS_IO_URING_SETUP;

    /** What the filtered thread saw; read after it ended (join orders the writes). */
    static final class Client {
        long setupResult = Long.MIN_VALUE;
        boolean cloexec;
        int nopRes = Integer.MIN_VALUE;
        int readRes = Integer.MIN_VALUE;
        boolean probed;
        int registerFilesErrno = -1;
        long secondSetup = Long.MIN_VALUE;
        long getpid = Long.MIN_VALUE;
        long x32Setup = Long.MIN_VALUE;
    }

    private static long trappedSetup(long ticket, MemorySegment params) {
        return Syscall.rawOnThisThread(SETUP, 8, params.address(), MAGIC, ticket, 0, 0);
    }

    @Test
    void ringArrivesAsTheReturnValueOfTheTrappedSetupAndKeepsItsRestrictions() throws Exception {
        long ticket = 0x0123_4567_89ab_cdefL;
        Client c = new Client();
        AtomicReference<IoUringParams> grant = new AtomicReference<>();
        AtomicReference<Long> paramsAddress = new AtomicReference<>();
        int fdsBefore = Descriptors.countOpen();
        int remoteFd;
        FilteredThread t = FilteredThread.withCallingThreadListener("seccomp-client", SeccompFilter.trappingIoUringSetup(), self -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment params = arena.allocate(120, 8);
                paramsAddress.set(params.address());
                c.setupResult = trappedSetup(ticket, params);
                if (c.setupResult >= 0) {
                    int ringFd = (int) c.setupResult;
                    int memfd = Memory.memfdCreate("delivery-test", Memory.MFD_CLOEXEC);
                    try {
                        c.cloexec = (Descriptors.fcntl(ringFd, Descriptors.F_GETFD, 0) & Descriptors.FD_CLOEXEC) != 0;
                        try (MappedTestRing ring = MappedTestRing.map(ringFd, grant.get())) {
                            c.nopRes = ring.run(IoUringOp.NOP.number(), -1, 0, 0, 0);
                            MemorySegment buf = arena.allocate(16);
                            c.readRes = ring.run(IoUringOp.READ.number(), memfd, buf.address(), 16, 0);
                        }
                        c.probed = IoUringCalls.probe(ringFd).supports(IoUringOp.NOP);
                        try {
                            IoUringCalls.registerFiles(ringFd, new int[] {memfd});
                            c.registerFilesErrno = 0;
                        } catch (KernelException e) {
                            c.registerFilesErrno = e.errno();
                        }
                    } finally {
                        Descriptors.closeQuietly(memfd);
                        Descriptors.closeQuietly(ringFd);
                    }
                }
                c.secondSetup = trappedSetup(ticket + 1, params);
                c.getpid = Syscall.rawOnThisThread(Syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0);
                c.x32Setup = Syscall.rawOnThisThread(SETUP | SeccompFilter.X32_SYSCALL_BIT, 8, params.address(), MAGIC,
                        ticket + 2, 0, 0);
            }
        });
        SeccompListener l = t.listener();
        try (t; l) {
            int tid = t.tid();
            assertThat(l.poll(10_000)).as("listener after the client's io_uring_setup")
                    .isEqualTo(SeccompListener.Event.NOTIFICATION);
            SeccompNotification n = l.receive();
            assertThat(n).as("first notification").isNotNull();
            assertThat(n.arch()).as("arch").isEqualTo(SeccompFilter.AUDIT_ARCH_X86_64);
            assertThat(n.nr()).as("nr").isEqualTo(SETUP);
            assertThat(n.isX86_64(SETUP)).as("isX86_64(io_uring_setup)").isTrue();
            assertThat(n.arg(0)).as("entries register").isEqualTo(8);
            assertThat(n.arg(1)).as("params pointer register").isEqualTo(paramsAddress.get());
            assertThat(n.arg(2)).as("magic in the third register").isEqualTo(MAGIC);
            assertThat(n.arg(3)).as("ticket in the fourth register").isEqualTo(ticket);
            assertThat(n.instructionPointer()).as("instruction pointer").isNotZero();
            // notif.pid is the calling THREAD's id in our pid namespace, not its process id.
            assertThat(n.pid()).as("notif.pid is the caller's TID").isEqualTo(tid).isNotEqualTo(Tasks.getpid());
            assertThat(ProcessInfo.threadGroupOf(n.pid())).as("the TID's thread group").isEqualTo(Tasks.getpid());
            assertThat(l.isValid(n.id())).as("ID_VALID while the caller waits").isTrue();

            IoUringCalls.CreatedRing ring = IoUringCalls.create(8, 0, SetupFlag.R_DISABLED.abi());
            try {
                IoUringCalls.registerRestrictions(ring.fd(), List.of(Restriction.sqeOp(IoUringOp.NOP),
                        Restriction.registerOp(RegisterOp.REGISTER_PROBE)));
                IoUringCalls.enableRings(ring.fd());
                grant.set(ring.params());
                remoteFd = l.addFd(n.id(), ring.fd(), true);
                assertThat(l.respond(n.id(), remoteFd)).as("NOTIF_SEND after ADDFD").isTrue();
            } finally {
                Descriptors.close(ring.fd()); // the client's copy keeps the ring alive
            }
            assertThat(l.isValid(n.id())).as("ID_VALID after the answer").isFalse();

            assertThat(l.poll(10_000)).as("second setup").isEqualTo(SeccompListener.Event.NOTIFICATION);
            SeccompNotification n2 = l.receive();
            assertThat(n2.arg(3)).as("second ticket").isEqualTo(ticket + 1);
            assertThat(n2.id()).as("a new notification id").isNotEqualTo(n.id());
            assertThat(l.fail(n2.id(), Errno.EPERM)).as("answering EPERM").isTrue();

            assertThat(l.poll(10_000)).as("x32 setup").isEqualTo(SeccompListener.Event.NOTIFICATION);
            SeccompNotification n3 = l.receive();
            assertThat(n3.isX32()).as("x32 call seen as x32: %s", n3).isTrue();
            assertThat(n3.nr()).as("x32 nr").isEqualTo(SETUP | SeccompFilter.X32_SYSCALL_BIT);
            assertThat(n3.arch()).as("x32 arch").isEqualTo(SeccompFilter.AUDIT_ARCH_X86_64);
            assertThat(n3.arg(3)).as("x32 ticket").isEqualTo(ticket + 2);
            assertThat(l.fail(n3.id(), Errno.EPERM)).as("answering x32 with EPERM").isTrue();

            assertThat(t.join(10_000)).as("client thread ended").isTrue();
            assertThat(l.poll(10_000)).as("listener once the only filtered thread is gone")
                    .isEqualTo(SeccompListener.Event.HANGUP);
        }
        assertThat(t.failure()).as("client thread failure").isNull();
        assertThat(c.setupResult).as("the trapped io_uring_setup returned the installed fd").isEqualTo(remoteFd);
        assertThat(c.cloexec).as("the delivered ring fd is close-on-exec").isTrue();
        assertThat(c.nopRes).as("NOP on the delivered ring").isZero();
        assertThat(c.readRes).as("READ, not in the restrictions").isEqualTo(-Errno.EACCES.number());
        assertThat(c.probed).as("REGISTER_PROBE is allowed and reports NOP").isTrue();
        assertThat(c.registerFilesErrno).as("REGISTER_FILES is not allowed").isEqualTo(Errno.EACCES.number());
        assertThat(c.secondSetup).as("an answered EPERM").isEqualTo(-Errno.EPERM.number());
        assertThat(c.getpid).as("getpid under the filter").isEqualTo(Tasks.getpid());
        assertThat(c.x32Setup).as("x32 io_uring_setup answered EPERM").isEqualTo(-Errno.EPERM.number());
        assertThat(Descriptors.countOpen()).as("open fds after the test").isEqualTo(fdsBefore);
    }

    @Test
    void filterTrapsIoUringSetupAllowsGetpidAndFailsWithEnosysWithoutListener() throws Exception {
        long[] r = new long[3];
        CountDownLatch getpidDone = new CountDownLatch(1);
        CountDownLatch goSetup = new CountDownLatch(1);
        CountDownLatch listenerClosed = new CountDownLatch(1);
        FilteredThread t = FilteredThread.withCallingThreadListener("seccomp-getpid", SeccompFilter.trappingIoUringSetup(), self -> {
            r[0] = Syscall.rawOnThisThread(Syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0);
            getpidDone.countDown();
            await(goSetup);
            r[1] = Syscall.rawOnThisThread(SETUP, 1, 0, 0, 0, 0, 0);
            await(listenerClosed);
            r[2] = Syscall.rawOnThisThread(SETUP, 1, 0, 0, 0, 0, 0);
        });
        SeccompListener l = t.listener();
        try (t) {
            try (l) {
                assertThat(getpidDone.await(10, TimeUnit.SECONDS)).as("getpid done").isTrue();
                // getpid has returned, so it was not trapped (a trapped call waits for an answer):
                // nothing may be pending for it now.
                assertThat(l.poll(0)).as("no notification for getpid").isEqualTo(SeccompListener.Event.TIMEOUT);
                goSetup.countDown();
                assertThat(l.poll(10_000)).as("io_uring_setup trapped").isEqualTo(SeccompListener.Event.NOTIFICATION);
                SeccompNotification n = l.receive();
                assertThat(n.nr()).as("nr").isEqualTo(SETUP);
                assertThat(l.respond(n.id(), 12345)).as("answer").isTrue();
            }
            listenerClosed.countDown();
        }
        assertThat(t.failure()).as("thread failure").isNull();
        assertThat(r[0]).as("getpid").isEqualTo(Tasks.getpid());
        assertThat(r[1]).as("the supervisor's made-up return value: the kernel never ran io_uring_setup").isEqualTo(12345);
        assertThat(r[2]).as("a trapped call with no listener left").isEqualTo(-Errno.ENOSYS.number());
    }

    @Test
    void withoutWaitKillableRecvASignalWithdrawsAReceivedNotificationAndTheCallIsTrappedAgain() throws Exception {
        long[] result = {Long.MIN_VALUE};
        int memfd = Memory.memfdCreate("addfd-src", Memory.MFD_CLOEXEC);
        FilteredThread t = new FilteredThread("seccomp-interruptible",
                () -> SeccompListener.adopt((int) Seccomp.setModeFilter(SeccompFilter.trappingIoUringSetup(),
                        EnumSet.of(SeccompFilterFlag.NEW_LISTENER))),
                self -> result[0] = Syscall.rawOnThisThread(SETUP, 1, 0, MAGIC, 7, 0, 0));
        SeccompListener l = t.listener();
        try (t; l) {
            assertThat(l.poll(10_000)).as("trapped").isEqualTo(SeccompListener.Event.NOTIFICATION);
            SeccompNotification n1 = l.receive();
            // The JVM handles SIGPIPE (ignores it) with SA_RESTART: the interrupted call restarts.
            Tasks.tgkill(Tasks.getpid(), t.tid(), Tasks.SIGPIPE);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (l.isValid(n1.id()) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(l.isValid(n1.id())).as("a received notification after a signal, without WAIT_KILLABLE_RECV").isFalse();
            assertThatThrownBy(() -> l.addFd(n1.id(), memfd, true)).as("ADDFD to a withdrawn notification")
                    .isInstanceOfSatisfying(KernelException.class, e -> assertThat(e.is(Errno.ENOENT)).as(e.getMessage()).isTrue());
            assertThat(l.respond(n1.id(), 0)).as("NOTIF_SEND to a withdrawn notification").isFalse();
            assertThat(l.poll(10_000)).as("the restarted call").isEqualTo(SeccompListener.Event.NOTIFICATION);
            SeccompNotification n2 = l.receive();
            assertThat(n2).as("restarted call's notification").isNotNull();
            assertThat(n2.id()).as("a new id").isNotEqualTo(n1.id());
            assertThat(n2.arg(3)).as("same arguments").isEqualTo(7);
            assertThat(l.fail(n2.id(), Errno.EPERM)).as("answer the restarted call").isTrue();
            assertThat(t.join(10_000)).as("thread ended").isTrue();
        } finally {
            Descriptors.close(memfd);
        }
        assertThat(t.failure()).as("thread failure").isNull();
        assertThat(result[0]).as("the restarted call got the answer").isEqualTo(-Errno.EPERM.number());
    }

    @Test
    void withWaitKillableRecvASignalLeavesAReceivedNotificationPending() throws Exception {
        assumeWaitKillableRecv();
        long[] result = {Long.MIN_VALUE};
        FilteredThread t = FilteredThread.withCallingThreadListener("seccomp-killable", SeccompFilter.trappingIoUringSetup(),
                self -> result[0] = Syscall.rawOnThisThread(SETUP, 1, 0, MAGIC, 8, 0, 0));
        SeccompListener l = t.listener();
        try (t; l) {
            assertThat(l.poll(10_000)).as("trapped").isEqualTo(SeccompListener.Event.NOTIFICATION);
            SeccompNotification n = l.receive();
            Tasks.tgkill(Tasks.getpid(), t.tid(), Tasks.SIGPIPE);
            // The signal wakes the interruptible wait; the kernel sees the notification was
            // received and goes back to sleep killable ('D'), where only a fatal signal wakes it.
            // Without WAIT_KILLABLE_RECV it would withdraw the notification and restart instead.
            ThreadStates.awaitState(t.tid(), SETUP, "D", Duration.ofSeconds(10));
            assertThat(l.isValid(n.id())).as("still pending after a signal, with WAIT_KILLABLE_RECV").isTrue();
            assertThat(l.fail(n.id(), Errno.EPERM)).as("answer").isTrue();
            assertThat(t.join(10_000)).as("thread ended").isTrue();
            assertThat(l.poll(10_000)).as("no restarted call, and no thread left").isEqualTo(SeccompListener.Event.HANGUP);
        }
        assertThat(t.failure()).as("thread failure").isNull();
        assertThat(result[0]).as("the call got the answer").isEqualTo(-Errno.EPERM.number());
    }

    @Test
    void onlyARealListenerIsAdoptedFromOutside() throws Exception {
        FilteredThread t = FilteredThread.withCallingThreadListener("seccomp-verify", SeccompFilter.trappingIoUringSetup(), self -> {
        });
        SeccompListener l = t.listener();
        int memfd = Memory.memfdCreate("anon_inode:seccomp notify", Memory.MFD_CLOEXEC);
        IoUringCalls.CreatedRing ring = IoUringCalls.create(2, 0, 0);
        try (t; l) {
            assertThat(SeccompListener.isListener(l.fd())).as("a listener fd").isTrue();
            assertThat(SeccompListener.isListener(memfd)).as("a memfd named like a listener").isFalse();
            assertThat(SeccompListener.isListener(ring.fd())).as("a ring fd").isFalse();
            assertThat(SeccompListener.isListener(-1)).as("-1").isFalse();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> SeccompListener.adoptVerified(memfd))
                    .as("adopting a memfd").isInstanceOf(IllegalArgumentException.class);
            assertThat(Descriptors.isOpen(memfd)).as("a refused fd stays with the caller").isTrue();
        } finally {
            Descriptors.close(memfd);
            Descriptors.close(ring.fd());
        }
    }

    @Test
    void kernelReportsTheFlagsAndActionsDeliveryNeeds() throws Exception {
        assertThat(Seccomp.isActionAvailable(SeccompAction.USER_NOTIF)).as("SECCOMP_RET_USER_NOTIF").isTrue();
        assertThat(Seccomp.isActionAvailable(SeccompAction.KILL_PROCESS)).as("SECCOMP_RET_KILL_PROCESS").isTrue();
        assertThat(Seccomp.isActionAvailable(new SeccompAction(0x7fe0_0000))).as("an action no kernel has").isFalse();
        assertThat(Seccomp.supports(EnumSet.of(SeccompFilterFlag.NEW_LISTENER, SeccompFilterFlag.TSYNC,
                SeccompFilterFlag.TSYNC_ESRCH))).as("NEW_LISTENER | TSYNC | TSYNC_ESRCH").isTrue();
        assertThat(Seccomp.supports(EnumSet.of(SeccompFilterFlag.NEW_LISTENER, SeccompFilterFlag.TSYNC)))
                .as("TSYNC with NEW_LISTENER but without TSYNC_ESRCH is ambiguous and refused").isFalse();
        assertThat(Seccomp.supports(EnumSet.of(SeccompFilterFlag.WAIT_KILLABLE_RECV)))
                .as("WAIT_KILLABLE_RECV without NEW_LISTENER").isFalse();
        // The probe (the flags checked against a null program) must agree with a real install.
        Object killable = install(false, true, EnumSet.of(SeccompFilterFlag.NEW_LISTENER, SeccompFilterFlag.WAIT_KILLABLE_RECV));
        if (Seccomp.supportsWaitKillableRecv()) {
            assertThat(killable).as("NEW_LISTENER | WAIT_KILLABLE_RECV installs, as probed").isInstanceOf(Long.class);
        } else {
            assertThat(killable).as("NEW_LISTENER | WAIT_KILLABLE_RECV refused, as probed").isInstanceOfSatisfying(
                    KernelException.class, e -> assertThat(e.is(Errno.EINVAL)).as(e.getMessage()).isTrue());
        }
    }

    @Test
    void withoutNoNewPrivsOnlyAPrivilegedThreadMayInstallAFilter() throws Exception {
        // Pinned because the client library must set no-new-privs itself: only CAP_SYS_ADMIN skips it.
        org.junit.jupiter.api.Assumptions.assumeTrue(Tasks.getuid() == 0, "needs root to compare with an unprivileged thread");
        assertThat(install(false, false, LISTENER)).as("root installs without no-new-privs").isInstanceOf(Long.class);
        assertThat(install(true, false, LISTENER)).as("uid 65534 without no-new-privs")
                .isInstanceOfSatisfying(KernelException.class, e -> assertThat(e.is(Errno.EACCES)).as(e.getMessage()).isTrue());
    }

    private static final EnumSet<SeccompFilterFlag> LISTENER = EnumSet.of(SeccompFilterFlag.NEW_LISTENER);

    /**
     * On a throwaway thread (the filter, no-new-privs and the dropped credentials stay with it):
     * optionally drops to nobody with the raw setresgid/setresuid system calls, which change
     * only the calling thread (glibc's wrappers would change every thread of the JVM), optionally
     * sets no-new-privs, then installs with {@code flags}. Returns the listener fd (closed
     * already) or the failure.
     */
    private static Object install(boolean dropToNobody, boolean noNewPrivs, EnumSet<SeccompFilterFlag> flags)
            throws InterruptedException {
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread th = Thread.ofPlatform().start(() -> {
            try {
                if (dropToNobody) {
                    Syscall.checked("setresgid", Syscall.SYS_SETRESGID, 65534, 65534, 65534);
                    Syscall.checked("setresuid", Syscall.SYS_SETRESUID, 65534, 65534, 65534);
                }
                if (noNewPrivs) {
                    org.ringwarden.linux.Prctl.setNoNewPrivs();
                }
                long fd = Seccomp.setModeFilter(SeccompFilter.trappingIoUringSetup(), flags);
                outcome.set(fd);
                Descriptors.close((int) fd);
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        assertThat(th.join(java.time.Duration.ofSeconds(10))).as("installer thread ended").isTrue();
        return outcome.get();
    }

    private static void assumeWaitKillableRecv() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Seccomp.supportsWaitKillableRecv(),
                "this kernel has no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (probed)");
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("timed out waiting for the supervisor");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
