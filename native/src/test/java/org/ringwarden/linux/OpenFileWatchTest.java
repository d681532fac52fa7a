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
}
