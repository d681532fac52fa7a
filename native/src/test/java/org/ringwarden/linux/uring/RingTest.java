package org.ringwarden.linux.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.ringwarden.linux.uring.RingFixtures.await;
import static org.ringwarden.linux.uring.RingFixtures.nop;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.Syscall;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
@RequiresRings
class RingTest {
    private static final long SYS_EVENTFD2 = 290;
    private static final long SYS_MINCORE = 27;

    private int openBefore;

    @BeforeEach
    void countDescriptors() {
        assertThat(openBefore).isZero(); // loads AssertJ before counting: its jar is an open fd
        openBefore = Descriptors.countOpen();
    }

    @AfterEach
    void noDescriptorLeaked() {
        assertThat(Descriptors.countOpen()).as("open descriptors after the test (before: %d): %s", openBefore,
                RingFixtures.openDescriptors())
                .isEqualTo(openBefore);
    }

    @Test
    void nopCompletesWithItsUserData() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(4, 0);
            nop(ring, 0xdead_beef_cafeL, 0);
            assertThat(ring.pending()).as("pending before submit").isEqualTo(1);
            assertThat(ring.submitAndWait(1)).as("submitted").isEqualTo(1);
            assertThat(ring.pending()).as("pending after submit").isZero();
            assertThat(await(ring, 1)).as("completions").containsExactly(Map.entry(0xdead_beef_cafeL, 0));
            assertThat(ring.cqReady()).as("CQ after reaping").isZero();
        }
    }

    @Test
    void nextSqeReturnsMinusOneWhenTheSqIsFullAndSlotsComeBackAfterSubmit() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(4, 0);
            assertThat(ring.sqSpace()).as("space in a fresh 4-entry SQ").isEqualTo(4);
            for (int i = 0; i < 4; i++) {
                nop(ring, i, 0);
            }
            assertThat(ring.nextSqe()).as("fifth SQE of a 4-entry SQ").isEqualTo(-1);
            assertThat(ring.sqSpace()).as("space when full").isZero();
            assertThat(ring.submit()).as("submitted").isEqualTo(4);
            assertThat(ring.sqSpace()).as("space after the kernel consumed all").isEqualTo(4);
            assertThat(await(ring, 4).keySet()).as("user data").containsExactlyInAnyOrder(0L, 1L, 2L, 3L);
        }
    }

    @Test
    void cqWrapsAroundOverHundredThousandNopsWithNothingLostOrDuplicated() throws Exception {
        int total = 100_000;
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, 0);
            assertThat(ring.cqEntries()).as("CQ entries of an 8-entry ring").isEqualTo(16);
            BitSet seen = new BitSet(total);
            int[] duplicates = {0};
            int[] failures = {0};
            CompletionHandler handler = (userData, r, flags) -> {
                if (seen.get((int) userData)) {
                    duplicates[0]++;
                }
                if (r != 0) {
                    failures[0]++;
                }
                seen.set((int) userData);
            };
            int next = 0;
            int reaped = 0;
            int round = 0;
            while (reaped < total) {
                // Every third round submits three full batches before reaping: 24 completions
                // for a 16-entry CQ, so the kernel overflows and reap() must flush.
                int batches = (round++ % 3 == 0) ? 3 : 1;
                for (int b = 0; b < batches && next < total; b++) {
                    long sqe;
                    while (next < total && (sqe = ring.nextSqe()) >= 0) {
                        Sqe.prepNop(ring.sqes(), sqe);
                        Sqe.setUserData(ring.sqes(), sqe, next++);
                    }
                    ring.submit();
                }
                reaped += ring.reap(handler);
            }
            assertThat(duplicates[0]).as("completions delivered twice").isZero();
            assertThat(failures[0]).as("NOPs that failed").isZero();
            assertThat(seen.cardinality()).as("distinct user data seen").isEqualTo(total);
            assertThat(ring.cqOverflowCount()).as("completions the kernel dropped").isZero();
            assertThat(ring.needsFlush()).as("overflow flag at the end").isFalse();
        }
    }

    @Test
    void submitAndReapAllocateNothing() throws Exception {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long me = Thread.currentThread().threadId();
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(32, 0);
            long[] sum = {0};
            CompletionHandler handler = (userData, r, flags) -> sum[0] += userData + r;
            submitAndReap(ring, handler, 100_000); // warm-up: class loading, linkage, JIT
            // The quietest of five windows: one-off JVM work (a method handle customised, code
            // deoptimised) lands on this thread now and then; a per-operation allocation lands in all.
            long quietest = Long.MAX_VALUE;
            for (int window = 0; window < 5; window++) {
                long before = threads.getThreadAllocatedBytes(me);
                submitAndReap(ring, handler, 50_000);
                quietest = Math.min(quietest, threads.getThreadAllocatedBytes(me) - before);
            }
            // One 16-byte object per operation would be 800 KB per window.
            assertThat(quietest).as("bytes allocated by 50,000 NOPs through nextSqe/prep/submit/reap (quietest window)")
                    .isLessThan(16 * 1024);
            assertThat(sum[0]).as("user data summed").isPositive();
        }
    }

    private static void submitAndReap(Ring ring, CompletionHandler handler, int ops) {
        java.lang.foreign.MemorySegment sqes = ring.sqes();
        for (int done = 0; done < ops; done += 32) {
            for (int i = 0; i < 32; i++) {
                long sqe = ring.nextSqe();
                Sqe.prepNop(sqes, sqe);
                Sqe.setUserData(sqes, sqe, i);
            }
            ring.submitAndWait(32);
            ring.reap(handler);
        }
    }

    @Test
    void overflowedCompletionsAreFlushedByReap() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, 0);
            for (int b = 0; b < 3; b++) {
                for (int i = 0; i < 8; i++) {
                    nop(ring, b * 8 + i, 0);
                }
                assertThat(ring.submit()).as("batch %d submitted", b).isEqualTo(8);
            }
            assertThat(ring.cqReady()).as("ready in a 16-entry CQ after 24 NOPs").isEqualTo(16);
            assertThat(ring.sqFlags() & Ring.SQ_CQ_OVERFLOW).as("IORING_SQ_CQ_OVERFLOW").isNotZero();
            long[] count = {0};
            assertThat(ring.reap((u, r, f) -> count[0]++)).as("reaped including the overflow list").isEqualTo(24);
            assertThat(ring.needsFlush()).as("overflow flag after reaping").isFalse();
        }
    }

    @Test
    void ringMappedFromFdAndParamsAloneWorks() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            // The creator's view: an fd and the params io_uring_setup returned. A second process
            // (the client) gets exactly these, as numbers, and maps its own Ring. Nobody filled
            // the SQ index array (the kernel zeroes it): were Ring not to, every NOP would run
            // SQE 0 and the user data below would repeat.
            IoUringCalls.CreatedRing created = IoUringCalls.create(16, 0, SetupFlag.SUBMIT_ALL.abi());
            IoUringParams copied = new IoUringParams(created.params().sqEntries(), created.params().cqEntries(),
                    created.params().setupFlags(), created.params().features(), created.params().sqOff(),
                    created.params().cqOff());
            Ring ring = res.ring(Ring.map(created.fd(), copied));
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 16; i++) {
                    nop(ring, round * 100 + i, 0);
                }
                assertThat(ring.submitAndWait(16)).as("submitted in round %d", round).isEqualTo(16);
                assertThat(await(ring, 16)).as("round %d", round).hasSize(16).allSatisfy((u, r) ->
                        assertThat(r).as("NOP %d", u).isZero());
            }
        }
    }

    @Test
    void secondRingOverTheSameFdContinuesWhereTheFirstStopped() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring first = res.newRing(4, 0);
            for (int i = 0; i < 3; i++) {
                nop(first, i, 0);
            }
            first.submitAndWait(3);
            await(first, 3);
            // A dup of the fd stands for a ring received from elsewhere after it was used.
            int dup = Descriptors.dupCloexec(first.fd());
            Ring second = res.ring(Ring.map(dup, first.params()));
            for (int i = 0; i < 6; i++) {
                nop(second, 10 + i, 0);
                second.submit();
            }
            assertThat(await(second, 6).keySet()).as("user data through the second mapping")
                    .containsExactlyInAnyOrder(10L, 11L, 12L, 13L, 14L, 15L);
        }
    }

    @Test
    void closeUnmapsClosesTheFdAndLaterUseThrows() {
        Ring ring = Ring.create(4, 0);
        int fd = ring.fd();
        ring.close();
        assertThat(Descriptors.isOpen(fd)).as("ring fd %d after close", fd).isFalse();
        assertThatThrownBy(ring::sqSpace).as("reading the SQ ring after close").isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(ring::submit).as("submit after close").isInstanceOf(IllegalStateException.class);
        ring.close(); // idempotent
    }

    @Test
    void mapRefusesParamsOfAnotherRingAndLeavesTheFdOpen() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            IoUringCalls.CreatedRing eight = res.created(8, 0);
            IoUringCalls.CreatedRing four = res.created(4, 0);
            assertThatThrownBy(() -> Ring.map(eight.fd(), four.params())).as("8-entry ring with 4-entry params")
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not match");
            assertThat(Descriptors.isOpen(eight.fd())).as("fd after a refused map").isTrue();
        }
    }

    @Test
    void mapRefusesSqpollAndLeavesTheFdOpen() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            IoUringCalls.CreatedRing plain = res.created(4, 0);
            IoUringParams p = plain.params();
            IoUringParams sqpoll = new IoUringParams(p.sqEntries(), p.cqEntries(),
                    p.setupFlags() | (int) SetupFlag.SQPOLL.abi(), p.features(), p.sqOff(), p.cqOff());
            assertThatThrownBy(() -> Ring.map(plain.fd(), sqpoll)).as("mapping an SQPOLL ring")
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("SQPOLL");
            assertThat(Descriptors.isOpen(plain.fd())).as("fd after a refused map").isTrue();
        }
    }

    @Test
    void closeUnmapsEveryRangeOfTheRing() throws Exception {
        List<String> before = ringMappings();
        Ring ring = Ring.create(4, 0);
        MemorySegment sqes = ring.sqes();
        MemorySegment cqes = ring.cqes();
        List<String> ranges = new ArrayList<>(ringMappings());
        ranges.removeAll(before);
        assertThat(ranges).as("the ring's own mappings").isNotEmpty()
                .anySatisfy(r -> assertThat(contains(r, sqes.address())).as("%s holds the SQEs", r).isTrue())
                .anySatisfy(r -> assertThat(contains(r, cqes.address())).as("%s holds the CQEs", r).isTrue());
        ring.close();
        assertThat(ringMappings()).as("io_uring mappings after close").containsExactlyElementsOf(before);
        for (String range : ranges) {
            long start = Long.parseUnsignedLong(range.substring(0, range.indexOf('-')), 16);
            long r = mincore(start);
            if (r == 0) { // another thread's mmap took the hole since: then it is not the ring's
                assertThat(ringMappings()).as("io_uring mappings with 0x%x mapped again", start).doesNotContain(range);
            } else {
                assertThat(r).as("mincore(0x%x) of the closed ring's range %s", start, range)
                        .isEqualTo(-Errno.ENOMEM.number());
            }
        }
        // The segments obtained before close are views of memory that is gone (Ring, "Ownership"):
        // what refuses a use after close is the Ring itself, and the client library's entry and
        // cursor, which check it before each use (BrokeredRingTest).
        assertThatThrownBy(ring::sqes).as("sqes() after close").isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(ring::cqes).as("cqes() after close").isInstanceOf(IllegalStateException.class);
    }

    @Test
    void tenThousandOpenCloseCyclesLeaveTheMappingsAsTheyWere() throws Exception {
        openAndClose(1_000); // warm-up: class loading, compilation, the malloc arena of the errno captures
        List<String> ringsBefore = ringMappings();
        long mappingsBefore = mappingCount();
        openAndClose(10_000);
        assertThat(ringMappings()).as("io_uring mappings after 10,000 rings").containsExactlyElementsOf(ringsBefore);
        // The JVM maps and unmaps on its own meanwhile (a compiler or GC thread's stack, a malloc
        // arena trimmed: seen as one mapping more or less); a mapping left per ring is 10,000.
        assertThat(mappingCount()).as("mappings in /proc/self/maps after 10,000 rings (before: %d)", mappingsBefore)
                .isBetween(mappingsBefore - 4, mappingsBefore + 4);
    }

    private static void openAndClose(int rings) {
        for (int i = 0; i < rings; i++) {
            Ring ring = Ring.create(4, 0);
            nop(ring, i, 0);
            ring.submitAndWait(1);
            ring.close();
        }
    }

    @Test
    void closeFromAnotherThreadDuringAWaitLeavesTheRingToTheWaiterWhichThenFails() throws Exception {
        List<String> before = ringMappings();
        int event = (int) Syscall.checked("eventfd2", SYS_EVENTFD2, 0, Descriptors.O_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            Ring ring = Ring.create(4, 0);
            int fd = ring.fd();
            long sqe = ring.nextSqe();
            Sqe.prepPollAdd(ring.sqes(), sqe, event, 1 /* POLLIN */);
            ring.submit();
            java.util.concurrent.CompletableFuture<Throwable> outcome = new java.util.concurrent.CompletableFuture<>();
            int[] tid = new int[1];
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
            Thread waiter = Thread.ofPlatform().start(() -> {
                tid[0] = org.ringwarden.linux.Tasks.gettid();
                started.countDown();
                try {
                    ring.awaitCompletions(1);
                    outcome.complete(null);
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            });
            started.await();
            org.ringwarden.linux.ThreadStates.awaitBlockedIn(tid[0], Syscall.SYS_IO_URING_ENTER, java.time.Duration.ofSeconds(10));

            ring.close(); // from this thread, while the waiter is in io_uring_enter
            assertThat(Descriptors.isOpen(fd)).as("the ring fd while a thread still waits on it").isTrue();
            assertThat(ringMappings()).as("the ring's mappings while a thread still waits").hasSizeGreaterThan(before.size());
            assertThatThrownBy(ring::cqReady).as("this thread, after its close").isInstanceOf(IllegalStateException.class);

            MemorySegment one = arena.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1);
            Syscall.checked("write(eventfd)", Syscall.SYS_WRITE, event, one.address(), 8); // the poll completes
            Throwable got = outcome.get(); // the class's @Timeout guards a waiter that never returns
            waiter.join();
            assertThat(got).as("what the waiter got")
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed by another thread");
            assertThat(Descriptors.isOpen(fd)).as("the ring fd once the waiter is out").isFalse();
            assertThat(ringMappings()).as("io_uring mappings once the waiter is out").containsExactlyElementsOf(before);
        } finally {
            Descriptors.close(event);
        }
    }

    /** The lines of /proc/self/maps. */
    private static List<String> maps() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps"));
    }

    private static long mappingCount() throws IOException {
        return maps().size();
    }

    /** The address ranges ({@code start-end}) of this process's io_uring mappings. */
    private static List<String> ringMappings() throws IOException {
        List<String> ranges = new ArrayList<>();
        for (String line : maps()) {
            if (line.endsWith("[io_uring]")) {
                ranges.add(line.substring(0, line.indexOf(' ')));
            }
        }
        return ranges;
    }

    private static boolean contains(String range, long address) {
        String[] ends = range.split("-");
        return Long.parseUnsignedLong(ends[0], 16) <= address && address < Long.parseUnsignedLong(ends[1], 16);
    }

    /** {@code mincore(address, 1 page, vec)}: 0, or {@code -ENOMEM} where nothing is mapped. */
    private static long mincore(long address) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vec = arena.allocate(1);
            return Syscall.raw(Syscall.threadCaptureState(), SYS_MINCORE, address, 4096, vec.address(), 0, 0, 0);
        }
    }
}
