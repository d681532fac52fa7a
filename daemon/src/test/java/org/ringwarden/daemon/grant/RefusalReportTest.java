package org.ringwarden.daemon.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.daemon.trace.RefusalWatch;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.uring.Ring;
import org.ringwarden.linux.uring.Sqe;
import org.ringwarden.linux.uring.SqeFlag;
import org.ringwarden.protocol.ErrorCode;

/**
 * Refusal reports on the real kernel: a ring the daemon made under a policy without
 * {@code FSYNC}, an {@code FSYNC} submitted on it anyway (the kernel completes it with
 * {@code -EACCES}), the kernel's {@code io_uring_req_failed} tracepoint seen by a
 * {@link RefusalWatch}, and the daemon's audit record naming the program, its pid, the policy
 * and the opcode: exactly one for one refused request.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RefusalReportTest {
    @TempDir
    Path dir;
    private GrantFixture f;
    private TrappedThread client;
    private Peer peer;
    private Ring ring;
    private RefusalWatch watch;

    @BeforeEach
    void start() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "tracing needs root");
        f = new GrantFixture(dir, GrantFixture.limits());
        client = f.closeLater(new TrappedThread("rw-refused"));
        peer = f.peer(0);
        f.grants.attach(peer, client.listenerFd(), null);
        try {
            watch = RefusalWatch.start(refusals -> f.grants.refused(refusals));
        } catch (java.io.IOException e) {
            assumeTrue(false, "no io_uring tracepoints here: " + e.getMessage());
        }
    }

    @AfterEach
    void stop() throws Exception {
        if (watch != null) {
            watch.close();
        }
        if (ring != null) {
            ring.close();
        }
        if (f != null) {
            f.close();
        }
    }

    private int submitOne(java.util.function.LongConsumer prep) {
        long sqe = ring.nextSqe();
        prep.accept(sqe);
        Sqe.setFlags(ring.sqes(), sqe, SqeFlag.FIXED_FILE);
        ring.submitAndWait(1);
        int[] got = {Integer.MIN_VALUE};
        ring.reap((userData, res, flags) -> got[0] = res);
        return got[0];
    }

    private List<AuditEvent> refusals() {
        return f.audit.stream().filter(e -> e.kind() == AuditEvent.Kind.SQE_REFUSED).toList();
    }

    @Test
    void aRefusedFsyncIsAuditedOnceWithTheProgramThePolicyAndTheOpcode() throws Exception {
        Grant g = f.grants.acquire(peer, TestPolicies.reader(f.data), new int[0]); // NOP and READ_FIXED only
        long fd = client.collect(g.ticket());
        assertThat(fd).isNotNegative();
        ring = Ring.map((int) fd, g.params());

        assertThat(submitOne(sqe -> Sqe.prepFsync(ring.sqes(), sqe, 0, 0))).as("FSYNC is not in the policy")
                .isEqualTo(-Errno.EACCES.number());
        GrantFixture.await("the FSYNC refusal is audited", () -> !refusals().isEmpty());
        // A second refusal, of another opcode, after it: once its record is there, every record
        // of the first has arrived too (one watcher, in order).
        assertThat(submitOne(sqe -> Sqe.prepRead(ring.sqes(), sqe, 0, 0, 0, 0))).isEqualTo(-Errno.EACCES.number());
        GrantFixture.await("the READ refusal is audited", () -> refusals().stream().anyMatch(e -> e.detail().contains(" READ ")));

        List<AuditEvent> fsync = refusals().stream().filter(e -> e.detail().contains("refused FSYNC")).toList();
        assertThat(fsync).as("one refused request, one record").hasSize(1);
        AuditEvent e = fsync.getFirst();
        assertThat(e.policy()).isEqualTo("reader");
        assertThat(e.code()).isEqualTo(ErrorCode.NOT_PERMITTED);
        assertThat(e.peer().pid()).as("the program's pid").isEqualTo((int) ProcessHandle.current().pid());
        assertThat(e.peer().exe()).as("the program").endsWith("/java");
        assertThat(e.detail()).contains("FIXED_FILE").contains("EACCES");
    }

    @Test
    void aRefusalOnARingTheDaemonDidNotMakeIsNotOursToReport() throws Exception {
        int recorded = f.grants.refused(List.of(new org.ringwarden.protocol.Request.RefusedSqe(
                (int) ProcessHandle.current().pid(), "FSYNC", 0)));
        assertThat(recorded).as("this process holds no lease").isZero();
        assertThat(refusals()).isEmpty();
    }
}
