package org.ringwarden.daemon.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The deployment target of security.md ("Who may create rings at all"), for real: with
 * {@code kernel.io_uring_disabled=1} and {@code kernel.io_uring_group} set to the daemon's
 * group, an unprivileged uid gets {@code EPERM} from its own {@code io_uring_setup}, yet does
 * I/O through a brokered ring, since a trapped call is answered before the kernel's own check.
 * The sysctls are restored afterwards, also when the test fails.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class HostLockdownTest {
    private static final Path DISABLED = Path.of("/proc/sys/kernel/io_uring_disabled");
    private static final Path GROUP = Path.of("/proc/sys/kernel/io_uring_group");

    @Test
    void unprivilegedUidIsRefusedItsOwnRingButReadsThroughABrokeredOne() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root: sysctls, the daemon, setpriv");
        assumeTrue(Files.isWritable(DISABLED) && Files.isWritable(GROUP),
                "needs kernel.io_uring_disabled and kernel.io_uring_group (Linux 6.6+) writable");
        String disabledBefore = read(DISABLED);
        String groupBefore = read(GROUP);
        try (E2eEnvironment env = new E2eEnvironment()) {
            env.startDaemon();
            String sha = HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(env.sample)));
            // The daemon runs as root here, so its group is gid 0; the client (uid 65534,
            // supplementary groups cleared) is not in it.
            sysctl(GROUP, "0");
            sysctl(DISABLED, "1");
            E2eEnvironment.Run run = env.client("lockdown", sha);
            E2eEnvironment.assertPassed(run, 9);
            assertThat(run.text()).as("the kernel refused the client's own ring")
                    .contains("our own io_uring_setup is refused by the kernel");
        } finally {
            sysctl(DISABLED, disabledBefore);
            sysctl(GROUP, groupBefore);
        }
        assertThat(read(DISABLED)).as("io_uring_disabled restored").isEqualTo(disabledBefore);
        assertThat(read(GROUP)).as("io_uring_group restored").isEqualTo(groupBefore);
    }

    /**
     * Reads a sysctl by lines: {@code Files.readString} trusts the size /proc reports and read
     * only "-" of "-1" here, which could not have been written back.
     */
    private static String read(Path knob) throws IOException {
        return Files.readAllLines(knob).getFirst().trim();
    }

    private static void sysctl(Path knob, String value) throws IOException {
        Files.writeString(knob, value + "\n");
    }
}
