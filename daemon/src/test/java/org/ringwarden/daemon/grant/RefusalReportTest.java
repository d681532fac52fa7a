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
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.policy.SubjectResolver;
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
            watch = RefusalWatch.start(refusals -> f.grants.refused(refusals), f.grants::complainTargets);
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

    private List<AuditEvent> complaints() {
        return f.audit.stream().filter(e -> e.kind() == AuditEvent.Kind.SQE_COMPLAINED).toList();
    }

    @Test
    void aComplainModeRingRunsWhatItsListsLeaveOutAndReportsEachKindOnce() throws Exception {
        // The same reader (NOP and READ_FIXED, FIXED_FILE required), compiled as a file would be.
        CompiledPolicy reader = new PolicyLoader(new PolicyLoader.Options(false, true, false, SubjectResolver.system()))
                .parse("reader.json", """
                        { "name": "reader", "description": "reader, tried in complain mode", "mode": "complain",
                          "subjects": { "uids": [0] }, "ring": { "sqEntries": 8 },
                          "sqe": { "ops": ["NOP", "READ_FIXED"], "flagsRequired": ["FIXED_FILE"] },
                          "files": [ { "name": "data", "path": "%s", "access": "read" } ] }
                        """.formatted(f.data).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .orThrow().all().getFirst();
        Grant g = f.grants.acquire(peer, reader, new int[0]);
        long fd = client.collect(g.ticket());
        assertThat(fd).isNotNegative();
        ring = Ring.map((int) fd, g.params());
        int me = (int) ProcessHandle.current().pid();
        GrantFixture.await("the watch traces this process's tasks", () -> watch.following().contains(me));

        assertThat(submitOne(sqe -> Sqe.prepFsync(ring.sqes(), sqe, 0, 0))).as("FSYNC runs in complain mode").isZero();
        assertThat(submitOne(sqe -> Sqe.prepFsync(ring.sqes(), sqe, 0, 0))).as("twice").isZero();
        assertThat(submitOne(sqe -> Sqe.prepNop(ring.sqes(), sqe))).as("NOP is listed").isZero();
        assertThat(submitOne(sqe -> Sqe.prepRead(ring.sqes(), sqe, 0, 0, 0, 0))).as("READ runs too").isNotEqualTo(-Errno.EACCES.number());
        // Once READ's complaint is there, every earlier submission has been judged (one watcher, in order).
        GrantFixture.await("the READ complaint is audited", () -> complaints().stream().anyMatch(e -> e.detail().contains(" READ ")));

        assertThat(complaints()).as("FSYNC (once for two) and READ; the listed NOP is no complaint")
                .extracting(AuditEvent::detail).hasSize(2)
                .anySatisfy(d -> assertThat(d).contains("ran FSYNC").contains("the policy does not list FSYNC"))
                .noneMatch(d -> d.contains("NOP"));
        AuditEvent e = complaints().getFirst();
        assertThat(e.policy()).isEqualTo("reader");
        assertThat(e.code()).as("not a refusal").isNull();
        assertThat(e.peer().pid()).isEqualTo(me);
        assertThat(refusals()).as("the kernel refused nothing").isEmpty();
    }

    @Test
    void aRefusalOnARingTheDaemonDidNotMakeIsNotOursToReport() throws Exception {
        int recorded = f.grants.refused(List.of(new org.ringwarden.protocol.Request.RefusedSqe(
                (int) ProcessHandle.current().pid(), "FSYNC", 0, 0)));
        assertThat(recorded).as("this process holds no lease").isZero();
        assertThat(refusals()).isEmpty();
    }
}
