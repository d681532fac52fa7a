package org.ringwarden.linux.seccomp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.Tasks;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.RequiresRings;

/**
 * security.md's measurement in small: ADDFD then SEND with WAIT_KILLABLE_RECV, while the
 * client thread is pelted with (handled, ignored) signals. Every trapped call must return
 * exactly the fd the supervisor installed, never 0, and no fd may be left behind.
 */
@Timeout(120)
@RequiresRings
class DeliveryUnderSignalsTest {
    private static final int CALLS = 2_000;

    @Test
    void everyDeliveredCallReturnsTheInstalledFdWhileSignalsArrive() throws Exception {
        long[] results = new long[CALLS];
        int[] installed = new int[CALLS];
        int fdsBefore = Descriptors.countOpen();
        FilteredThread t = FilteredThread.withCallingThreadListener("seccomp-stress", SeccompFilter.trappingIoUringSetup(), self -> {
            for (int i = 0; i < CALLS; i++) {
                long r = Syscall.rawOnThisThread(Syscall.SYS_IO_URING_SETUP, 8, 0, SeccompClientMain.MAGIC, i, 0, 0);
                results[i] = r;
                if (r > 0) {
                    Descriptors.close((int) r);
                }
            }
        });
        SeccompListener l = t.listener();
        int tid = t.tid();
        AtomicBoolean stop = new AtomicBoolean();
        int[] signals = {0};
        Thread signaller = Thread.ofPlatform().name("signaller").start(() -> {
            while (!stop.get()) {
                try {
                    Tasks.tgkill(Tasks.getpid(), tid, Tasks.SIGPIPE);
                    signals[0]++;
                } catch (RuntimeException e) {
                    return; // the client thread has ended (ESRCH)
                }
                LockSupport.parkNanos(50_000);
            }
        });
        int withdrawn = 0;
        long start = System.nanoTime();
        try (t; l) {
            int answered = 0;
            while (answered < CALLS) {
                assertThat(l.poll(10_000)).as("notification %d", answered).isEqualTo(SeccompListener.Event.NOTIFICATION);
                SeccompNotification n = l.receive();
                if (n == null) {
                    withdrawn++; // interrupted before we received it: the call restarts as a new one
                    continue;
                }
                assertThat(n.arg(3)).as("ticket, in order").isEqualTo(answered);
                IoUringCalls.CreatedRing ring = IoUringCalls.create(2, 0, 0);
                try {
                    installed[answered] = l.addFd(n.id(), ring.fd(), true);
                    assertThat(l.respond(n.id(), installed[answered])).as("answer %d", answered).isTrue();
                } finally {
                    Descriptors.close(ring.fd());
                }
                answered++;
            }
            assertThat(t.join(30_000)).as("client ended").isTrue();
        } finally {
            stop.set(true);
            signaller.join(10_000);
        }
        long micros = (System.nanoTime() - start) / 1_000 / CALLS;
        System.out.printf("%d deliveries, %d signals, %d withdrawn before RECV, %d us per delivery%n",
                CALLS, signals[0], withdrawn, micros);
        assertThat(t.failure()).as("client failure").isNull();
        for (int i = 0; i < CALLS; i++) {
            assertThat(results[i]).as("call %d returned the installed fd", i).isEqualTo(installed[i]).isPositive();
        }
        assertThat(signals[0]).as("signals sent during the run").isPositive();
        assertThat(Descriptors.countOpen()).as("open fds afterwards").isEqualTo(fdsBefore);
    }
}
