package org.ringwarden.daemon.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/**
 * The watcher's limit per process: a process flooding refusals gets its few reports a second,
 * and another process's reports still go in the same second; pids past the bound share one
 * count instead of growing the map.
 */
class PerProcessRateTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final PerProcessRate rate = new PerProcessRate(now::get);

    private int admitted(int pid, int tries) {
        int n = 0;
        for (int i = 0; i < tries; i++) {
            if (rate.admit(pid)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void aFloodingProcessGetsItsFewReportsAndAnotherProcessStillGetsItsOwn() {
        assertThat(admitted(4242, 100_000)).as("the flooding process").isEqualTo(PerProcessRate.PER_SECOND);
        assertThat(admitted(5151, 3)).as("another process, the same second").isEqualTo(3);
        now.addAndGet(1_000_000_000L);
        assertThat(admitted(4242, 100)).as("the next second").isEqualTo(PerProcessRate.PER_SECOND);
    }

    @Test
    void processesPastTheBoundShareOneCount() {
        for (int pid = 1; pid <= PerProcessRate.MAX_PROCESSES; pid++) {
            assertThat(rate.admit(pid)).isTrue();
        }
        assertThat(admitted(1_000_000, 10) + admitted(1_000_001, 10)).as("two new pids, one shared count")
                .isEqualTo(PerProcessRate.PER_SECOND);
        assertThat(rate.admit(7)).as("a process with its own count keeps it").isTrue();
    }
}
