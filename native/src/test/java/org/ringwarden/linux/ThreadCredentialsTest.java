package org.ringwarden.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.FutureTask;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.uring.IoUringCalls;

/**
 * Per-thread credentials on the real kernel: the raw calls change only the calling thread, and
 * a ring made under another real uid without {@code CAP_IPC_LOCK} is charged to that uid
 * (docs/security.md, "Who pays for pinned memory").
 */
@Timeout(30)
class ThreadCredentialsTest {
    /** Two uids nobody uses (the daemon's accounting range). */
    private static final int SHADOW_A = 0x8000_0000 + 61_001;
    private static final int SHADOW_B = 0x8000_0000 + 61_002;

    @Test
    void aRealUidTakenWithTheRawCallStaysOnItsThreadAndCanBeGivenBack() throws Exception {
        assumeTrue(ThreadCredentials.hasEffective(ThreadCredentials.CAP_SETUID), "needs CAP_SETUID (root)");
        int mine = ThreadCredentials.realUid();
        int[] other = new int[1];
        int[] seen = onOwnThread(() -> {
            ThreadCredentials.setRealUid(SHADOW_A);
            int during = ThreadCredentials.realUid();
            other[0] = whileSwitched(ThreadCredentials::realUid);
            ThreadCredentials.setRealUid(mine);
            return new int[] {during, ThreadCredentials.realUid()};
        });
        assertThat(seen[0]).as("the thread's real uid while it holds the accounting uid").isEqualTo(SHADOW_A);
        assertThat(other[0]).as("a thread that existed before, meanwhile").isEqualTo(mine);
        assertThat(seen[1]).as("given back").isEqualTo(mine);
        assertThat(ThreadCredentials.realUid()).as("the test's own thread throughout").isEqualTo(mine);
    }

    @Test
    void anEffectiveCapabilityTakenOutCanBePutBackOnlyOnThatThread() throws Exception {
        assumeTrue(ThreadCredentials.hasEffective(ThreadCredentials.CAP_IPC_LOCK), "needs CAP_IPC_LOCK (root)");
        boolean[] seen = onOwnThread(() -> {
            long before = ThreadCredentials.effectiveCapabilities();
            ThreadCredentials.setEffectiveCapabilities(before & ~(1L << ThreadCredentials.CAP_IPC_LOCK));
            boolean during = ThreadCredentials.hasEffective(ThreadCredentials.CAP_IPC_LOCK);
            boolean[] other = {whileSwitched(() -> ThreadCredentials.hasEffective(ThreadCredentials.CAP_IPC_LOCK))};
            boolean stillPermitted = (ThreadCredentials.permittedCapabilities() & (1L << ThreadCredentials.CAP_IPC_LOCK)) != 0;
            ThreadCredentials.setEffectiveCapabilities(before);
            return new boolean[] {during, other[0], stillPermitted, ThreadCredentials.hasEffective(ThreadCredentials.CAP_IPC_LOCK)};
        });
        assertThat(seen[0]).as("out of this thread's effective set").isFalse();
        assertThat(seen[1]).as("still effective on another thread").isTrue();
        assertThat(seen[2]).as("still permitted").isTrue();
        assertThat(seen[3]).as("put back").isTrue();
    }

    @Test
    @org.ringwarden.linux.uring.RequiresRings
    void ringsMadeUnderAnAccountingUidAreChargedToThatUidAlone() throws Exception {
        assumeTrue(ThreadCredentials.hasEffective(ThreadCredentials.CAP_SETUID)
                && ThreadCredentials.hasEffective(ThreadCredentials.CAP_IPC_LOCK), "needs root");
        long[] old = org.ringwarden.linux.ResourceLimits.memlock();
        // 1 MiB: two rings of 4096 entries (404 KiB each) fit, a third does not.
        org.ringwarden.linux.ResourceLimits.setMemlock(1L << 20, old[1]);
        List<Integer> rings = new ArrayList<>();
        try {
            int[] a = onOwnThread(() -> countRings(SHADOW_A, rings));
            int[] b = onOwnThread(() -> countRings(SHADOW_B, rings));
            assertThat(a[0]).as("rings under accounting uid A before ENOMEM").isEqualTo(2);
            assertThat(b[0]).as("uid B has a budget of its own, whatever A holds").isEqualTo(2);
            // The test's own thread keeps CAP_IPC_LOCK: nothing is charged, the limit does not apply.
            for (int i = 0; i < 4; i++) {
                rings.add(IoUringCalls.create(4096, 0, 0).fd());
            }
        } finally {
            org.ringwarden.linux.ResourceLimits.setMemlock(old[0], old[1]);
            rings.forEach(Descriptors::closeQuietly);
        }
    }

    /** On this thread: take {@code uid}, drop CAP_IPC_LOCK, make rings until ENOMEM (at most 8), give both back. */
    private static int[] countRings(int uid, List<Integer> rings) {
        int mine = ThreadCredentials.realUid();
        long caps = ThreadCredentials.effectiveCapabilities();
        ThreadCredentials.setRealUid(uid);
        ThreadCredentials.setEffectiveCapabilities(caps & ~(1L << ThreadCredentials.CAP_IPC_LOCK));
        int n = 0;
        try {
            for (; n < 8; n++) {
                try {
                    int fd = IoUringCalls.create(4096, 0, 0).fd();
                    synchronized (rings) {
                        rings.add(fd);
                    }
                } catch (KernelException e) {
                    assertThat(e.errnoName()).isEqualTo("ENOMEM");
                    break;
                }
            }
        } finally {
            ThreadCredentials.setEffectiveCapabilities(caps);
            ThreadCredentials.setRealUid(mine);
        }
        return new int[] {n};
    }

    @Test
    void takingAnotherRealUidWithoutCapSetuidIsRefused() throws Exception {
        assumeTrue(ThreadCredentials.hasEffective(ThreadCredentials.CAP_SETUID), "needs CAP_SETUID to drop it");
        Object[] seen = onOwnThread(() -> {
            long caps = ThreadCredentials.effectiveCapabilities();
            ThreadCredentials.setEffectiveCapabilities(caps & ~(1L << ThreadCredentials.CAP_SETUID));
            try {
                ThreadCredentials.setRealUid(SHADOW_A);
                return new Object[] {"no refusal"};
            } catch (KernelException e) {
                return new Object[] {e.errnoName()};
            } finally {
                ThreadCredentials.setEffectiveCapabilities(caps);
            }
        });
        assertThat(seen[0]).isEqualTo("EPERM");
        assertThatThrownBy(() -> ThreadCredentials.setEffectiveCapabilities(-1L))
                .as("a capability outside the permitted set cannot be made effective")
                .isInstanceOf(KernelException.class);
    }

    /**
     * Asks a thread that already runs (the JVM's common pool is started before any test switches)
     * for {@code what}: a thread started from a switched thread would inherit its credentials.
     */
    private static <T> T whileSwitched(java.util.function.Supplier<T> what) {
        return java.util.concurrent.CompletableFuture.supplyAsync(what, PRE_EXISTING).join();
    }

    private static final java.util.concurrent.ThreadPoolExecutor PRE_EXISTING = startedExecutor();

    private static java.util.concurrent.ThreadPoolExecutor startedExecutor() {
        var e = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0, java.util.concurrent.TimeUnit.SECONDS,
                new java.util.concurrent.LinkedBlockingQueue<>());
        e.prestartAllCoreThreads();
        return e;
    }

    /** Runs {@code task} on a new platform thread (credentials are per thread) and returns its result. */
    static <T> T onOwnThread(Callable<T> task) throws Exception {
        FutureTask<T> f = new FutureTask<>(task);
        Thread t = Thread.ofPlatform().start(f);
        t.join();
        return f.get();
    }
}
