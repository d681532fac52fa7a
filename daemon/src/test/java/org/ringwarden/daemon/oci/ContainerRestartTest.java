package org.ringwarden.daemon.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Syscall;

/**
 * A daemon restart while a container runs (docs/containers.md): the listener the first daemon
 * put in the (test's own) file descriptor store comes back to the second one in
 * {@code LISTEN_FDS}, and a later {@code io_uring_setup} in the container is served. PID 1 is
 * not systemd here: {@link FdNotifyReceiver} plays its part, {@link FdSpawner} starts the
 * second daemon with the stored descriptors as fds 3 and 4.
 */
@Timeout(600)
class ContainerRestartTest {
    private static final Path SYSCTL = Path.of("/proc/sys/kernel/io_uring_disabled");
    private Path dir;
    private String sysctlBefore;
    private int daemonB = -1;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(OciRuntime.installed("runc"), "runc is needed (apt-get install runc)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/fio")), "fio is needed");
        assumeTrue(Files.exists(SYSCTL), "kernel.io_uring_disabled (6.6+) is needed");
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "rw-rst-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        sysctlBefore = Files.readString(SYSCTL).trim();
        Files.writeString(SYSCTL, "1");
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (sysctlBefore != null) {
                Files.writeString(SYSCTL, sysctlBefore);
            }
        } finally {
            try {
                if (daemonB > 0) {
                    Syscall.checked("kill", Syscall.SYS_KILL, daemonB, 15);
                    Syscall.checked("wait4", 61, daemonB, 0, 0, 0);
                }
            } finally {
                OciRuntime.exec(List.of("rm", "-rf", dir.toString()), 60);
            }
        }
    }

    private static List<String> fio(String name) {
        return List.of("/usr/bin/fio", "--name=" + name, "--filename=/data/file", "--size=4M", "--bs=4k",
                "--ioengine=io_uring", "--rw=randread", "--iodepth=8", "--invalidate=0");
    }

    private static void awaitFile(Path p, String why) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L; // guards against a hang only
        while (!Files.exists(p)) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(why + ": " + p + " never appeared");
            }
            Thread.sleep(10);
        }
    }

    @Test
    void aContainersListenerSurvivesADaemonRestartThroughTheFdStoreAndALaterSetupIsServed() throws Throwable {
        Path rootfs = OciRuntime.rootfs(dir);
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.write(data.resolve("file"), new byte[4 << 20]);
        OciRuntime.exec(List.of("chown", "-R", "65534:65534", data.toString()), 30);
        String id = "rw-restart-" + ProcessHandle.current().pid();
        try (FdNotifyReceiver systemd = new FdNotifyReceiver("rw-fdstore-" + ProcessHandle.current().pid() + "-" + System.nanoTime())) {
            ContainerTestDaemon a = new ContainerTestDaemon(dir, Map.of("NOTIFY_SOCKET", systemd.notifySocket()));
            assertThat(systemd.await("READY=1", 60_000)).as("daemon A ready").isTrue();
            // fio, then wait for the go-ahead (the container's own loop), then fio again.
            String script = String.join(" ", fio("before")) + "; echo before=$?; touch /data/step1;"
                    + " while [ ! -e /data/go ]; do sleep 0.05; done; " + String.join(" ", fio("after")) + "; echo after=$?";
            Path bundle = dir.resolve("bundles").resolve(id);
            OciRuntime.bundle(bundle, rootfs, data, List.of("/bin/sh", "-c", script),
                    SeccompProfile.build(SeccompProfile.defaultBase(), "fio-ctr", a.agentSocket.toString()), Map.of());
            OciRuntime runc = new OciRuntime("runc", Files.createDirectories(dir.resolve("state")));
            CompletableFuture<OciRuntime.Result> container = CompletableFuture.supplyAsync(() -> {
                try {
                    return runc.run(bundle, id);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            awaitFile(data.resolve("step1"), "the first fio ran");
            // Stored at attach, before the container's process started; handle the datagrams now.
            assertThat(systemd.store.containsKey("oci-1") || systemd.await("FDNAME=oci-1", 10_000))
                    .as("the listener was stored").isTrue();
            assertThat(systemd.store).containsKeys("oci-1", "ocimeta-1");

            a.close(); // daemon A is gone: its copy of the listener with it

            // Daemon B, a process of its own, gets the stored pair as fds 3 and 4.
            Files.writeString(dir.resolve("b.json"), """
                    {"socket":{"path":"%1$s/b-client.sock"},"adminSocket":{"path":"%1$s/b-admin.sock"},
                     "agentSocket":{"path":"%1$s/agent.sock"},"policies":"%1$s/policies",
                     "audit":{"destination":"file","file":"%1$s/b-audit.jsonl"}}
                    """.formatted(dir));
            List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp",
                    System.getProperty("java.class.path"), "org.ringwarden.daemon.Main", "daemon", "--config",
                    dir.resolve("b.json").toString()));
            daemonB = FdSpawner.spawn(java, Map.of("NOTIFY_SOCKET", systemd.notifySocket(), "LISTEN_FDS", "2",
                    "LISTEN_FDNAMES", "oci-1:ocimeta-1", "PATH", "/usr/bin:/bin"),
                    new int[] {systemd.store.get("oci-1"), systemd.store.get("ocimeta-1")}, dir.resolve("b.log"));
            assertThat(systemd.await("READY=1", 120_000)).as("daemon B ready; log: %s", log(dir)).isTrue();

            Files.writeString(data.resolve("go"), "");
            OciRuntime.Result r = container.get();
            assertThat(r.exit()).as("%s", r).isZero();
            assertThat(r.out()).as("%s", r).contains("before=0").contains("after=0");
            List<String> audit = Files.readAllLines(dir.resolve("b-audit.jsonl"));
            assertThat(audit).as("daemon B took the listener back and served the later setup; log: %s", log(dir))
                    .anySatisfy(l -> assertThat(l).contains("\"container-reattach\"").contains("\"ok\"")
                            .contains("container id=" + id))
                    .anySatisfy(l -> assertThat(l).contains("\"deliver\"").contains("container id=" + id));
            // The container's last process exited: B dropped the pair from the store.
            assertThat(systemd.await("FDSTOREREMOVE=1\nFDNAME=ocimeta-1", 60_000)).isTrue();
            assertThat(systemd.store).doesNotContainKeys("oci-1", "ocimeta-1");
        }
    }

    @Test
    void withoutAnFdStoreARestartLosesTheListenerAndTheContainersLaterSetupFailsEnosysNotHangs() throws Throwable {
        Path rootfs = OciRuntime.rootfs(dir);
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.write(data.resolve("file"), new byte[4 << 20]);
        OciRuntime.exec(List.of("chown", "-R", "65534:65534", data.toString()), 30);
        String id = "rw-lost-" + ProcessHandle.current().pid();
        ContainerTestDaemon a = new ContainerTestDaemon(dir); // no NOTIFY_SOCKET: nothing is stored
        String script = String.join(" ", fio("before")) + "; echo before=$?; touch /data/step1;"
                + " while [ ! -e /data/go ]; do sleep 0.05; done; " + String.join(" ", fio("after"))
                + "; echo after=$?; wc -c < /data/file";
        Path bundle = dir.resolve("bundles").resolve(id);
        OciRuntime.bundle(bundle, rootfs, data, List.of("/bin/sh", "-c", script),
                SeccompProfile.build(SeccompProfile.defaultBase(), "fio-ctr", a.agentSocket.toString()), Map.of());
        OciRuntime runc = new OciRuntime("runc", Files.createDirectories(dir.resolve("state")));
        CompletableFuture<OciRuntime.Result> container = CompletableFuture.supplyAsync(() -> {
            try {
                return runc.run(bundle, id);
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
        awaitFile(data.resolve("step1"), "the first fio ran");
        a.close(); // the only copy of the listener besides the kernel's is gone
        Files.writeString(data.resolve("go"), "");
        OciRuntime.Result r = container.get(); // OciRuntime bounds the run: a hang fails the test
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.all()).as("%s", r).contains("before=0").containsPattern("after=[1-9]").contains("4194304")
                .containsAnyOf("Function not implemented", "doesn't support io_uring");
    }

    private static String log(Path dir) throws java.io.IOException {
        Path l = dir.resolve("b.log");
        return Files.exists(l) ? Files.readString(l) : "";
    }
}
