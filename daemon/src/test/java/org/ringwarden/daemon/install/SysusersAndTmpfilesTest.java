package org.ringwarden.daemon.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.abort;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.ringwarden.daemon.cli.RingwardenCommand;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The installed sysusers.d and tmpfiles.d entries, applied by the real systemd tools to the
 * staging root (both work offline with --root), and the sysctl.d example's gid substitution.
 * Nothing here touches the host's users, directories or sysctls.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SysusersAndTmpfilesTest {
    @TempDir
    Path destdir;

    @Test
    void sysusersCreatesTheDaemonUserAndTheAdminGroupInTheRoot() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-sysusers"), "systemd-sysusers is not installed");
        StagedInstall staged = StagedInstall.install(destdir, "/usr");

        applySysusers(staged);

        Map<String, String[]> passwd = entries(staged.inRoot("/etc/passwd"));
        Map<String, String[]> group = entries(staged.inRoot("/etc/group"));
        assertThat(passwd).as("/etc/passwd in the root").containsKey("ringwarden");
        assertThat(group).as("/etc/group in the root").containsKeys("ringwarden", "ringwarden-admin");
        String[] user = passwd.get("ringwarden");
        assertThat(Integer.parseInt(user[2])).as("ringwarden is a system uid").isBetween(1, 999);
        assertThat(user[3]).as("primary group of ringwarden is group ringwarden").isEqualTo(group.get("ringwarden")[2]);
        assertThat(user[6]).as("no login shell").isEqualTo("/usr/sbin/nologin");
        assertThat(group.get("ringwarden-admin")[3]).as("ringwarden-admin starts with no members (administrators join it)").isEmpty();
    }

    @Test
    void tmpfilesCreatesThePolicyDirectoryOwnedByRoot() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-tmpfiles"), "systemd-tmpfiles is not installed");
        StagedInstall staged = StagedInstall.install(destdir, "/usr");
        Path conf = staged.underPrefix("lib/tmpfiles.d/ringwarden.conf");

        ExternalCommand.Result r = ExternalCommand.of("systemd-tmpfiles", "--root=" + destdir, "--create", conf.toString()).run();

        assertThat(r.exitCode()).as("systemd-tmpfiles --create:\n%s", r.describe()).isZero();
        assertThat(r.stderr()).as("no complaints about the file").isBlank();
        Path policies = staged.inRoot("/etc/ringwarden/policies.d");
        PosixFileAttributes a = Files.readAttributes(policies, PosixFileAttributes.class);
        assertThat(a.isDirectory()).as("%s is a directory", policies).isTrue();
        assertThat(PosixFilePermissions.toString(a.permissions())).as("mode of policies.d").isEqualTo("rwxr-xr-x");
        assertThat(a.owner().getName()).as("owner of policies.d").isEqualTo("root");
    }

    @Test
    void tmpfilesCreatesThePackagedConfigurationOnceAndKeepsAnAdministratorsEdits() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-tmpfiles"), "systemd-tmpfiles is not installed");
        StagedInstall staged = StagedInstall.install(destdir, "/usr");
        Path conf = staged.underPrefix("lib/tmpfiles.d/ringwarden.conf");
        Path config = staged.inRoot("/etc/ringwarden/ringwarden.json");

        ExternalCommand.Result first = ExternalCommand.of("systemd-tmpfiles", "--root=" + destdir, "--create", conf.toString()).run();

        assertThat(first.exitCode()).as("systemd-tmpfiles --create:\n%s", first.describe()).isZero();
        JsonNode json = new ObjectMapper().readTree(config.toFile());
        assertThat(json.path("adminGroup").asText()).as("admin group in %s", config).isEqualTo("ringwarden-admin");
        assertThat(json.path("policies").asText()).as("policy directory in %s", config).isEqualTo("/etc/ringwarden/policies.d");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(config))).as("mode of ringwarden.json").isEqualTo("rw-r--r--");

        Files.writeString(config, "{\"policies\": \"/srv/policies\"}\n");
        ExternalCommand.Result again = ExternalCommand.of("systemd-tmpfiles", "--root=" + destdir, "--create", conf.toString()).run();

        assertThat(again.exitCode()).as("second systemd-tmpfiles --create:\n%s", again.describe()).isZero();
        assertThat(Files.readString(config)).as("an edited configuration survives tmpfiles (and so upgrades and boots)")
                .isEqualTo("{\"policies\": \"/srv/policies\"}\n");
    }

    @Test
    void packagedConfigurationLoadsInTheDaemon() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-tmpfiles"), "systemd-tmpfiles is not installed");
        CommandLine daemon = RingwardenCommand.commandLine().getSubcommands().get("daemon");
        if (daemon == null || daemon.getCommandSpec().findOption("--config") == null) {
            abort("no `ringwarden daemon --config` in this build yet: the packaged configuration is checked for its fields only");
        }
        StagedInstall staged = StagedInstall.install(destdir, "/usr");
        ExternalCommand.of("systemd-tmpfiles", "--root=" + destdir, "--create", staged.underPrefix("lib/tmpfiles.d/ringwarden.conf").toString()).run();
        ObjectNode packaged = (ObjectNode) new ObjectMapper().readTree(staged.inRoot("/etc/ringwarden/ringwarden.json").toFile());
        // The same file with three changes that keep the test off the host: a test group for
        // ringwarden-admin (the daemon wants the group to exist), the audit trail on stdout
        // instead of /var/log, and the staging root's policy directory.
        String group = "rwtest-cfgadm";
        ExternalCommand.of("groupdel", group).run();
        assertThat(ExternalCommand.of("groupadd", "--system", group).run().exitCode()).as("groupadd " + group).isZero();
        try {
            packaged.put("adminGroup", group);
            packaged.putObject("audit").put("destination", "stdout");
            packaged.put("policies", staged.inRoot(packaged.path("policies").asText()).toString());
            Files.createDirectories(staged.inRoot("/etc/ringwarden/policies.d"));
            Path config = Files.writeString(destdir.resolve("ringwarden-test.json"), packaged.toString());
            Path socket = destdir.resolve("client.sock");
            List<String> argv = List.of(staged.launcher().toString(), "daemon", "--config", config.toString(),
                    "--socket", socket.toString(), "--admin-socket", destdir.resolve("admin.sock").toString());
            Path output = destdir.resolve("daemon.out");
            ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(output.toFile());
            pb.environment().putAll(staged.launcherEnvironment());
            Process p = pb.start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!Files.exists(socket) && p.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(socket).as("the daemon serves with the packaged configuration; its output:\n%s", Files.readString(output)).exists();
            } finally {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        } finally {
            ExternalCommand.of("groupdel", group).run();
        }
    }

    @Test
    void installWritesTheRingwardenGidIntoTheSysctlExampleOnceTheGroupExists() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-sysusers"), "systemd-sysusers is not installed");
        StagedInstall staged = StagedInstall.install(destdir, "/usr");
        Path example = staged.underPrefix("share/doc/ringwarden/examples/60-ringwarden.conf.example");
        assertThat(sysctls(example)).as("before the group exists the gid is a placeholder")
                .containsEntry("kernel.io_uring_group", "@RINGWARDEN_GID@");

        applySysusers(staged);
        StagedInstall.install(destdir, "/usr");

        String gid = entries(staged.inRoot("/etc/group")).get("ringwarden")[2];
        Map<String, String> settings = sysctls(example);
        System.out.println("sysctl example after install: " + settings);
        assertThat(settings).as("the example restricts ring creation to group ringwarden (gid %s)", gid)
                .containsEntry("kernel.io_uring_disabled", "1")
                .containsEntry("kernel.io_uring_group", gid)
                .hasSize(2);
    }

    private void applySysusers(StagedInstall staged) throws Exception {
        Files.createDirectories(staged.inRoot("/etc"));
        Path conf = staged.underPrefix("lib/sysusers.d/ringwarden.conf");
        ExternalCommand.Result r = ExternalCommand.of("systemd-sysusers", "--root=" + destdir, conf.toString()).run();
        assertThat(r.exitCode()).as("systemd-sysusers:\n%s", r.describe()).isZero();
    }

    /** name -> fields of a passwd/group style file. */
    private static Map<String, String[]> entries(Path file) throws Exception {
        return Files.readAllLines(file).stream().filter(l -> !l.isBlank())
                .map(l -> l.split(":", -1)).collect(Collectors.toMap(f -> f[0], f -> f));
    }

    /** key -> value of the active (uncommented) lines of a sysctl.d file. */
    private static Map<String, String> sysctls(Path file) throws Exception {
        List<String> active = Files.readAllLines(file).stream().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#") && !l.startsWith(";")).toList();
        return active.stream().map(l -> l.split("=", 2))
                .collect(Collectors.toMap(kv -> kv[0].strip(), kv -> kv[1].strip()));
    }
}
