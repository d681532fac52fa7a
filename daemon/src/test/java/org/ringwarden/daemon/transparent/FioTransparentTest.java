package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringDisabled;
import org.ringwarden.daemon.TestCleanup;
import org.ringwarden.daemon.grant.AuditEvent;

/**
 * Debian's fio, unmodified, with {@code --ioengine=io_uring} under {@code ringwarden run}, as
 * uid 65534 on a host where {@code kernel.io_uring_disabled=1} makes that uid's own
 * {@code io_uring_setup} fail. The sysctl is restored afterwards, also on failure.
 */
@Timeout(600)
class FioTransparentTest {
    private static RunHarness h;
    private static IoUringDisabled sysctl;
    private static Path work;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/fio")), "fio is needed (apt-get install fio; .ci/run installs it)");
        assumeTrue(IoUringDisabled.available(), "kernel.io_uring_disabled (6.6+) is needed");
        h = new RunHarness();
        // A regular filesystem (tmpfs reads are punted to io-wq; security.md), writable by uid 65534.
        work = Files.createTempDirectory(Path.of("/var/tmp"), "rw-fio-");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxrwxrwx"));
        sysctl = IoUringDisabled.set(1);
    }

    @AfterAll
    static void stop() throws Exception {
        TestCleanup.closeAll(sysctl, TestCleanup.deletingTree(work), h);
    }

    private static List<String> fio(String name, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/fio", "--name=" + name,
                "--filename=" + work.resolve(name), "--size=4M", "--bs=4k", "--ioengine=io_uring", "--iodepth=8",
                "--rw=write", "--verify=crc32c", "--do_verify=1"));
        cmd.addAll(List.of(extra));
        return cmd;
    }

    @Test
    void fioAloneIsRefusedByTheSysctlButWritesAndVerifiesUnderRingwardenRun() {
        RunHarness.Result alone = RunHarness.exec(withNobody(fio("alone")), 120);
        assertThat(alone.out() + alone.err()).as("the sysctl must stop uid 65534's own rings: %s", alone)
                .contains("error=Operation not permitted");

        RunHarness.Result plain = h.runAs(RunHarness.NOBODY, "fio", fio("plain"));
        assertThat(plain.exit()).as("%s", plain).isZero();
        assertThat(plain.out()).as("%s", plain).contains("err= 0").doesNotContain("verify: bad");

        RunHarness.Result fixed = h.runAs(RunHarness.NOBODY, "fio", fio("fixed", "--fixedbufs", "--registerfiles"));
        assertThat(fixed.exit()).as("%s", fixed).isZero();
        assertThat(fixed.out()).as("%s", fixed).contains("err= 0").doesNotContain("verify: bad");
        assertThat(h.daemon.auditEvents()).as("fio's rings were made by the daemon under policy fio")
                .anySatisfy(e -> {
                    assertThat(e.kind()).isEqualTo(AuditEvent.Kind.DELIVER);
                    assertThat(e.detail()).contains("program /usr/bin/fio").contains("uid 65534");
                });
    }

    @Test
    void fioUnderAPolicyWithoutItsOpcodesReportsEaccesAndTheAuditSaysWhy() {
        RunHarness.Result r = h.runAs(RunHarness.NOBODY, "nop-only", fio("denied"));
        assertThat(r.out() + r.err()).as("WRITE is not allowed: the kernel completes it with EACCES; %s", r)
                .contains("Permission denied");
        assertThat(h.daemon.auditEvents()).as("the audit names the policy and what its ring allows")
                .anySatisfy(e -> {
                    assertThat(e.kind()).isEqualTo(AuditEvent.Kind.DELIVER);
                    assertThat(e.policy()).isEqualTo("nop-only");
                    assertThat(e.detail()).contains("program /usr/bin/fio").contains("ops [NOP]")
                            .contains("other SQEs complete with EACCES");
                });
    }

    private static List<String> withNobody(List<String> cmd) {
        List<String> c = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        c.addAll(cmd);
        return c;
    }
}
