package org.ringwarden.daemon.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The installed units, checked offline by systemd's own tools in the staging root (PID 1 is
 * not systemd here, so the units cannot be started; the daemon's tests cover socket
 * activation and sd_notify for real).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class InstalledUnitsTest {
    private static final double MAX_EXPOSURE = 2.0;
    private static final List<String> UNITS = List.of("ringwarden.service", "ringwarden.socket", "ringwarden-admin.socket",
            "ringwarden-oci-agent.socket", "ringwarden-refusals.service");

    @TempDir
    Path destdir;
    StagedInstall staged;

    @BeforeEach
    void install() throws Exception {
        staged = StagedInstall.install(destdir, "/usr");
    }

    @Test
    void installedUnitsPassSystemdAnalyzeVerify() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-analyze"), "systemd-analyze is not installed");
        provideWhatEveryRootHas();

        ExternalCommand.Result r = verify(UNITS);

        assertThat(r.exitCode()).as("systemd-analyze verify of %s:\n%s", UNITS, r.describe()).isZero();
        assertThat(r.stderr() + r.stdout()).as("no warnings from systemd-analyze verify").isBlank();
    }

    @Test
    void verifyInThisSetupCatchesABrokenUnit() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-analyze"), "systemd-analyze is not installed");
        provideWhatEveryRootHas();
        String service = Files.readString(staged.unit("ringwarden.service"));
        Files.writeString(staged.unit("ringwarden-broken.service"),
                service.replace("ExecStart=/usr/bin/ringwarden daemon", "ExecStart=/usr/bin/ringwarden-missing daemon"));

        ExternalCommand.Result r = verify(List.of("ringwarden-broken.service"));

        assertThat(r.exitCode()).as("a unit whose ExecStart does not exist must fail verify:\n%s", r.describe()).isNotZero();
        assertThat(r.stderr()).as("verify's reason").contains("ringwarden-missing");
    }

    @Test
    void serviceExposureIsAtMostTwo() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-analyze"), "systemd-analyze is not installed");
        for (String unit : List.of("ringwarden.service", "ringwarden-refusals.service")) {
            ExternalCommand.Result r = ExternalCommand.of("systemd-analyze", "security", "--offline=yes", "--root=" + destdir,
                    "--no-pager", unit).withEnvironment(Map.of("SYSTEMD_COLORS", "0")).run();

            Matcher m = Pattern.compile("Overall exposure level for " + Pattern.quote(unit) + ": ([0-9.]+) (\\S+)").matcher(r.stdout());
            assertThat(m.find()).as("an overall exposure in:\n%s", r.describe()).isTrue();
            double exposure = Double.parseDouble(m.group(1));
            System.out.printf("systemd-analyze security --offline: %s exposure %.1f %s%n", unit, exposure, m.group(2));
            assertThat(exposure).as("exposure of %s (2.0 or lower is OK or better)", unit).isLessThanOrEqualTo(MAX_EXPOSURE);
        }
    }

    @Test
    void serviceHasOnlyCapSetuidAndNoWayToGainAnother() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-analyze"), "systemd-analyze is not installed");
        ExternalCommand.Result r = ExternalCommand.of("systemd-analyze", "security", "--offline=yes", "--root=" + destdir,
                "--json=short", "--no-pager", "ringwarden.service").run();
        assertThat(r.exitCode()).as("security --json:\n%s", r.describe()).isZero();
        JsonNode checks = new ObjectMapper().readTree(r.stdout());

        for (String name : List.of("CapabilityBoundingSet=~CAP_IPC_LOCK", "CapabilityBoundingSet=~CAP_SYS_PTRACE",
                "CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)", "CapabilityBoundingSet=~CAP_SYS_ADMIN",
                "NoNewPrivileges=", "User=/DynamicUser=", "ProtectSystem=", "ProtectHome=",
                "PrivateTmp=", "RestrictAddressFamilies=~AF_(INET|INET6)",
                "SystemCallFilter=~@debug", "NotifyAccess=")) {
            JsonNode check = find(checks, name);
            assertThat(check).as("security check %s in the report", name).isNotNull();
            assertThat(check.path("set").asBoolean()).as("%s is satisfied (%s)", name, check.path("description").asText()).isTrue();
        }
    }

    @Test
    void serviceIsANotifyingDaemonAsUserRingwardenWithPinnedMemoryBounded() throws Exception {
        UnitFile service = UnitFile.read(staged.unit("ringwarden.service"));

        assertThat(service.last("Service", "Type")).as("Type").isEqualTo("notify");
        assertThat(service.last("Service", "NotifyAccess")).as("NotifyAccess").isEqualTo("main");
        assertThat(service.last("Service", "ExecStart")).as("ExecStart").isEqualTo("/usr/bin/ringwarden daemon --config /etc/ringwarden/ringwarden.json");
        assertThat(service.last("Service", "ExecReload")).as("ExecReload sends SIGHUP to the JVM").isEqualTo("kill -HUP $MAINPID");
        assertThat(service.last("Service", "User")).as("User").isEqualTo("ringwarden");
        // CAP_SETUID: each ring is made under its client's accounting uid (docs/security.md); with
        // CAP_SETGID, a container caller's ids as file-system ids for /proc/TID/mem (docs/containers.md).
        assertThat(service.all("Service", "CapabilityBoundingSet"))
                .as("CAP_SETUID and CAP_SETGID only (above all no CAP_IPC_LOCK, no CAP_SYS_PTRACE)")
                .containsExactly("CAP_SETUID CAP_SETGID");
        assertThat(service.all("Service", "AmbientCapabilities")).as("CAP_SETUID and CAP_SETGID only")
                .containsExactly("CAP_SETUID CAP_SETGID");
        assertThat(service.last("Service", "LimitMEMLOCK")).as("LimitMEMLOCK caps each user's pinned ring and buffer memory").isEqualTo("64M");
        assertThat(service.last("Service", "MemoryMax")).as("MemoryMax").isNotNull();
        assertThat(service.all("Service", "MemoryDenyWriteExecute")).as("MemoryDenyWriteExecute would break the JIT").isEmpty();
        assertThat(service.all("Service", "PrivateUsers")).as("PrivateUsers would map peer uids to nobody").isEmpty();
        assertThat(service.all("Service", "ProtectProc")).as("ProtectProc=invisible would hide peers' /proc/PID/status").isEmpty();
        assertThat(service.last("Service", "RestrictAddressFamilies")).as("Unix sockets only").isEqualTo("AF_UNIX");
        assertThat(service.last("Service", "ProtectSystem")).as("the whole tree read-only").isEqualTo("strict");
        assertThat(service.last("Service", "LogsDirectory")).as("the audit trail's directory, the only writable one").isEqualTo("ringwarden");
        assertThat(service.all("Service", "RuntimeDirectory")).as("/run/ringwarden belongs to the socket units").isEmpty();
        assertThat(service.all("Service", "Sockets")).as("both sockets handed over")
                .containsExactly("ringwarden.socket ringwarden-admin.socket");
    }

    @Test
    void socketsAreNamedForTheDaemonAndTheAdminSocketIsClosed() throws Exception {
        UnitFile client = UnitFile.read(staged.unit("ringwarden.socket"));
        UnitFile admin = UnitFile.read(staged.unit("ringwarden-admin.socket"));

        assertThat(client.last("Socket", "ListenStream")).as("client socket path").isEqualTo("/run/ringwarden/ringwarden.sock");
        assertThat(client.last("Socket", "FileDescriptorName")).as("client FileDescriptorName").isEqualTo("client");
        assertThat(client.last("Socket", "SocketMode")).as("client socket mode").isEqualTo("0666");
        assertThat(client.last("Socket", "Service")).as("client socket activates").isEqualTo("ringwarden.service");

        assertThat(admin.last("Socket", "ListenStream")).as("admin socket path").isEqualTo("/run/ringwarden/admin.sock");
        assertThat(admin.last("Socket", "FileDescriptorName")).as("admin FileDescriptorName").isEqualTo("admin");
        assertThat(admin.last("Socket", "SocketMode")).as("admin socket mode").isEqualTo("0660");
        assertThat(admin.last("Socket", "SocketGroup")).as("admin socket group").isEqualTo("ringwarden-admin");
        assertThat(admin.last("Socket", "Service")).as("admin socket activates").isEqualTo("ringwarden.service");
    }

    private ExternalCommand.Result verify(List<String> units) throws Exception {
        List<String> argv = new ArrayList<>(List.of("systemd-analyze", "verify", "--man=no", "--recursive-errors=no", "--root=" + destdir));
        argv.addAll(units);
        return new ExternalCommand(argv, Map.of("SYSTEMD_COLORS", "0"), null, java.time.Duration.ofMinutes(1)).run();
    }

    /**
     * The pieces of a real root that our units lean on and a staging root lacks: systemd's
     * standard targets (sysinit.target, sockets.target, multi-user.target...) and kill(1),
     * which ExecReload names. Copied from the host, as a target system would have them.
     */
    private void provideWhatEveryRootHas() throws Exception {
        Path unitDir = staged.underPrefix("lib/systemd/system");
        try (Stream<Path> targets = Files.list(Path.of("/usr/lib/systemd/system"))) {
            for (Path t : targets.filter(p -> p.getFileName().toString().endsWith(".target") && Files.isRegularFile(p)).toList()) {
                Path to = unitDir.resolve(t.getFileName());
                if (!Files.exists(to)) {
                    Files.copy(t, to);
                }
            }
        }
        Path kill = Stream.of("/usr/bin/kill", "/bin/kill").map(Path::of).filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> new AssertionError("no kill(1) on this host"));
        Files.copy(kill, staged.underPrefix("bin/kill"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
    }

    private static JsonNode find(JsonNode checks, String name) {
        for (JsonNode c : checks) {
            if (name.equals(c.path("name").asText())) {
                return c;
            }
        }
        return null;
    }
}
