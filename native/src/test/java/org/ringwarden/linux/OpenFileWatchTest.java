package org.ringwarden.linux;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.RequiresRings;

/** {@link OpenFileWatch} on the real kernel: a watched file stays listed exactly while some descriptor holds it. */
@Timeout(20)
@RequiresRings
class OpenFileWatchTest {
    @Test
    void aWatchedRingIsListedWhileAnyCopyIsOpenAndGoneWithTheLast() {
        try (OpenFileWatch watch = new OpenFileWatch()) {
            int ring = IoUringCalls.create(8, 0, 0).fd();
            int other = IoUringCalls.create(8, 0, 0).fd();
            watch.watch(ring, 0xFEED_0000_0000_0001L);
            watch.watch(other, 7);
            int copy = Descriptors.dupCloexec(ring);
            Descriptors.close(ring);
            assertThat(watch.liveKeys()).as("the daemon's copy closed, the client's copy open")
                    .containsExactlyInAnyOrder(0xFEED_0000_0000_0001L, 7L);
            Descriptors.close(copy);
            assertThat(watch.liveKeys()).as("the last copy closed").containsExactly(7L);
            Descriptors.close(other);
            assertThat(watch.liveKeys()).isEmpty();
        }
    }

    @Test
    void aWatchHoldsNoReferenceOfItsOwn() {
        int before = Descriptors.countOpen();
        try (OpenFileWatch watch = new OpenFileWatch()) {
            for (int i = 0; i < 100; i++) {
                int ring = IoUringCalls.create(8, 0, 0).fd();
                watch.watch(ring, i);
                Descriptors.close(ring);
            }
            assertThat(watch.liveKeys()).as("100 rings watched and closed").isEmpty();
        }
        assertThat(Descriptors.countOpen()).as("no descriptor left behind").isEqualTo(before);
    }

    @Test
    void aListLongerThanTheFirstReadIsReadWhole() {
        // About 90 bytes of fdinfo per watched file: 1,000 are about 90 KB, many times the
        // first buffer, so the watch must grow it and read again, and lose no line on the way.
        int ring = IoUringCalls.create(8, 0, 0).fd();
        int[] copies = new int[1_000];
        try (OpenFileWatch watch = new OpenFileWatch()) {
            java.util.Set<Long> expected = new java.util.HashSet<>();
            for (int i = 0; i < copies.length; i++) {
                copies[i] = Descriptors.dupCloexec(ring); // one epoll item per (file, descriptor)
                long key = 0xC0DE_0000_0000_0000L | i;
                watch.watch(copies[i], key);
                expected.add(key);
            }
            assertThat(watch.liveKeys()).as("every watched file, read across a grown buffer").isEqualTo(expected);
            assertThat(watch.liveKeys()).as("the second look, from offset 0 again").isEqualTo(expected);
        } finally {
            for (int c : copies) {
                if (c > 0) {
                    Descriptors.close(c);
                }
            }
            Descriptors.close(ring);
        }
    }
}
