package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.grant.AuditEvent;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * {@code ringwarden run} end to end: a real daemon, the real command in its own JVM as uid
 * 65534, and an unmodified C program (raw {@code io_uring_setup} and liburing).
 */
@Timeout(300)
@IoUringSysctl.RequiresRings
class RingwardenRunTest {
    private static RunHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = new RunHarness();
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private static long flagsOf(String out) {
        Matcher m = Pattern.compile("flags=0x([0-9a-f]+)").matcher(out);
        assertThat(m.find()).as("flags in %s", out).isTrue();
        return Long.parseLong(m.group(1), 16);
    }

    @Test
    void rawIoUringSetupGetsARingUnderThePolicyAsAnUnprivilegedUser() {
        RunHarness.Result r = h.run("fio", h.probe.toString(), "setup", "8", "0");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).as("%s", r).contains("sq=8 cq=16").contains("nop res=0");
        assertThat(h.daemon.auditEvents()).as("the delivery is audited with program, uid, flags asked and given")
                .anySatisfy(e -> {
                    assertThat(e.kind()).isEqualTo(AuditEvent.Kind.DELIVER);
                    assertThat(e.policy()).isEqualTo("fio");
                    assertThat(e.detail()).contains("program " + h.probe).contains("uid 65534")
                            .contains("asked entries 8 flags 0").contains("given entries 8/16 flags 0");
                });
    }

    @Test
    void liburingReadsAFileItOpenedItselfThroughTheBrokeredRing() throws Exception {
        Path f = h.dir.resolve("hello.txt");
        Files.writeString(f, "hello from a brokered ring");
        f.toFile().setReadable(true, false);
        RunHarness.Result r = h.run("fio", h.probe.toString(), "read", f.toString());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).as("%s", r).contains("read res=26 data=hello from a brokered ring");
    }

    @Test
    void anOpcodeThePolicyDoesNotAllowCompletesWithEacces() throws Exception {
        Path f = h.dir.resolve("eacces.txt");
        Files.writeString(f, "x");
        f.toFile().setReadable(true, false);
        RunHarness.Result r = h.run("nop-only", h.probe.toString(), "read", f.toString());
        assertThat(r.out()).as("READ is not in nop-only: the kernel refuses it per SQE; %s", r).contains("read res=-13");
    }

    @Test
    void aPolicyNotForTransparentUseIsRefusedBeforeTheProgramRuns() {
        RunHarness.Result r = h.run("ticketed", h.probe.toString(), "setup", "8", "0");
        assertThat(r.exit()).as("%s", r).isEqualTo(125);
        assertThat(r.out()).as("the program never ran").isEmpty();
        assertThat(r.err()).as("%s", r).contains("not for transparent use");
    }

    @Test
    void paramsAtABadAddressFailWithEfaultAsFromTheKernel() {
        RunHarness.Result r = h.run("fio", h.probe.toString(), "badptr");
        assertThat(r.out()).as("%s", r).contains("badptr fd=-1 errno=14");
    }

    @Test
    void withoutADaemonTheProgramDoesNotRun() {
        List<String> cmd = new java.util.ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        cmd.addAll(h.ringwardenRun("fio"));
        int i = cmd.indexOf("--socket");
        cmd.set(i + 1, h.dir.resolve("no-daemon.sock").toString());
        cmd.addAll(List.of("/bin/echo", "ran"));
        RunHarness.Result r = RunHarness.exec(cmd, 120);
        assertThat(r.exit()).as("%s", r).isEqualTo(125);
        assertThat(r.out()).as("%s", r).doesNotContain("ran");
        assertThat(r.err()).as("%s", r).contains("cannot reach the daemon");
    }

    @Test
    void anUnknownPolicyIsRefusedLikeAForbiddenOne() {
        RunHarness.Result r = h.run("no-such-policy", h.probe.toString(), "setup", "8", "0");
        assertThat(r.exit()).as("%s", r).isEqualTo(125);
        assertThat(r.err()).as("%s", r).contains("NOT_PERMITTED");
    }

    @Test
    void rDisabledIsHonouredTheProgramEnablesARingThatAlreadyHasItsRestrictions() {
        // R_DISABLED | SINGLE_ISSUER | DEFER_TASKRUN: the enabler becomes the single issuer.
        RunHarness.Result r = h.run("fio", h.probe.toString(), "setup", "8", "0x3040");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(flagsOf(r.out())).as("%s", r).isEqualTo(0x3040);
        assertThat(r.out()).as("%s", r).contains("enable=0").contains("nop res=0");
    }

    @Test
    void singleIssuerWithoutRDisabledIsDroppedSoThatTheProgramCanSubmit() {
        RunHarness.Result r = h.run("fio", h.probe.toString(), "setup", "8", "0x3000");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(flagsOf(r.out())).as("the daemon would be the issuer: dropped; %s", r).isZero();
        assertThat(r.out()).as("%s", r).contains("nop res=0");
    }

    @Test
    void sizesAreClampedToThePolicyAndCqsizeIsHonoured() {
        RunHarness.Result r = h.run("fio", h.probe.toString(), "setup", "16384", "0x8", "20000");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).as("maxSqEntries 4096, maxCqEntries 8192; %s", r).contains("sq=4096 cq=8192");
    }

    @Test
    void sqpollIsRefusedWithEpermWhereThePolicySaysRefuse() {
        RunHarness.Result r = h.run("fio", h.probe.toString(), "sqpoll");
        assertThat(r.out()).as("%s", r).contains("sqpoll queue_init errno=1");
        assertThat(sqPollThreadsInDaemon()).as("never an SQ thread in the daemon").isZero();
        assertThat(h.daemon.auditEvents()).anySatisfy(e -> assertThat(e.detail()).contains("refuses IORING_SETUP_SQPOLL"));
    }

    @Test
    void sqpollIsDroppedWhereThePolicySaysDropAndTheRingWorksWithoutAnSqThread() {
        RunHarness.Result r = h.run("fio-drop", h.probe.toString(), "sqpoll");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).as("%s", r).contains("sqpoll flags=0x0 sqpoll=0").contains("nop res=0");
        assertThat(sqPollThreadsInDaemon()).as("never an SQ thread in the daemon").isZero();
    }

    @Test
    void childrenAndThreadsOfTheProgramAreServed() {
        RunHarness.Result fork = h.run("fio", h.probe.toString(), "fork");
        assertThat(fork.exit()).as("%s", fork).isZero();
        assertThat(fork.out()).as("%s", fork).contains("parent nop res=0").contains("child nop res=0");
        RunHarness.Result threads = h.run("fio", h.probe.toString(), "threads", "8");
        assertThat(threads.exit()).as("%s", threads).isZero();
        assertThat(threads.out()).as("%s", threads).contains("threads ok=8 of 8");
    }

    @Test
    void theProgramKeepsStdioAndItsExitCodeAndStartsWithNoSignalBlockedAndNoLeakedDescriptor() {
        RunHarness.Result r = h.run("fio", h.probe.toString(), "status");
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).as("%s", r).contains("SigBlk:\t0000000000000000")
                .contains("SigIgn:\t0000000000000000").contains("NoNewPrivs:\t1")
                .contains("Seccomp:\t2").contains("nextfd=3\n");
        RunHarness.Result exit = h.run("fio", "/bin/sh", "-c", "exit 42");
        assertThat(exit.exit()).as("%s", exit).isEqualTo(42);
        RunHarness.Result killed = h.run("fio", "/bin/sh", "-c", "kill -TERM $$; sleep 5");
        assertThat(killed.exit()).as("a signal reaches the program as usual and ends it: 128 + SIGTERM; %s", killed)
                .isEqualTo(143);
        RunHarness.Result missing = h.run("fio", "/nonexistent/program");
        assertThat(missing.exit()).as("%s", missing).isEqualTo(127);
    }

    @Test
    void runReturnsOnceTheLastProcessUnderTheFilterExitedAndTheAttachmentEndsWithIt() throws Exception {
        long ringsBefore = ringFdsInDaemon();
        List<String> cmd = new java.util.ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        cmd.addAll(h.ringwardenRun("fio"));
        cmd.addAll(List.of(h.probe.toString(), "linger", "3"));
        RunHarness.Result r = RunHarness.execUntilExit(cmd, h.dir, 120);
        assertThat(r.exit()).as("the program's own exit code; %s", r).isZero();
        Matcher m = Pattern.compile("child (\\d+) lingers").matcher(r.out());
        assertThat(m.find()).as("%s", r).isTrue();
        int orphanPid = Integer.parseInt(m.group(1));
        assertThat(ProcessHandle.of(orphanPid).map(ProcessHandle::isAlive).orElse(false))
                .as("ringwarden run, the orphan's subreaper, returns only after the orphan exited").isFalse();
        String orphan = "tid " + orphanPid + " ";
        assertThat(h.daemon.auditEvents()).as("the orphan was served after its parent exited")
                .anySatisfy(e -> {
                    assertThat(e.kind()).isEqualTo(AuditEvent.Kind.DELIVER);
                    assertThat(e.detail()).contains(orphan);
                });
        // ringwarden run has exited, so its connection is closed: the daemon forgets the
        // attachment (on its poller thread) and audits the DETACH.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while ((h.daemon.attachments() != 0 || h.daemon.auditEvents().stream()
                .noneMatch(e -> e.kind() == AuditEvent.Kind.DETACH && e.peer().pid() == r.pid()))
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(h.daemon.attachments()).as("no attachment is left once every process under the filter exited")
                .isZero();
        assertThat(ringFdsInDaemon()).as("the daemon keeps no ring of a transparent program").isLessThanOrEqualTo(ringsBefore);
        assertThat(seccompListenersInDaemon()).as("nor its listener").isZero();
    }

    private static long ringFdsInDaemon() {
        return fdsLinkingTo("anon_inode:[io_uring]");
    }

    private static long seccompListenersInDaemon() {
        return fdsLinkingTo("anon_inode:seccomp notify");
    }

    private static long fdsLinkingTo(String target) {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().equals(target);
                } catch (Exception e) {
                    return false;
                }
            }).count();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static long sqPollThreadsInDaemon() {
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).startsWith("iou-sqp");
                } catch (Exception e) {
                    return false;
                }
            }).count();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
