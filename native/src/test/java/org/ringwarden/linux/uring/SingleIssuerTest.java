package org.ringwarden.linux.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.ringwarden.linux.uring.RingFixtures.assertFailsWith;
import static org.ringwarden.linux.uring.RingFixtures.await;
import static org.ringwarden.linux.uring.RingFixtures.nop;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;

/**
 * A {@code SINGLE_ISSUER} ring created disabled belongs to the task that enables it, not to
 * its creator (security.md): the reason the fastest setup flags are usable only when the
 * client enables the ring itself. Java threads are kernel tasks, so two threads show it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@RequiresRings
class SingleIssuerTest {
    private int openBefore;

    @BeforeEach
    void countDescriptors() {
        assertThat(openBefore).isZero();
        openBefore = Descriptors.countOpen();
    }

    @AfterEach
    void noDescriptorLeaked() {
        assertThat(Descriptors.countOpen()).as("open descriptors after the test (before: %d): %s", openBefore,
                RingFixtures.openDescriptors())
                .isEqualTo(openBefore);
    }

    @Test
    void taskThatEnablesBecomesTheIssuerAndTheCreatorGetsEexist() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, SetupFlag.SINGLE_ISSUER.abi() | SetupFlag.DEFER_TASKRUN.abi()
                    | SetupFlag.R_DISABLED.abi());
            AtomicReference<Map<Long, Integer>> issuerResults = new AtomicReference<>();
            AtomicReference<Throwable> issuerFailure = new AtomicReference<>();
            Thread issuer = new Thread(() -> {
                try {
                    IoUringCalls.enableRings(ring.fd());
                    nop(ring, 1, 0);
                    ring.submitAndWait(1);
                    issuerResults.set(await(ring, 1));
                } catch (Throwable t) {
                    issuerFailure.set(t);
                }
            }, "ring-enabler");
            issuer.start();
            issuer.join(); // hands the Ring back to this thread (happens-before)
            assertThat(issuerFailure.get()).as("the enabling thread submits and reaps").isNull();
            assertThat(issuerResults.get()).as("NOP on the enabling thread").containsOnly(Map.entry(1L, 0));

            nop(ring, 2, 0);
            assertFailsWith(Errno.EEXIST, "io_uring_enter(submit) from the creator thread", ring::submit);
            assertThat(ring.pending()).as("the creator's NOP was not consumed").isEqualTo(1);
            assertFailsWith(Errno.EEXIST, "io_uring_enter(GETEVENTS) from the creator thread", ring::flush);
        }
    }

    @Test
    void creatorThatEnablesStaysTheIssuer() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, SetupFlag.SINGLE_ISSUER.abi() | SetupFlag.DEFER_TASKRUN.abi()
                    | SetupFlag.R_DISABLED.abi());
            IoUringCalls.enableRings(ring.fd());
            nop(ring, 1, 0);
            assertThat(ring.submitAndWait(1)).as("submitted by the creator that enabled").isEqualTo(1);
            assertThat(await(ring, 1)).containsOnly(Map.entry(1L, 0));
        }
    }
}
