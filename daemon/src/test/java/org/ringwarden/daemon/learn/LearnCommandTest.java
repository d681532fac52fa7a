package org.ringwarden.daemon.learn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringDisabled;
import org.ringwarden.daemon.TestCleanup;
import org.ringwarden.daemon.cli.RingwardenCommand;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.LoadResult;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.linux.uring.IoUringOp;

import picocli.CommandLine;

/**
 * {@code ringwarden learn} on Debian's fio, unmodified, run as uid 65534 while
 * {@code kernel.io_uring_disabled=1} refuses that uid's own rings: the learned policy validates,
 * holds what the job used and nothing it did not (no WRITE for a read job), and the same job
 * succeeds under it (learn's own second run). The sysctl is restored afterwards, also on failure.
 */
@Timeout(600)
class LearnCommandTest {
    private static IoUringDisabled sysctl;
    private static Path work;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "learn needs root (tracefs, a private daemon, setpriv)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/fio")), "fio is needed (apt-get install fio; .ci/run installs it)");
        assumeTrue(IoUringDisabled.available(), "kernel.io_uring_disabled (6.6+) is needed");
        try (org.ringwarden.daemon.trace.IoUringTrace probe = org.ringwarden.daemon.trace.IoUringTrace.start("probe", org.ringwarden.daemon.trace.IoUringTrace.ALL, java.util.Map.of(), new Observations())) {
            // tracefs and the io_uring events are there
        } catch (java.io.IOException e) {
            assumeTrue(false, "no io_uring tracepoints here: " + e.getMessage());
        }
        work = Files.createTempDirectory(Path.of("/var/tmp"), "rw-learn-");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path data = work.resolve("data");
        Files.write(data, new byte[4 << 20]);
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rw-rw-rw-"));
        sysctl = IoUringDisabled.set(1);
    }

    @AfterAll
    static void stop() throws Exception {
        TestCleanup.closeAll(sysctl, TestCleanup.deletingTree(work));
    }

    private record Learned(int exit, String err, CompiledPolicy policy) {
    }

    private static Learned learn(String name, String... fio) throws Exception {
        List<String> program = new java.util.ArrayList<>(List.of("/usr/bin/fio", "--name=job", "--filename=" + work.resolve("data"),
                "--ioengine=io_uring", "--size=4m", "--bs=4k", "--iodepth=8", "--output-format=terse"));
        program.addAll(List.of(fio));
        return learnProgram(name, program);
    }

    private static Learned learnProgram(String name, List<String> program) throws Exception {
        Path out = work.resolve(name + ".json");
        List<String> args = new java.util.ArrayList<>(List.of("learn", "--user", "nobody", "--name", name,
                "--output", out.toString(), "--"));
        args.addAll(program);
        StringWriter err = new StringWriter();
        CommandLine cl = RingwardenCommand.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args.toArray(String[]::new));
        assertThat(out).as("the learned policy was written (exit %d); stderr: %s", exit, err).exists();
        // Validated as an administrator's policy directory would be: the file as learn wrote it.
        LoadResult r = new PolicyLoader(PolicyLoader.Options.defaults().withStrictPermissions(false).withCheckFiles(false))
                .loadFile(out);
        assertThat(r.errors()).as("the learned policy validates").isEmpty();
        return new Learned(exit, err.toString(), r.policies().orElseThrow().get(name).orElseThrow());
    }

    @Test
    void aReadJobLearnsItsReadsAndNoWriteAndRunsUnderWhatItLearned() throws Exception {
        Learned l = learn("fio-read", "--rw=randread");
        assertThat(l.exit()).as("the job succeeded twice: learning, then under the learned policy").isZero();
        assertThat(l.policy().allowed().sqeOps()).contains(IoUringOp.READ)
                .doesNotContain(IoUringOp.WRITE, IoUringOp.WRITEV, IoUringOp.WRITE_FIXED, IoUringOp.FSYNC);
        assertThat(l.policy().transparent().enabled()).isTrue();
    }

    @Test
    void qemuIoWritingReadingAndFlushingLearnsExactlyThatAndTheBundledQemuPolicyCoversIt() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-io")), "qemu-io is needed (apt-get install qemu-utils; .ci/run installs it)");
        Path image = work.resolve("disk.img");
        Files.write(image, new byte[1 << 20]);
        Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("rw-rw-rw-"));
        Learned l = learnProgram("qemu-io", List.of("/usr/bin/qemu-io", "--aio", "io_uring", "-f", "raw",
                "-c", "write 0 4k", "-c", "read 0 4k", "-c", "flush", image.toString()));
        assertThat(l.exit()).as("qemu-io succeeded twice: learning, then under the learned policy; stderr: %s", l.err()).isZero();
        assertThat(l.policy().allowed().sqeOps()).containsExactlyInAnyOrder(IoUringOp.WRITEV, IoUringOp.READV, IoUringOp.FSYNC);
        CompiledPolicy bundled = PolicyLoader.withDefaults().loadBundled().policies().orElseThrow().get("qemu").orElseThrow();
        assertThat(bundled.allowed().sqeOps()).as("the bundled qemu policy").containsAll(l.policy().allowed().sqeOps());
        assertThat(bundled.allowed().sqeFlagsAllowed()).containsAll(l.policy().allowed().sqeFlagsAllowed());
    }

    @Test
    void aWriteJobLearnsItsWrites() throws Exception {
        Learned l = learn("fio-write", "--rw=randwrite", "--fsync=16");
        assertThat(l.exit()).isZero();
        assertThat(l.policy().allowed().sqeOps()).contains(IoUringOp.WRITE, IoUringOp.FSYNC).doesNotContain(IoUringOp.READV);
    }
}
