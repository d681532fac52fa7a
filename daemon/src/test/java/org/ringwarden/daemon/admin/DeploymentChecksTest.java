package org.ringwarden.daemon.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.daemon.admin.HostChecks.Finding;
import org.ringwarden.daemon.admin.HostChecks.Status;
import org.ringwarden.daemon.config.ConfigLoader;
import org.ringwarden.daemon.config.DaemonConfig;

/** doctor's deployment checks (docs/install.md) against real sockets, policy files and unit files. */
class DeploymentChecksTest {
    private static Finding find(List<Finding> findings, String check) {
        return findings.stream().filter(f -> f.check().equals(check)).findFirst().orElseThrow(
                () -> new AssertionError("no finding " + check + " in " + findings));
    }

    private static ServerSocketChannel listen(Path path, String mode) throws Exception {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(mode));
        return s;
    }

    private static DaemonConfig config(Path dir, Path policies) throws Exception {
        String json = """
                {"socket": {"path": "%s", "mode": "0666"}, "adminSocket": {"path": "%s", "mode": "0600"},
                 "policies": "%s"}
                """.formatted(dir.resolve("c.sock"), dir.resolve("a.sock"), policies);
        return ConfigLoader.parse(json.getBytes(), "ringwarden.json", Map.of());
    }

    private static Path policies(Path dir, String text) throws Exception {
        Path d = Files.createDirectory(dir.resolve("policies.d"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path f = Files.writeString(d.resolve("p.json"), text);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        return d;
    }

    private static final String GOOD = """
            { "name": "good", "description": "d", "subjects": { "uids": [1000] },
              "ring": { "sqEntries": 64 }, "sqe": { "ops": ["NOP"] } }
            """;

    @Test
    void socketsAreCheckedForPresenceModeAndKind(@TempDir Path dir) throws Exception {
        DaemonConfig c = config(dir, policies(dir, GOOD));
        List<Finding> absent = DeploymentChecks.run(c, "test", List.of());
        assertThat(find(absent, "client socket").status()).as("no socket yet").isEqualTo(Status.WARN);
        assertThat(find(absent, "client socket").fix()).as("how to get one").contains("systemctl enable --now ringwarden.socket");

        try (var client = listen(dir.resolve("c.sock"), "rw-rw-rw-"); var admin = listen(dir.resolve("a.sock"), "rw-r--r--")) {
            List<Finding> f = DeploymentChecks.run(c, "test", List.of());
            assertThat(find(f, "client socket").status()).as("client socket as configured: %s", f).isEqualTo(Status.OK);
            Finding a = find(f, "admin socket");
            assertThat(a.status()).as("admin socket readable by others").isEqualTo(Status.FAIL);
            assertThat(a.detail()).as("says what is wrong").contains("mode 0644, not the configured 0600");
            assertThat(a.fix()).as("says how to fix it").contains("systemctl edit ringwarden-admin.socket").contains("SocketMode=0600");
        }
        Files.delete(dir.resolve("c.sock")); // closing a listener leaves its socket file
        Files.writeString(dir.resolve("c.sock"), "not a socket");
        assertThat(find(DeploymentChecks.run(c, "test", List.of()), "client socket").status()).as("a regular file")
                .isEqualTo(Status.FAIL);
    }

    @Test
    void thePolicyDirectoryMustLoad(@TempDir Path dir) throws Exception {
        DaemonConfig broken = config(dir, policies(dir, "{\"name\": \"bad\""));
        Finding f = find(DeploymentChecks.run(broken, "test", List.of()), "policies");
        assertThat(f.status()).as("a directory that does not load").isEqualTo(Status.FAIL);
        assertThat(f.detail()).as("with its first error").contains("p.json");
        assertThat(f.fix()).as("fix").contains("ringwarden policy validate --policies " + dir.resolve("policies.d"));
    }

    @Test
    void theUnitsMemlockLimitMustCoverTheConfiguredQuotas(@TempDir Path dir) throws Exception {
        DaemonConfig c = config(dir, policies(dir, GOOD));
        Path unit = Files.writeString(dir.resolve("ringwarden.service"), "[Service]\nLimitMEMLOCK=64M\n");
        Path dropIn = Files.writeString(dir.resolve("override.conf"), "[Service]\nLimitMEMLOCK=8M\n");

        Finding ok = find(DeploymentChecks.run(c, "test", List.of(unit)), "LimitMEMLOCK");
        Finding low = find(DeploymentChecks.run(c, "test", List.of(unit, dropIn)), "LimitMEMLOCK");
        Finding none = find(DeploymentChecks.run(c, "test", List.of()), "LimitMEMLOCK");

        assertThat(ok.status()).as("64M covers 16 MiB + 64 x 8 KiB rings: %s", ok).isEqualTo(Status.OK);
        assertThat(low.status()).as("a drop-in's 8M does not: %s", low).isEqualTo(Status.FAIL);
        assertThat(low.detail()).as("the arithmetic").contains("override.conf").contains("bufferBytesPerUid 16.0 MiB")
                .contains("leasesPerUid 64 x 8 KiB");
        assertThat(low.fix()).as("fix").contains("LimitMEMLOCK=17M");
        assertThat(none.status()).as("no unit installed").isEqualTo(Status.WARN);
        assertThat(DeploymentChecks.ringBytes(4096, 8192)).as("the unit's formula, 4096/8192").isEqualTo(404 * 1024);
    }

    @Test
    void underIoUringDisabledOneTheGroupMustBeTheDaemons() {
        Finding wrong = DeploymentChecks.ioUringGroup(Optional.of("1"), Optional.of("-1"), Optional.of(990));
        assertThat(wrong.status()).as("group -1").isEqualTo(Status.FAIL);
        assertThat(wrong.fix()).as("fix").contains("sysctl -w kernel.io_uring_group=990").contains("60-ringwarden.conf");
        assertThat(DeploymentChecks.ioUringGroup(Optional.of("1"), Optional.of("990"), Optional.of(990)).status())
                .as("the daemon's group").isEqualTo(Status.OK);
        assertThat(DeploymentChecks.ioUringGroup(Optional.of("1"), Optional.of("-1"), Optional.empty()).status())
                .as("no group ringwarden yet").isEqualTo(Status.WARN);
        assertThat(DeploymentChecks.ioUringGroup(Optional.of("0"), Optional.of("-1"), Optional.of(990)).status())
                .as("not consulted under 0 (the disabled check warns about 0 itself)").isEqualTo(Status.OK);
    }

    @Test
    void everyProblemComesWithAFix(@TempDir Path dir) throws Exception {
        DaemonConfig c = config(dir, policies(dir, "{"));
        Files.writeString(dir.resolve("c.sock"), "x");
        Path unit = Files.writeString(dir.resolve("ringwarden.service"), "[Service]\nLimitMEMLOCK=1M\n");
        for (Finding f : DeploymentChecks.run(c, "test", List.of(unit))) {
            if (f.status() != Status.OK) {
                assertThat(f.fix()).as("fix for %s", f).isNotBlank();
            }
        }
    }
}
