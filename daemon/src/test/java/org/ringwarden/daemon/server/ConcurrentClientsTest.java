package org.ringwarden.daemon.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.UnixSockets;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * Many clients at once, some vanishing in the middle of a request: every lease ends, every
 * descriptor is closed, and the well-behaved clients get every answer.
 */
@Timeout(120)
@IoUringSysctl.RequiresRings
class ConcurrentClientsTest {
    @Test
    void concurrentAcquireReleaseAndAbruptClosesLeaveNothingBehind() throws Exception {
        try (TestDaemon d = TestDaemon.start()) {
            int before = Descriptors.countOpen();
            ExecutorService pool = Executors.newFixedThreadPool(12);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 12; t++) {
                boolean rude = t % 3 == 0;
                results.add(pool.submit(() -> rude ? rude(d) : polite(d)));
            }
            int grants = 0;
            for (Future<Integer> f : results) {
                grants += f.get();
            }
            pool.shutdown();
            d.awaitConnections(0, Duration.ofSeconds(10));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!d.daemon.admin().leases().leases().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(grants).as("grants to the polite clients").isEqualTo(8 * 40);
            assertThat(d.daemon.admin().leases().leases()).as("leases left").isEmpty();
            assertThat(TestDaemon.awaitDescriptorCount(before, Duration.ofSeconds(10))).as("descriptors left")
                    .isEqualTo(before);
        }
    }

    private static RawClient attach(TestDaemon d) throws Exception {
        int[] pair = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
        RawClient c = d.client();
        try {
            c.send(new Request.Attach(1, null));
            assertThat(c.read()).as("send-fds").isEqualTo(new Response.SendFds(1));
            c.sendFd(pair[0]);
            assertThat(c.read()).as("attached").isEqualTo(new Response.Attached());
            return c;
        } finally {
            Descriptors.closeQuietly(pair[0]);
            Descriptors.closeQuietly(pair[1]);
        }
    }

    private static int polite(TestDaemon d) throws Exception {
        int granted = 0;
        try (RawClient c = attach(d)) {
            for (int i = 0; i < 40; i++) {
                c.send(new Request.Acquire("open", 0));
                Response r = c.read();
                assertThat(r).as("grant %d", i).isInstanceOf(Response.Grant.class);
                c.receiveFd(Duration.ofSeconds(10)).closeAll();
                granted++;
                if (i % 2 == 0) {
                    assertThat(c.call(new Request.Release(((Response.Grant) r).lease()))).as("release")
                            .isInstanceOf(Response.Released.class);
                }
            }
        }
        return granted;
    }

    /** Acquires and hangs up without reading the answer, or in the middle of a descriptor exchange. */
    private static int rude(TestDaemon d) throws Exception {
        for (int i = 0; i < 30; i++) {
            RawClient c = attach(d);
            if (i % 2 == 0) {
                c.send(new Request.Acquire("open", 0));
            } else {
                c.send(new Request.Acquire("open", 2));
            }
            c.close();
        }
        return 0;
    }
}
