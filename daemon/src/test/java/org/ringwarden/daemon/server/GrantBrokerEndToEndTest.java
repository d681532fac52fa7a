package org.ringwarden.daemon.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.client.protocol.ErrorCode;
import org.ringwarden.client.protocol.Request;
import org.ringwarden.client.protocol.Response;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompFilter;

/**
 * The daemon with the real grant side ({@link GrantBroker} over GrantService): a real seccomp
 * listener attached over the socket, a real ring prepared, the buffer memfd delivered after the
 * grant frame, and the lease ended by release and by closing the connection. (Collecting the
 * ring through the trapped io_uring_setup is the grant side's own test domain.)
 */
@Timeout(60)
class GrantBrokerEndToEndTest {
    private TestDaemon d;
    private int fdsBefore;
    private Thread trapped;
    private final CountDownLatch done = new CountDownLatch(1);

    @BeforeEach
    void start() throws Exception {
        d = TestDaemon.withGrantService();
        fdsBefore = Descriptors.countOpen();
    }

    @AfterEach
    void stop() throws Exception {
        done.countDown();
        if (trapped != null) {
            trapped.join(5000);
        }
        if (d != null) {
            try {
                d.awaitConnections(0, Duration.ofSeconds(5));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (d.daemon.admin().status().leases() != 0 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                int now = TestDaemon.awaitDescriptorCount(fdsBefore, Duration.ofSeconds(5));
                assertThat(now).as("descriptors after the test vs. right after the daemon started").isEqualTo(fdsBefore);
            } finally {
                d.close();
            }
        }
    }

    /** A seccomp listener of a throwaway thread's own filter (never TSYNC: the rest of the JVM stays unfiltered). */
    private int listener() throws Exception {
        CompletableFuture<Integer> fd = new CompletableFuture<>();
        trapped = Thread.ofPlatform().daemon().name("trapped-client").start(() -> {
            try {
                Prctl.setNoNewPrivs();
                fd.complete(Seccomp.installListener(SeccompFilter.trappingIoUringSetup(), Seccomp.Scope.CALLING_THREAD).fd());
                done.await();
            } catch (Throwable t) {
                fd.completeExceptionally(t);
            }
        });
        return fd.get(10, TimeUnit.SECONDS);
    }

    private RawClient attached() throws Exception {
        int l = listener();
        RawClient c = d.client();
        try {
            c.send(new Request.Attach(1, null));
            assertThat(c.read()).as("send-fds").isEqualTo(new Response.SendFds(1));
            c.sendFd(l);
            assertThat(c.read()).as("attach with a real seccomp listener").isEqualTo(new Response.Attached());
            return c;
        } finally {
            Descriptors.closeQuietly(l);
        }
    }

    @Test
    void acquireReturnsAGrantWithTheBufferMemfdAndReleaseFreesTheLease() throws Exception {
        try (RawClient c = attached()) {
            c.send(new Request.Acquire("open", 0));
            Response r = c.read();
            assertThat(r).as("acquire with the real grant side").isInstanceOf(Response.Grant.class);
            Response.Grant g = (Response.Grant) r;
            assertThat(g.ring().sqEntries()).as("ring size from the kernel").isPositive();
            assertThat(g.ring().sqOff().array()).as("SQ array offset from the kernel").isPositive();
            assertThat(g.ticket()).as("ticket").isPositive();
            assertThat(g.fds()).as("one buffer memfd").isEqualTo(1);
            assertThat(g.buffers()).singleElement().satisfies(b -> {
                assertThat(b.length()).as("buffer length").isEqualTo(4096);
                assertThat(b.address()).as("daemon-side registered address").isNotZero();
            });
            UnixRights.Received fd = c.receiveFd(Duration.ofSeconds(5));
            try {
                assertThat(fd.fds()).as("memfd received").hasSize(1);
                assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd.fds()[0])).toString())
                        .as("the descriptor is a memfd").startsWith("/memfd:");
            } finally {
                fd.closeAll();
            }
            assertThat(d.daemon.admin().status().leases()).as("one lease").isEqualTo(1);
            assertThat(d.daemon.admin().leases().leases()).singleElement()
                    .satisfies(l -> assertThat(l.policy()).as("lease policy").isEqualTo("open"));
            assertThat(c.call(new Request.Release(g.lease()))).as("release").isEqualTo(new Response.Released(g.lease()));
            assertThat(d.daemon.admin().status().leases()).as("no lease after release").isZero();
            Response.Error again = (Response.Error) c.call(new Request.Release(g.lease()));
            assertThat(again.code()).as("releasing twice").isEqualTo(ErrorCode.NOT_PERMITTED);
        }
    }

    @Test
    void leasesSurviveAReload() throws Exception {
        try (RawClient c = attached()) {
            c.send(new Request.Acquire("open", 0));
            Response.Grant g = (Response.Grant) c.read();
            c.receiveFd(Duration.ofSeconds(5)).closeAll();
            assertThat(d.daemon.reload().ok()).as("reload").isTrue();
            assertThat(d.daemon.admin().leases().leases()).as("lease kept across the reload")
                    .extracting(Response.LeaseEntry::lease).containsExactly(g.lease());
            assertThat(c.call(new Request.Release(g.lease()))).as("released after the reload")
                    .isEqualTo(new Response.Released(g.lease()));
        }
    }

    @Test
    void closingTheConnectionFreesItsLeases() throws Exception {
        RawClient c = attached();
        for (int i = 0; i < 3; i++) {
            c.send(new Request.Acquire("open", 0));
            assertThat(c.read()).as("grant %d", i).isInstanceOf(Response.Grant.class);
            c.receiveFd(Duration.ofSeconds(5)).closeAll();
        }
        assertThat(d.daemon.admin().status().leases()).as("three leases").isEqualTo(3);
        c.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (d.daemon.admin().status().leases() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(d.daemon.admin().status().leases()).as("leases after the connection closed").isZero();
    }

    @Test
    void aDescriptorThatIsNotASeccompListenerIsRefused() throws Exception {
        int[] pair = org.ringwarden.linux.UnixSockets.socketpair(org.ringwarden.linux.UnixSockets.SOCK_STREAM);
        try (RawClient c = d.client()) {
            c.send(new Request.Attach(1, null));
            assertThat(c.read()).as("send-fds").isEqualTo(new Response.SendFds(1));
            c.sendFd(pair[0]);
            Response.Error e = (Response.Error) c.read();
            assertThat(e.code()).as("a socket is not a listener").isEqualTo(ErrorCode.BAD_REQUEST);
        } finally {
            Descriptors.closeQuietly(pair[0]);
            Descriptors.closeQuietly(pair[1]);
        }
    }
}
