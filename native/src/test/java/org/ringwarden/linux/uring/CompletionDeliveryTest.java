package org.ringwarden.linux.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.ringwarden.linux.uring.RingFixtures.sqe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Syscall;

/**
 * Completions that need this task to enter the kernel before they show in the CQ (task work
 * with {@code TASKRUN_FLAG}, deferred work with {@code DEFER_TASKRUN}) reach {@link Ring#reap}
 * the way {@link Ring}'s documentation says.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@RequiresRings
class CompletionDeliveryTest {
    private static final int POLLIN = 0x1;

    private int openBefore;

    @BeforeEach
    void countDescriptors() {
        assertThat(openBefore).isZero();
        openBefore = Descriptors.countOpen();
    }

    @AfterEach
    void noDescriptorLeaked() {
        assertThat(Descriptors.countOpen()).as("open descriptors after the test (before: %d): %s", openBefore,
                RingFixtures.openDescriptors()).isEqualTo(openBefore);
    }

    /** Arms a poll on an empty pipe, then makes the pipe readable from this thread. */
    private static void pollThenWrite(RingFixtures.Resources res, Ring ring) {
        int[] pipe = res.pipe();
        long p = sqe(ring);
        Sqe.prepPollAdd(ring.sqes(), p, pipe[0], POLLIN);
        Sqe.setUserData(ring.sqes(), p, 77);
        assertThat(ring.submit()).as("poll submitted").isEqualTo(1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocateFrom("x");
            Syscall.checked("write", Syscall.SYS_WRITE, pipe[1], b.address(), 1);
        }
    }

    /**
     * With DEFER_TASKRUN the work runs only when the issuer enters with GETEVENTS (not on any
     * return to user space, as COOP_TASKRUN work does, which would make this racy); with
     * TASKRUN_FLAG the kernel raises IORING_SQ_TASKRUN for it, and reap() must flush it.
     */
    @Test
    void taskRunFlagCompletionIsFlushedByReap() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, SetupFlag.SINGLE_ISSUER.abi() | SetupFlag.DEFER_TASKRUN.abi()
                    | SetupFlag.TASKRUN_FLAG.abi());
            pollThenWrite(res, ring);
            assertThat(ring.cqReady()).as("CQ before this task enters the kernel").isZero();
            assertThat(ring.sqFlags() & Ring.SQ_TASKRUN).as("IORING_SQ_TASKRUN raised").isNotZero();
            List<Long> got = new ArrayList<>();
            assertThat(ring.reap((u, r, f) -> got.add(u))).as("reap flushes the task work").isEqualTo(1);
            assertThat(got).as("user data").containsExactly(77L);
            assertThat(ring.needsFlush()).as("flags after reaping").isFalse();
        }
    }

    @Test
    void deferTaskrunCompletionAppearsWhenTheIssuerWaits() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, SetupFlag.SINGLE_ISSUER.abi() | SetupFlag.DEFER_TASKRUN.abi());
            pollThenWrite(res, ring);
            assertThat(ring.cqReady()).as("CQ before the issuer waits (deferred)").isZero();
            assertThat(ring.reap((u, r, f) -> { })).as("reap without TASKRUN_FLAG: nothing tells it to enter").isZero();
            ring.awaitCompletions(1);
            List<Long> got = new ArrayList<>();
            assertThat(ring.reap((u, r, f) -> got.add(u))).as("reaped after waiting").isEqualTo(1);
            assertThat(got).as("user data").containsExactly(77L);
        }
    }
}
