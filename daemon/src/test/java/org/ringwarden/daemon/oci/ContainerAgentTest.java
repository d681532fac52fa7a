package org.ringwarden.daemon.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ringwarden.daemon.grant.AuditEvent;

/**
 * Containers under Debian's runc and crun get their rings from ringwarden (docs/containers.md):
 * a bundle with the host's {@code /usr} read-only, uid 65534, the profile of
 * {@code ringwarden seccomp-profile}, on a host where {@code kernel.io_uring_disabled=1} makes
 * that uid's own {@code io_uring_setup} fail. The sysctl and crun's cgroup workaround are
 * undone afterwards, also on failure.
 */
@Timeout(900)
class ContainerAgentTest {
    private static final Path SYSCTL = Path.of("/proc/sys/kernel/io_uring_disabled");
    private static final AtomicInteger IDS = new AtomicInteger();
    private static Path dir;
    private static Path rootfs;
    private static Path data;
    private static ContainerTestDaemon daemon;
    private static String sysctlBefore;
    private static boolean crunWorkaround;
    private static String crunSkipped;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(OciRuntime.installed("runc") || OciRuntime.installed("crun"),
                "runc or crun is needed (apt-get install runc crun; .ci/run installs them)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/fio")), "fio is needed");
        assumeTrue(Files.exists(SYSCTL), "kernel.io_uring_disabled (6.6+) is needed");
        // A regular file system (tmpfs reads are punted to io-wq), short enough for sun_path.
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "rw-ctr-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        rootfs = OciRuntime.rootfs(dir);
        data = Files.createDirectories(dir.resolve("data"));
        Files.write(data.resolve("file"), new byte[4 << 20]);
        OciRuntime.exec(List.of("chown", "-R", "65534:65534", data.toString()), 30);
        daemon = new ContainerTestDaemon(dir);
        sysctlBefore = Files.readString(SYSCTL).trim();
        Files.writeString(SYSCTL, "1");
        if (OciRuntime.installed("crun")) {
            Path probe = dir.resolve("bundles/probe");
            OciRuntime.bundle(probe, rootfs, data, List.of("/bin/true"),
                    SeccompProfile.build(SeccompProfile.defaultBase(), "fio-ctr", daemon.agentSocket.toString()), Map.of());
            try {
                crunWorkaround = OciRuntime.hybridWorkaroundIfNeeded(probe, state("crun"));
            } catch (org.opentest4j.TestAbortedException e) {
                crunSkipped = e.getMessage();
            }
        }
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (sysctlBefore != null) {
                Files.writeString(SYSCTL, sysctlBefore);
            }
        } finally {
            try {
                if (crunWorkaround) {
                    OciRuntime.undoHybridWorkaround();
                }
            } finally {
                try {
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
    }

    private static Path state(String runtime) throws java.io.IOException {
        return Files.createDirectories(dir.resolve("state-" + runtime));
    }

    private static OciRuntime runtime(String name) throws Exception {
        assumeTrue(OciRuntime.installed(name), name + " is not installed");
        assumeTrue(!name.equals("crun") || crunSkipped == null, "crun cannot run here: " + crunSkipped);
        return new OciRuntime(name, state(name));
    }

    private static String newId(String runtime) {
        return "rw-" + runtime + "-" + IDS.incrementAndGet();
    }

    private static ObjectNode profile(String policy, Path agentSocket) {
        return SeccompProfile.build(SeccompProfile.defaultBase(), policy, agentSocket.toString());
    }

    private static List<String> fio(String name, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/fio", "--name=" + name, "--filename=/data/file",
                "--size=4M", "--bs=4k", "--ioengine=io_uring", "--rw=randread", "--iodepth=8", "--invalidate=0"));
        cmd.addAll(List.of(extra));
        return cmd;
    }

    private static OciRuntime.Result run(OciRuntime rt, String id, String policy, List<String> args) throws Exception {
        Path bundle = dir.resolve("bundles").resolve(id);
        OciRuntime.bundle(bundle, rootfs, data, args, profile(policy, daemon.agentSocket), Map.of());
        return rt.run(bundle, id);
    }

    @ParameterizedTest
    @ValueSource(strings = {"runc", "crun"})
    void fioInsideTheContainerReadsThroughARingFromRingwardenAndTheAuditNamesTheContainer(String name) throws Exception {
        OciRuntime rt = runtime(name);
        String id = newId(name);
        OciRuntime.Result r = run(rt, id, "fio-ctr", fio("ring"));
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).as("%s", r).contains("err= 0").contains("read: IOPS=");
        assertThat(daemon.auditEvents()).as("the daemon made fio's ring under fio-ctr for this container")
                .anySatisfy(e -> {
                    assertThat(e.kind()).isEqualTo(AuditEvent.Kind.DELIVER);
                    assertThat(e.policy()).isEqualTo("fio-ctr");
                    assertThat(e.detail()).contains("container id=" + id + " ").contains("bundle=" + dir.resolve("bundles"))
                            .contains("program /usr/bin/fio").contains("uid 65534");
                });
        assertThat(daemon.auditRecords()).as("the agent audited the attachment, naming the container")
                .anySatisfy(rec -> {
                    assertThat(rec.path("event").asText()).isEqualTo("container-attach");
                    assertThat(rec.path("outcome").asText()).isEqualTo("ok");
                    assertThat(rec.path("detail").asText()).contains("container id=" + id + " ");
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"runc", "crun"})
    void anOpcodeOutsideThePolicyFailsEaccesAndSqpollIsRefused(String name) throws Exception {
        OciRuntime rt = runtime(name);
        OciRuntime.Result denied = run(rt, newId(name), "nop-ctr", fio("denied"));
        assertThat(denied.all()).as("READ is not in nop-ctr: the kernel completes it with EACCES; %s", denied)
                .contains("Permission denied");
        OciRuntime.Result sqpoll = run(rt, newId(name), "fio-ctr", fio("sqpoll", "--sqthread_poll=1"));
        assertThat(sqpoll.exit()).as("%s", sqpoll).isNotZero();
        assertThat(sqpoll.all()).as("fio-ctr refuses SQPOLL: EPERM; %s", sqpoll).contains("Operation not permitted");
        assertThat(daemon.auditEvents()).anySatisfy(e -> {
            assertThat(e.kind()).isEqualTo(AuditEvent.Kind.DELIVERY_REFUSED);
            assertThat(e.detail()).contains("container id=rw-" + name).contains("SQPOLL");
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"runc", "crun"})
    void aPolicyTheContainerIsNotASubjectOfIsRefusedAuditedAndFioFailsCleanly(String name) throws Exception {
        OciRuntime rt = runtime(name);
        String id = newId(name);
        OciRuntime.Result r = run(rt, id, "other", List.of("/bin/sh", "-c",
                String.join(" ", fio("refused")) + "; echo fio-exit=$?; wc -c < /data/file"));
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.all()).as("no ring: ENOSYS, as without any agent; %s", r)
                .containsPattern("fio-exit=[1-9]").contains("4194304");
        assertThat(daemon.auditRecords()).anySatisfy(rec -> {
            assertThat(rec.path("event").asText()).isEqualTo("container-attach");
            assertThat(rec.path("outcome").asText()).isEqualTo("refused");
            assertThat(rec.path("policy").asText()).isEqualTo("other");
            assertThat(rec.path("detail").asText()).contains("container id=" + id + " ").contains("does not admit");
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"runc", "crun"})
    void withoutAnAgentFioFailsWithEnosysAndTheContainersOtherWorkIsUnaffected(String name) throws Exception {
        OciRuntime rt = runtime(name);
        // An agent socket whose server takes the message and closes everything, as a daemon
        // that died after the runtime connected: nobody holds the listener any more.
        Path gone = dir.resolve("gone-" + name + ".sock");
        int fd = org.ringwarden.linux.UnixSockets.listen(gone.toString(), 8);
        Thread closer = Thread.ofPlatform().start(() -> {
            int c = org.ringwarden.linux.UnixSockets.accept(fd);
            if (c >= 0) {
                byte[] buf = new byte[AgentMessage.MAX_BYTES];
                org.ringwarden.linux.UnixRights.recvFds(c, buf, 8).closeAll();
                org.ringwarden.linux.Descriptors.closeQuietly(c);
            }
        });
        try {
            String id = newId(name);
            Path bundle = dir.resolve("bundles").resolve(id);
            OciRuntime.bundle(bundle, rootfs, data, List.of("/bin/sh", "-c",
                    String.join(" ", fio("noagent")) + "; echo fio-exit=$?; wc -c < /data/file"), profile("fio-ctr", gone),
                    Map.of());
            OciRuntime.Result r = rt.run(bundle, id);
            assertThat(r.exit()).as("%s", r).isZero();
            assertThat(r.all()).as("%s", r).containsPattern("fio-exit=[1-9]").contains("4194304")
                    .containsAnyOf("Function not implemented", "doesn't support io_uring");
        } finally {
            closer.join();
            org.ringwarden.linux.Descriptors.closeQuietly(fd);
            Files.deleteIfExists(gone);
        }
    }

    /** The pod from the bundle's annotations reaches the audit (Kubernetes runtimes set them). */
    @ParameterizedTest
    @ValueSource(strings = {"runc"})
    void kubernetesPodAnnotationsNameThePod(String name) throws Exception {
        OciRuntime rt = runtime(name);
        String id = newId(name);
        Path bundle = dir.resolve("bundles").resolve(id);
        OciRuntime.bundle(bundle, rootfs, data, fio("pod"), profile("fio-ctr", daemon.agentSocket),
                Map.of("io.kubernetes.pod.namespace", "db", "io.kubernetes.pod.name", "postgres-0"));
        OciRuntime.Result r = rt.run(bundle, id);
        assertThat(r.exit()).as("%s", r).isZero();
        List<JsonNode> records = daemon.auditRecords();
        assertThat(records).anySatisfy(rec -> assertThat(rec.path("detail").asText())
                .contains("container id=" + id + " pod=db/postgres-0 "));
    }
}
