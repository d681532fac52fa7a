package org.ringwarden.daemon.oci;

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
import org.ringwarden.daemon.grant.AuditEvent;

/**
 * {@code podman run --security-opt seccomp=FILE} with the profile of {@code ringwarden
 * seccomp-profile} (docs/containers.md): an image made offline ({@code podman import} of a
 * rootfs skeleton; the host's {@code /usr} is mounted read-only), uid 65534, host
 * {@code kernel.io_uring_disabled=1}. Podman runs here as root with runc and cgroupfs (PID 1 is
 * not systemd), and with explicit nofile/nproc limits: its defaults exceed this VM's hard
 * limits, which root cannot raise without CAP_SYS_RESOURCE.
 */
@Timeout(600)
class PodmanTest {
    private static final Path SYSCTL = Path.of("/proc/sys/kernel/io_uring_disabled");
    private static final String IMAGE = "localhost/ringwarden-test-empty:" + ProcessHandle.current().pid();
    private static Path dir;
    private static ContainerTestDaemon daemon;
    private static String sysctlBefore;
    private static boolean imported;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(OciRuntime.installed("podman"), "podman is not installed (apt-get install podman)");
        assumeTrue(OciRuntime.installed("runc"), "runc is needed");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/fio")), "fio is needed");
        assumeTrue(Files.exists(SYSCTL), "kernel.io_uring_disabled (6.6+) is needed");
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "rw-pod-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path rootfs = OciRuntime.rootfs(dir);
        OciRuntime.Result tar = OciRuntime.exec(List.of("tar", "-C", rootfs.toString(), "-cf",
                dir.resolve("rootfs.tar").toString(), "."), 60);
        assertThat(tar.exit()).as("%s", tar).isZero();
        OciRuntime.Result imp = OciRuntime.exec(List.of("podman", "--cgroup-manager=cgroupfs", "import",
                dir.resolve("rootfs.tar").toString(), IMAGE), 120);
        assumeTrue(imp.exit() == 0, "podman import failed here: " + imp.all());
        imported = true;
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.write(data.resolve("file"), new byte[4 << 20]);
        OciRuntime.exec(List.of("chown", "-R", "65534:65534", data.toString()), 30);
        daemon = new ContainerTestDaemon(dir);
        sysctlBefore = Files.readString(SYSCTL).trim();
        Files.writeString(SYSCTL, "1");
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (sysctlBefore != null) {
                Files.writeString(SYSCTL, sysctlBefore);
            }
        } finally {
            try {
                if (imported) {
                    OciRuntime.exec(List.of("podman", "--cgroup-manager=cgroupfs", "rmi", "-f", IMAGE), 120);
                }
                if (daemon != null) {
                    daemon.close();
                }
            } finally {
                if (dir != null) {
                    OciRuntime.exec(List.of("rm", "-rf", dir.toString()), 60);
                }
            }
        }
    }

    private static OciRuntime.Result podman(String policy, String... command) throws Exception {
        Path profile = dir.resolve("profile-" + policy + ".json");
        Files.writeString(profile, SeccompProfile.toJson(SeccompProfile.build(SeccompProfile.defaultBase(), policy,
                daemon.agentSocket.toString())));
        List<String> cmd = new ArrayList<>(List.of("podman", "--cgroup-manager=cgroupfs", "--runtime", "runc", "run",
                "--rm", "--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                "--security-opt", "seccomp=" + profile, "--user", "65534:65534", "-v", "/usr:/usr:ro",
                "-v", dir.resolve("data") + ":/data", IMAGE));
        cmd.addAll(List.of(command));
        return OciRuntime.exec(cmd, 300);
    }

    private static final String[] FIO = {"/usr/bin/fio", "--name=pod", "--filename=/data/file", "--size=4M",
            "--bs=4k", "--ioengine=io_uring", "--rw=randread", "--iodepth=8", "--invalidate=0"};

    @Test
    void podmanRunWithTheProfileGetsItsRingFromRingwardenAndTheAuditNamesTheContainer() throws Exception {
        OciRuntime.Result r = podman("any-ctr", FIO);
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).as("%s", r).contains("err= 0").contains("read: IOPS=");
        assertThat(daemon.auditEvents()).anySatisfy(e -> {
            assertThat(e.kind()).isEqualTo(AuditEvent.Kind.DELIVER);
            assertThat(e.policy()).isEqualTo("any-ctr");
            assertThat(e.detail()).contains("container id=").contains("bundle=/var/lib/containers/storage/")
                    .contains("program /usr/bin/fio").contains("uid 65534");
        });
    }

    @Test
    void aPolicyThePodmanContainerIsNotASubjectOfIsRefusedAndFioFailsCleanly() throws Exception {
        // fio-ctr admits ids rw-*; podman's ids are 64 random hex digits.
        OciRuntime.Result r = podman("fio-ctr", FIO);
        assertThat(r.all()).as("%s", r).containsAnyOf("Function not implemented", "doesn't support io_uring");
        assertThat(daemon.auditRecords()).anySatisfy(rec -> {
            assertThat(rec.path("event").asText()).isEqualTo("container-attach");
            assertThat(rec.path("outcome").asText()).isEqualTo("refused");
            assertThat(rec.path("detail").asText()).contains("bundle=/var/lib/containers/storage/").contains("does not admit");
        });
    }
}
