package org.ringwarden.daemon.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.client.SandboxFilter;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompFilter;
import org.ringwarden.linux.uring.IoUringLayout;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.ProtocolCodec;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.ringwarden.protocol.Tickets;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * The daemon with the real grant side ({@link GrantBroker} over GrantService): a real seccomp
 * listener attached over the socket, a real ring prepared, the buffer memfd delivered after the
 * grant frame, and the lease ended by release and by closing the connection. (Collecting the
 * ring through the trapped io_uring_setup is the grant side's own test domain; here only with
 * a ticket that went through a double-based JSON parser.)
 */
@Timeout(60)
@IoUringSysctl.RequiresRings
class GrantBrokerEndToEndTest {
    private TestDaemon d;
    private int fdsBefore;
    private Thread trapped;
    /** Tickets for the trapped thread to collect with; empty ends it. */
    private final BlockingQueue<Optional<Long>> collect = new LinkedBlockingQueue<>();
    /** What each collecting io_uring_setup returned: the ring's fd or -errno. */
    private final BlockingQueue<Long> collected = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() throws Exception {
        d = TestDaemon.withGrantService();
        fdsBefore = Descriptors.countOpen();
    }

    @AfterEach
    void stop() throws Exception {
        collect.add(Optional.empty());
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

    /**
     * A seccomp listener of a throwaway thread's own filter (never TSYNC: the rest of the JVM
     * stays unfiltered). The thread then collects rings with the tickets put in {@link #collect}.
     */
    private int listener() throws Exception {
        CompletableFuture<Integer> fd = new CompletableFuture<>();
        trapped = Thread.ofPlatform().daemon().name("trapped-client").start(() -> {
            try {
                Prctl.setNoNewPrivs();
                fd.complete(Seccomp.installListener(SeccompFilter.trappingIoUringSetup(), Seccomp.Scope.CALLING_THREAD).fd());
                for (Optional<Long> ticket = collect.take(); ticket.isPresent(); ticket = collect.take()) {
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment params = a.allocate(IoUringLayout.PARAMS);
                        collected.add(Syscall.rawOnThisThread(Syscall.SYS_IO_URING_SETUP, 1, params.address(),
                                Tickets.MAGIC, ticket.get(), 0, 0));
                    }
                }
            } catch (Throwable t) {
                fd.completeExceptionally(t);
            }
        });
        return fd.get(10, TimeUnit.SECONDS);
    }

    /** The trapped thread's {@code io_uring_setup(1, params, MAGIC, ticket)}: the fd, or -errno. */
    private long collectWith(long ticket) throws Exception {
        collect.add(Optional.of(ticket));
        Long r = collected.poll(10, TimeUnit.SECONDS);
        assertThat(r).as("the trapped io_uring_setup returned").isNotNull();
        return r;
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

    /**
     * A client whose JSON parser keeps numbers as doubles (cJSON, JavaScript) reads
     * the ticket of a real grant exactly, and collects its ring with it; a rounded ticket, or any
     * other 64-bit value, is merely unknown to the daemon: {@code EPERM}, and the real one still works.
     */
    @Test
    void aTicketReadByADoubleBasedJsonParserCollectsTheRing() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "needs python3 as the double-based parser");
        try (RawClient c = attached()) {
            c.send(new Request.Acquire("open", 0));
            byte[] head = c.readExactly(4, Duration.ofSeconds(10));
            byte[] body = c.readExactly(((head[0] & 0xff) << 24) | ((head[1] & 0xff) << 16) | ((head[2] & 0xff) << 8)
                    | (head[3] & 0xff), Duration.ofSeconds(10));
            Response.Grant g = (Response.Grant) ProtocolCodec.decodeResponse(body);
            c.receiveFd(Duration.ofSeconds(5)).closeAll();

            Process py = new ProcessBuilder("python3", "-c",
                    "import json,sys; print(int(json.loads(sys.stdin.read(), parse_int=float)[\"ticket\"]))")
                    .redirectErrorStream(true).start();
            try (var in = py.getOutputStream()) {
                in.write(body);
            }
            String out = new String(py.getInputStream().readAllBytes(), UTF_8).trim();
            assertThat(py.waitFor(30, TimeUnit.SECONDS)).as("python3 finished").isTrue();
            assertThat(py.exitValue()).as("python3 exit; output: %s", out).isZero();
            long viaDouble = Long.parseLong(out);
            assertThat(viaDouble).as("the ticket of grant %s, through a double", new String(body, UTF_8))
                    .isEqualTo(g.ticket());
            assertThat(g.ticket()).as("ticket in 1..2^53-1").isBetween(1L, (1L << 53) - 1);

            long rounded = g.ticket() | (1L << 60); // never issued, as a rounded 63-bit ticket was not
            assertThat(collectWith(rounded)).as("an unknown ticket").isEqualTo(-Errno.EPERM.number());
            long fd = collectWith(viaDouble);
            assertThat(fd).as("the ring, collected with the ticket the double-based parser read").isNotNegative();
            try {
                assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString()).as("a ring")
                        .isEqualTo("anon_inode:[io_uring]");
            } finally {
                Descriptors.closeQuietly((int) fd);
            }
            assertThat(collectWith(viaDouble)).as("the ticket is spent").isEqualTo(-Errno.EPERM.number());
            assertThat(c.call(new Request.Release(g.lease()))).as("release").isEqualTo(new Response.Released(g.lease()));
        }
    }

    /**
     * A policy whose file is gone (the loader only warns: the daemon's user may see other files)
     * is refused {@code INTERNAL}, the code for a daemon-side failure, with a message that names
     * the policy, the file, its path and the errno, in words; the connection stays usable.
     */
    @Test
    void aPolicyFileThatCannotBeOpenedIsRefusedNamingTheFileAndErrno() throws Exception {
        Path gone = d.dir.resolve("gone.dat");
        Files.writeString(d.policies.resolve("gone.json"), """
                {"name":"gone","description":"a file that is not there","subjects":{"everyone":true},
                 "sqe":{"ops":["READ"],"flagsRequired":["FIXED_FILE"]},"files":[{"name":"data","path":"%s","access":"read"}],
                 "limits":{"leasesPerUser":4,"bufferBytesPerUser":"0 B"}}
                """.formatted(gone));
        assertThat(d.daemon.reload().ok()).as("a missing file is a warning, not an error").isTrue();
        try (RawClient c = attached()) {
            Response.Error e = (Response.Error) c.call(new Request.Acquire("gone", 0));
            assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
            assertThat(e.message()).as("what the client is told")
                    .contains("policy gone").contains("data (" + gone + ")").contains("ENOENT")
                    .contains("does not exist; the policy's administrator must fix the file or the policy");
            c.send(new Request.Acquire("open", 0));
            assertThat(c.read()).as("the connection still serves").isInstanceOf(Response.Grant.class);
            c.receiveFd(Duration.ofSeconds(5)).closeAll();
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
