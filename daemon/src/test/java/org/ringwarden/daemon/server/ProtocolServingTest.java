package org.ringwarden.daemon.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Frames;
import org.ringwarden.protocol.ProtocolCodec;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.ringwarden.daemon.IoUringSysctl;

/** The daemon's protocol over a real socket, against a real kernel, one daemon per test. */
@Timeout(60)
@IoUringSysctl.RequiresRings
class ProtocolServingTest {
    private static final Duration SETTLE = Duration.ofSeconds(5);
    private TestDaemon d;
    private int fdsBefore;

    @BeforeEach
    void start() throws Exception {
        d = TestDaemon.start();
        fdsBefore = Descriptors.countOpen();
    }

    @AfterEach
    void stopAndCheckDescriptors() throws Exception {
        if (d == null) {
            return;
        }
        try {
            d.awaitConnections(0, SETTLE);
            int now = TestDaemon.awaitDescriptorCount(fdsBefore, SETTLE);
            assertThat(now).as("descriptors held after the test vs. right after the daemon started").isEqualTo(fdsBefore);
        } finally {
            d.close();
        }
    }

    private static byte[] frame(Request r) {
        return Frames.frame(ProtocolCodec.encode(r));
    }

    private static Response.Error error(Response r) {
        assertThat(r).as("answer").isInstanceOf(Response.Error.class);
        return (Response.Error) r;
    }

    /**
     * Pipelined frames are all answered, in order: a grant sent by the acquiring thread leaves
     * its bookkeeping to the event loop, and a lost wake-up there (the client's next frame read
     * and queued before the hand-off, or reading paused behind a full queue) leaves a frame
     * unanswered until something else wakes the loop. Odd cycles pipeline seven frames, so
     * reading pauses (from six queued) and resumes. How promptly they are answered is for
     * bench/, not for a timed assertion.
     */
    @Test
    void pipelinedFramesAreAllAnsweredInOrder() throws Exception {
        try (RawClient c = attached()) {
            String lease = null;
            for (int cycle = 0; cycle < 60; cycle++) {
                ByteArrayOutputStream frames = new ByteArrayOutputStream();
                List<Class<? extends Response>> expected = new ArrayList<>();
                if (lease != null) {
                    frames.write(frame(new Request.Release(lease)));
                    expected.add(Response.Released.class);
                }
                for (int i = 0; i < (cycle % 2 == 1 ? 5 : 0); i++) {
                    frames.write(frame(new Request.ListPolicies()));
                    expected.add(Response.Policies.class);
                }
                frames.write(frame(new Request.Acquire("secret", 0)));
                expected.add(Response.Grant.class);
                c.writeRaw(frames.toByteArray());
                for (Class<? extends Response> type : expected) {
                    Response r = c.read(SETTLE);
                    assertThat(r).as("cycle %d: the answers in request order", cycle).isInstanceOf(type);
                    if (r instanceof Response.Grant g) {
                        lease = g.lease();
                    }
                }
            }
            assertThat(d.daemon.admin().leases().leases()).as("only the last grant's lease is left").hasSize(1);
        }
    }

    @Test
    void policiesListsOnlyThoseThePeerMaySee() throws Exception {
        try (RawClient c = d.client()) {
            Response r = c.call(new Request.ListPolicies());
            assertThat(r).as("policies answer").isInstanceOf(Response.Policies.class);
            // root sees both; the uid-65534 view is checked in NonRootPeerTest.
            assertThat(((Response.Policies) r).policies()).extracting(Response.PolicySummary::name)
                    .as("policies root may acquire").containsExactlyInAnyOrder("open", "secret");
        }
    }

    @Test
    void acquireBeforeAttachIsNotAttached() throws Exception {
        try (RawClient c = d.client()) {
            assertThat(error(c.call(new Request.Acquire("open", 0))).code()).as("acquire without attach")
                    .isEqualTo(ErrorCode.NOT_ATTACHED);
            assertThat(c.call(new Request.ListPolicies())).as("connection still usable after a refusal")
                    .isInstanceOf(Response.Policies.class);
        }
    }

    @Test
    void unknownPolicyIsNotPermittedWithoutRevealingAnything() throws Exception {
        try (RawClient c = attached()) {
            Response.Error e = error(c.call(new Request.Acquire("no-such-policy", 0)));
            assertThat(e.code()).as("unknown policy").isEqualTo(ErrorCode.NOT_PERMITTED);
            assertThat(e.message()).as("message names only what was asked").contains("no-such-policy")
                    .doesNotContain("open").doesNotContain("secret");
        }
    }

    @Test
    void attachAcquireSendsTheBufferDescriptorsAndReleaseEndsTheLease() throws Exception {
        try (RawClient c = attached()) {
            c.send(new Request.Acquire("open", 0));
            Response r = c.read();
            assertThat(r).as("acquire answer").isInstanceOf(Response.Grant.class);
            Response.Grant g = (Response.Grant) r;
            assertThat(g.fds()).as("buffer descriptors announced").isEqualTo(1);
            assertThat(g.buffers()).as("buffers").singleElement().satisfies(b -> {
                assertThat(b.length()).as("buffer length").isEqualTo(4096);
                assertThat(b.fd()).as("descriptor index").isZero();
            });
            assertThat(g.allowed().sqeOps()).as("allowed ops").contains("NOP");
            UnixRights.Received got = c.receiveFd(Duration.ofSeconds(5));
            try {
                assertThat(got.bytes()).as("one byte per descriptor").isEqualTo(1);
                assertThat(got.fds()).as("exactly one descriptor on the byte").hasSize(1);
                // The memfd the daemon made: truncated to the buffer's length.
                assertThat(java.nio.file.Files.size(java.nio.file.Path.of("/proc/self/fd/" + got.fds()[0])))
                        .as("received memfd's size").isEqualTo(4096);
            } finally {
                got.closeAll();
            }
            assertThat(d.daemon.admin().leases().leases()).as("lease listed").hasSize(1);
            assertThat(c.call(new Request.Release(g.lease()))).as("release answer")
                    .isEqualTo(new Response.Released(g.lease()));
            assertThat(d.daemon.admin().leases().leases()).as("no lease after release").isEmpty();
        }
        assertThat(d.audit()).as("audit has the grant and the release")
                .anySatisfy(l -> assertThat(l).contains("\"event\":\"grant\"").contains("\"policy\":\"open\""))
                .anySatisfy(l -> assertThat(l).contains("\"event\":\"release\""));
    }

    @Test
    void closingTheConnectionEndsItsLeases() throws Exception {
        RawClient c = attached();
        c.send(new Request.Acquire("open", 0));
        assertThat(c.read()).as("grant").isInstanceOf(Response.Grant.class);
        c.receiveFd(Duration.ofSeconds(5)).closeAll();
        assertThat(d.daemon.admin().leases().leases()).as("lease while connected").hasSize(1);
        c.close();
        d.awaitConnections(0, SETTLE);
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (!d.daemon.admin().leases().leases().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(d.daemon.admin().leases().leases()).as("leases after the connection closed").isEmpty();
    }

    @Test
    void clientDescriptorsAreReceivedOnePerByteWithoutTouchingTheClientsFileFlags() throws Exception {
        int a = Memory.memfdCreate("client-a", Memory.MFD_CLOEXEC);
        int b = Memory.memfdCreate("client-b", Memory.MFD_CLOEXEC);
        long flagsBefore = Descriptors.fcntl(a, Descriptors.F_GETFL, 0);
        try (RawClient c = attached()) {
            c.send(new Request.Acquire("open", 2));
            assertThat(c.read()).as("daemon asks for the client's descriptors").isEqualTo(new Response.SendFds(2));
            c.sendFd(a);
            c.sendFd(b);
            assertThat(c.read()).as("grant after two descriptors").isInstanceOf(Response.Grant.class);
            c.receiveFd(Duration.ofSeconds(5)).closeAll();
            // The open file description is shared with the daemon: receiving must not change it
            // (Netty's FILE_DESCRIPTORS read mode would have set O_NONBLOCK on it).
            assertThat(Descriptors.fcntl(a, Descriptors.F_GETFL, 0)).as("client's file status flags after the exchange")
                    .isEqualTo(flagsBefore);
            assertThat(flagsBefore & Descriptors.O_NONBLOCK).as("blocking before").isZero();
        } finally {
            Descriptors.closeQuietly(a);
            Descriptors.closeQuietly(b);
        }
    }

    /**
     * A descriptor that is not there yet is waited for through the event loop's epoll (an
     * entry for a duplicate of the connection's socket, which SocketReadiness adds and
     * removes), not by retrying on a timer: the entry is observed in /proc/self/fdinfo while
     * the daemon waits, and is gone once the descriptor was read.
     */
    @Test
    void aDescriptorSentLateIsReadWhenItArrivesThroughAReadinessWaitNotByRetrying() throws Exception {
        int a = Memory.memfdCreate("client-late", Memory.MFD_CLOEXEC);
        try (RawClient c = attached()) {
            assertThat(readinessWaits()).as("no readiness wait before the exchange").isEmpty();
            c.send(new Request.Acquire("open", 1));
            assertThat(c.read()).as("send-fds").isEqualTo(new Response.SendFds(1));
            long until = System.nanoTime() + SETTLE.toNanos();
            while (readinessWaits().isEmpty() && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            assertThat(readinessWaits()).as("the daemon found nothing yet and waits in epoll for the socket; all entries: %s",
                    org.ringwarden.daemon.KernelWaits.epollEntries()).hasSize(1);
            c.sendFd(a);
            assertThat(c.read()).as("grant once the descriptor arrived").isInstanceOf(Response.Grant.class);
            c.receiveFd(Duration.ofSeconds(5)).closeAll();
            assertThat(readinessWaits()).as("the wait ended with the descriptor's arrival").isEmpty();
        } finally {
            Descriptors.closeQuietly(a);
        }
    }

    /**
     * The sockets that have two entries in this process's epoll instances: a channel's own and
     * the duplicate SocketReadiness registers while it waits (Netty's own eventfds and timerfds
     * share the anonymous inode, but are edge-triggered, and are left out).
     */
    private static List<String> readinessWaits() {
        java.util.Map<String, Long> perInode = org.ringwarden.daemon.KernelWaits.epollEntries().stream()
                .filter(e -> !e.matches("tfd:\\s+\\d+\\s+events:\\s+8\\p{XDigit}{7}\\s.*")) // EPOLLET
                .map(e -> e.substring(e.indexOf(" ino:") + 1))
                .collect(java.util.stream.Collectors.groupingBy(i -> i, java.util.stream.Collectors.counting()));
        return perInode.entrySet().stream().filter(e -> e.getValue() > 1).map(java.util.Map.Entry::getKey).toList();
    }

    @Test
    void twoDescriptorsOnOneByteFailTheExchangeAndClose() throws Exception {
        int a = Memory.memfdCreate("client-a", Memory.MFD_CLOEXEC);
        int b = Memory.memfdCreate("client-b", Memory.MFD_CLOEXEC);
        try (RawClient c = attached()) {
            c.send(new Request.Acquire("open", 2));
            assertThat(c.read()).as("send-fds").isEqualTo(new Response.SendFds(2));
            c.sendFds(new byte[] {0}, new int[] {a, b});
            Response.Error e = error(c.read());
            assertThat(e.code()).as("count mismatch").isEqualTo(ErrorCode.BAD_REQUEST);
            assertThat(e.message()).as("reason").contains("exactly one descriptor");
            assertThat(c.closedByPeer(SETTLE)).as("connection closed after a failed exchange").isTrue();
        } finally {
            Descriptors.closeQuietly(a);
            Descriptors.closeQuietly(b);
        }
    }

    @Test
    void aByteWithoutADescriptorFailsTheExchange() throws Exception {
        try (RawClient c = d.client()) {
            c.send(new Request.Attach(1, null));
            assertThat(c.read()).as("send-fds").isEqualTo(new Response.SendFds(1));
            c.writeRaw(new byte[] {0});
            Response.Error e = error(c.read());
            assertThat(e.code()).as("byte without descriptor").isEqualTo(ErrorCode.BAD_REQUEST);
            assertThat(c.closedByPeer(SETTLE)).as("closed").isTrue();
        }
    }

    @Test
    void tooFewDescriptorsTimeOutAndCloseWhatArrived() throws Exception {
        int a = Memory.memfdCreate("client-a", Memory.MFD_CLOEXEC);
        try (RawClient c = attached()) {
            c.send(new Request.Acquire("open", 2));
            assertThat(c.read()).as("send-fds").isEqualTo(new Response.SendFds(2));
            c.sendFd(a);
            Response.Error e = error(c.read(Duration.ofSeconds(10)));
            assertThat(e.code()).as("timeout with 1 of 2").isEqualTo(ErrorCode.BAD_REQUEST);
            assertThat(e.message()).as("reason").contains("timed out");
        } finally {
            Descriptors.closeQuietly(a);
        }
    }

    @Test
    void aClientThatVanishesMidHandshakeLeavesNothingBehind() throws Exception {
        for (int i = 0; i < 20; i++) {
            RawClient c = d.client();
            c.send(new Request.Attach(1, null));
            if (i % 2 == 0) {
                c.read(); // send-fds, then vanish
            }
            c.close();
        }
        // the @AfterEach descriptor check is the assertion
    }

    @Test
    void transparentAttachWithAPolicyNotMarkedForItIsNotPermittedAndClosesTheListener() throws Exception {
        int[] pair = org.ringwarden.linux.UnixSockets.socketpair(org.ringwarden.linux.UnixSockets.SOCK_STREAM);
        try (RawClient c = d.client()) {
            c.send(new Request.Attach(1, "open"));
            assertThat(c.read()).as("send-fds").isEqualTo(new Response.SendFds(1));
            c.sendFd(pair[0]);
            Response.Error e = error(c.read());
            assertThat(e.code()).as("open is not for transparent use").isEqualTo(ErrorCode.NOT_PERMITTED);
            c.send(new Request.Attach(1, "secret-or-not"));
            assertThat(c.read()).as("send-fds again").isEqualTo(new Response.SendFds(1));
            c.sendFd(pair[0]);
            assertThat(error(c.read()).code()).as("unknown transparent policy").isEqualTo(ErrorCode.NOT_PERMITTED);
        } finally {
            Descriptors.closeQuietly(pair[0]);
            Descriptors.closeQuietly(pair[1]);
        }
        // the @AfterEach descriptor check proves the refused listeners were closed
    }

    /** That an attached connection also outlives the idle timeout is ConnectionLimitsTest's (a short timeout there). */
    @Test
    void attachTakesTheListenerAndTheConnectionIsStillServed() throws Exception {
        try (RawClient c = attached()) {
            assertThat(c.call(new Request.ListPolicies())).as("attached connection still served")
                    .isInstanceOf(Response.Policies.class);
        }
    }

    @Test
    void administrativeRequestsAreRefusedOnTheClientSocket() throws Exception {
        try (RawClient c = d.client()) {
            for (Request r : List.<Request>of(new Request.Status(), new Request.Leases(), new Request.Reload())) {
                Response.Error e = error(c.call(r));
                assertThat(e.code()).as("%s on the client socket", r.op()).isEqualTo(ErrorCode.NOT_PERMITTED);
            }
        }
    }

    @Test
    void adminSocketAnswersStatusLeasesAndReloadToRoot() throws Exception {
        try (RawClient a = d.admin()) {
            Response s = a.call(new Request.Status());
            assertThat(s).as("status").isInstanceOf(Response.StatusReport.class);
            Response.StatusReport st = (Response.StatusReport) s;
            assertThat(st.policies()).as("policies loaded").isEqualTo(2);
            assertThat(st.kernel()).as("kernel").isNotBlank();
            assertThat(st.pinnedBytes()).as("VmPin read").isGreaterThanOrEqualTo(0);
            assertThat(a.call(new Request.Leases())).as("leases").isEqualTo(new Response.LeaseList(List.of()));
            assertThat(a.call(new Request.Reload())).as("reload").isEqualTo(new Response.Reloaded(true, 2, List.of()));
            assertThat(error(a.call(new Request.ListPolicies())).code()).as("client request on the admin socket")
                    .isEqualTo(ErrorCode.NOT_PERMITTED);
        }
    }

    @Test
    void brokenReloadKeepsTheRunningSetAndReportsTheProblem() throws Exception {
        java.nio.file.Files.writeString(d.policies.resolve("broken.json"), "{\"name\": \"broken\", \"bogus\": 1}");
        try (RawClient a = d.admin(); RawClient c = attached()) {
            Response.Reloaded r = (Response.Reloaded) a.call(new Request.Reload());
            assertThat(r.ok()).as("reload refused").isFalse();
            assertThat(r.policies()).as("running set kept").isEqualTo(2);
            assertThat(r.problems()).as("problems name the file").anySatisfy(p -> assertThat(p).contains("broken.json"));
            c.send(new Request.Acquire("open", 0));
            assertThat(c.read()).as("acquire still works").isInstanceOf(Response.Grant.class);
            c.receiveFd(Duration.ofSeconds(5)).closeAll();
        }
        assertThat(d.audit()).as("reload audited").anySatisfy(l -> assertThat(l).contains("\"event\":\"reload\"")
                .contains("\"outcome\":\"refused\""));
    }

    @Test
    void malformedJsonIsBadRequestAndCloses() throws Exception {
        try (RawClient c = d.client()) {
            c.sendJson("{\"v\":1,\"op\":");
            assertThat(error(c.read()).code()).as("malformed").isEqualTo(ErrorCode.BAD_REQUEST);
            assertThat(c.closedByPeer(SETTLE)).as("closed").isTrue();
        }
    }

    @Test
    void unknownFieldIsBadRequest() throws Exception {
        try (RawClient c = d.client()) {
            c.sendJson("{\"v\":1,\"op\":\"policies\",\"verbose\":true}");
            Response.Error e = error(c.read());
            assertThat(e.code()).as("unknown field").isEqualTo(ErrorCode.BAD_REQUEST);
            assertThat(e.message()).as("names the field").contains("verbose");
        }
    }

    @Test
    void otherVersionIsUnsupportedVersion() throws Exception {
        try (RawClient c = d.client()) {
            c.sendJson("{\"v\":2,\"op\":\"policies\"}");
            assertThat(error(c.read()).code()).as("v:2").isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        }
    }

    @Test
    void oversizedFrameIsRefusedBeforeItsBodyArrives() throws Exception {
        try (RawClient c = d.client()) {
            c.writeRaw(new byte[] {0, 1, 0, 1}); // 65,537
            Response.Error e = error(c.read());
            assertThat(e.code()).as("65537-byte frame").isEqualTo(ErrorCode.BAD_REQUEST);
            assertThat(c.closedByPeer(SETTLE)).as("closed").isTrue();
        }
    }

    @Test
    void largestFrameIsAccepted() throws Exception {
        StringBuilder json = new StringBuilder("{\"v\":1,\"op\":\"release\",\"lease\":\"");
        json.append("x".repeat(65_536 - json.length() - 2)).append("\"}");
        assertThat(json.toString().getBytes(StandardCharsets.UTF_8)).as("frame body").hasSize(65_536);
        try (RawClient c = d.client()) {
            c.sendJson(json.toString());
            assertThat(error(c.read()).code()).as("a 64 KiB release of an unknown lease is merely refused")
                    .isEqualTo(ErrorCode.NOT_PERMITTED);
        }
    }

    @Test
    void zeroLengthFrameIsBadRequest() throws Exception {
        try (RawClient c = d.client()) {
            c.writeRaw(new byte[] {0, 0, 0, 0});
            assertThat(error(c.read()).code()).as("empty frame").isEqualTo(ErrorCode.BAD_REQUEST);
            assertThat(c.closedByPeer(SETTLE)).as("closed").isTrue();
        }
    }

    @Test
    void truncatedFrameTimesOut() throws Exception {
        try (RawClient c = d.client()) {
            long t0 = System.nanoTime();
            c.writeRaw(new byte[] {0, 0, 0, 50, '{', '"'});
            Response.Error e = error(c.read(Duration.ofSeconds(30))); // a hang guard, not a bound
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(e.code()).as("half a frame").isEqualTo(ErrorCode.BAD_REQUEST);
            assertThat(ms).as("not before the 1.5 s request timeout").isGreaterThanOrEqualTo(1_500L);
        }
    }

    @Test
    void slowTrickleIsCutOffAtTheBound() throws Exception {
        try (RawClient c = d.client()) {
            byte[] frame = org.ringwarden.protocol.Frames.frame(
                    "{\"v\":1,\"op\":\"policies\"}".getBytes(StandardCharsets.UTF_8));
            boolean cut = false;
            for (byte b : frame) {
                try {
                    c.writeRaw(new byte[] {b});
                } catch (RuntimeException closed) {
                    cut = true;
                    break;
                }
                Thread.sleep(200);
                if (c.closedByPeer(Duration.ZERO)) {
                    cut = true;
                    break;
                }
            }
            assertThat(cut).as("a frame trickled at 5 bytes/s (5.6 s in all) is cut off before its last byte").isTrue();
        }
    }

    private RawClient attached() throws Exception {
        int[] pair = org.ringwarden.linux.UnixSockets.socketpair(org.ringwarden.linux.UnixSockets.SOCK_STREAM);
        RawClient c = d.client();
        try {
            c.send(new Request.Attach(1, null));
            assertThat(c.read()).as("attach asks for the listener").isEqualTo(new Response.SendFds(1));
            // Any descriptor will do for the memfd broker; the grant side tests real listeners.
            c.sendFd(pair[0]);
            assertThat(c.read()).as("attached").isEqualTo(new Response.Attached());
            return c;
        } catch (Exception | AssertionError e) {
            c.close();
            throw e;
        } finally {
            Descriptors.closeQuietly(pair[0]);
            Descriptors.closeQuietly(pair[1]);
        }
    }
}
