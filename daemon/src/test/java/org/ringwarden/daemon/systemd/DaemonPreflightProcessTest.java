package org.ringwarden.daemon.systemd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.cli.DemoCommand;

/**
 * A daemon that cannot make rings exits non-zero, saying why, and never says it is
 * ready. The daemon runs as its own JVM ({@code ringwarden daemon}) as uid 65534 with
 * {@code NOTIFY_SOCKET}, once shut out by {@code kernel.io_uring_disabled=1} (set only from
 * just before it starts until it exits, then restored: other tests on this machine may make
 * rings as non-root users meanwhile) and once with {@code RLIMIT_MEMLOCK} 0 (no global state).
 */
@Timeout(180)
class DaemonPreflightProcessTest {
    private static final Path DISABLED = Path.of("/proc/sys/kernel/io_uring_disabled");
    private static final Path GROUP = Path.of("/proc/sys/kernel/io_uring_group");
    private static final int NOBODY = 65534;

    private Path dir;
    private Process process;
    /** The value to put back, while this test has changed it. */
    private String disabledToRestore;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root: setpriv to uid 65534");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv(1) (util-linux)");
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "rw-preflight-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path policies = Files.createDirectory(dir.resolve("policies"));
        Files.writeString(policies.resolve("open.json"), """
                {"name":"open","description":"everyone: NOP","subjects":{"everyone":true},"sqe":{"ops":["NOP"]},
                 "limits":{"leasesPerUser":4,"bufferBytesPerUser":"0 B"}}
                """);
        // If the check let it through, the daemon could bind here and say ready: the test would see it.
        Path run = Files.createDirectory(dir.resolve("run"));
        Files.setOwner(run, dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
        Files.writeString(dir.resolve("daemon.json"), """
                {"socket":{"path":"%s/client.sock"},"adminSocket":{"path":"%s/admin.sock"},
                 "policies":"%s","audit":{"destination":"stderr"}}
                """.formatted(run, run, policies));
        for (Path p : List.of(policies, policies.resolve("open.json"), dir.resolve("daemon.json"))) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (process != null && process.isAlive()) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } finally {
            restoreDisabled();
            if (dir != null) {
                try (var s = Files.walk(dir)) {
                    for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }

    @Test
    void shutOutByIoUringDisabledItExitsSayingWhyAndNeverReady() throws Exception {
        String before = read(DISABLED);
        String group = read(GROUP);
        assumeTrue(probeWritable(before), "needs kernel.io_uring_disabled (Linux 6.6+) writable here");
        assumeTrue(!group.equals(Integer.toString(NOBODY)), "kernel.io_uring_group is nobody's group: nothing to shut out");
        List<String> command = daemonAsNobody(List.of());
        try (NotifyReceiver notify = new NotifyReceiver("rwtest-preflight-" + ProcessHandle.current().pid() + "-" + System.nanoTime())) {
            disabledToRestore = before;
            write(DISABLED, "1");
            try {
                process = start(command, notify);
                awaitExitOrReady(notify);
            } finally {
                restoreDisabled();
            }
            assertThat(read(DISABLED)).as("kernel.io_uring_disabled restored").isEqualTo(before);
            assertFailedWithoutReady(notify, "io_uring_setup: EPERM: kernel.io_uring_disabled=1 and this user (uid "
                    + NOBODY + ") is not in kernel.io_uring_group (gid " + group);
        }
    }

    @Test
    void withoutLockedMemoryForOneRingItExitsNamingTheLimit() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/prlimit")), "needs prlimit(1) (util-linux)");
        try (NotifyReceiver notify = new NotifyReceiver("rwtest-preflight-" + ProcessHandle.current().pid() + "-" + System.nanoTime())) {
            process = start(daemonAsNobody(List.of("prlimit", "--memlock=0:0")), notify);
            awaitExitOrReady(notify);
            assertFailedWithoutReady(notify, "io_uring_setup: ENOMEM: a ring's memory is charged against RLIMIT_MEMLOCK,"
                    + " which is 0 bytes, hard limit 0 bytes");
        }
    }

    /** {@code ringwarden daemon} as uid 65534 (no groups), from world-readable copies of the class path. */
    private List<String> daemonAsNobody(List<String> prefix) throws IOException {
        Path lib = Files.createDirectory(dir.resolve("lib"));
        Files.setPosixFilePermissions(lib, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "--",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-cp", DemoCommand.readableClasspath(lib),
                "org.ringwarden.daemon.Main", "daemon", "--config", dir.resolve("daemon.json").toString()));
        return cmd;
    }

    private Process start(List<String> command, NotifyReceiver notify) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("daemon.log").toFile());
        pb.environment().remove("LISTEN_FDS");
        pb.environment().remove("LISTEN_PID");
        pb.environment().remove("JOURNAL_STREAM");
        pb.environment().put("NOTIFY_SOCKET", notify.notifySocket());
        return pb.start();
    }

    /** Until the daemon exits, or says READY=1 (the failure this test is about), at most 60 s. */
    private void awaitExitOrReady(NotifyReceiver notify) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (process.isAlive() && System.nanoTime() < deadline) {
            String m = notify.next(100);
            if (m != null && m.contains("READY=1")) {
                return;
            }
        }
        process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private void assertFailedWithoutReady(NotifyReceiver notify, String why) throws Exception {
        String log = Files.readString(dir.resolve("daemon.log"));
        assertThat(process.isAlive()).as("the daemon exits by itself; log:%n%s", log).isFalse();
        assertThat(process.exitValue()).as("exit code; log:%n%s", log).isNotZero();
        assertThat(log).as("says why").contains("cannot make io_uring rings").contains(why)
                .doesNotContain("daemon ready");
        // Whatever it sent before it exited is queued on the notification socket by now.
        for (String m = notify.next(0); m != null; m = notify.next(0)) {
            assertThat(m).as("notification from a daemon that cannot make rings").doesNotContain("READY=1");
        }
        assertThat(dir.resolve("run/client.sock")).as("no socket bound").doesNotExist();
    }

    private void restoreDisabled() throws IOException {
        if (disabledToRestore != null) {
            write(DISABLED, disabledToRestore);
            disabledToRestore = null;
        }
    }

    /** Writing the value it already has: proves the sysctl may be changed here, changing nothing. */
    private static boolean probeWritable(String current) {
        try {
            write(DISABLED, current);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** By lines: {@code Files.readString} trusts the size /proc reports (see HostLockdownTest). */
    private static String read(Path knob) throws IOException {
        return Files.exists(knob) ? Files.readAllLines(knob).getFirst().trim() : "";
    }

    private static void write(Path knob, String value) throws IOException {
        Files.writeString(knob, value + "\n");
    }
}
