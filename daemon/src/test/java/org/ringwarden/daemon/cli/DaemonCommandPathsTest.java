package org.ringwarden.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.daemon.config.AuditSettings;
import org.ringwarden.daemon.config.DaemonConfig;

import picocli.CommandLine;

/**
 * Where {@code ringwarden daemon} puts what it creates: beside {@code --socket} when it is given
 * without {@code --config} (nothing under /run/ringwarden or /var/log), as the file says with
 * {@code --config}, and each option over either.
 */
class DaemonCommandPathsTest {
    private static DaemonConfig configFor(String... args) throws Exception {
        DaemonCommand d = new DaemonCommand();
        new CommandLine(d).parseArgs(args);
        return d.configuration(Map.of());
    }

    @Test
    void aForegroundDaemonWithSocketKeepsItsAdminSocketAndAuditBesideIt() throws Exception {
        DaemonConfig c = configFor("--socket", "/tmp/rw.sock");
        assertThat(c.socket().path()).as("client socket").isEqualTo(Path.of("/tmp/rw.sock"));
        assertThat(c.adminSocket().path()).as("admin socket beside it, named after it").isEqualTo(Path.of("/tmp/rw-admin.sock"));
        assertThat(c.audit()).as("audit beside it, named after it")
                .isEqualTo(new AuditSettings(AuditSettings.Destination.FILE, Path.of("/tmp/rw-audit.jsonl")));
    }

    @Test
    void theOptionsSayOtherwise() throws Exception {
        DaemonConfig c = configFor("--socket", "/tmp/rw.sock", "--admin-socket", "/tmp/elsewhere/a.sock", "--audit", "stdout");
        assertThat(c.adminSocket().path()).as("--admin-socket").isEqualTo(Path.of("/tmp/elsewhere/a.sock"));
        assertThat(c.audit().destination()).as("--audit stdout").isEqualTo(AuditSettings.Destination.STDOUT);
        assertThat(configFor("--audit", "/var/tmp/a.jsonl").audit().file()).as("--audit FILE")
                .isEqualTo(Path.of("/var/tmp/a.jsonl"));
        assertThatThrownBy(() -> configFor("--audit", "relative.jsonl")).as("a relative audit file")
                .hasMessageContaining("absolute");
    }

    @Test
    void withoutSocketTheInstalledDefaults() throws Exception {
        DaemonConfig c = configFor();
        assertThat(c.adminSocket().path()).as("admin socket").isEqualTo(Path.of("/run/ringwarden/admin.sock"));
        assertThat(c.audit()).as("audit").isEqualTo(AuditSettings.DEFAULT);
    }

    @Test
    void withConfigTheFileDecidesAndSocketOverridesOnlyTheSocket(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("ringwarden.json"), "{\"adminGroup\": \"adm\"}");
        DaemonConfig c = configFor("--config", file.toString(), "--socket", "/tmp/rw.sock");
        assertThat(c.socket().path()).as("--socket").isEqualTo(Path.of("/tmp/rw.sock"));
        assertThat(c.adminSocket().path()).as("the file's (default) admin socket").isEqualTo(Path.of("/run/ringwarden/admin.sock"));
        assertThat(c.audit()).as("the file's (default) audit").isEqualTo(AuditSettings.DEFAULT);
    }
}
