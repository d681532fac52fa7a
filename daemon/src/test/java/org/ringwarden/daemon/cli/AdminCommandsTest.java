package org.ringwarden.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringSysctl;
import org.ringwarden.daemon.server.DaemonFixtureAccess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The admin commands of the CLI against a running daemon, and doctor against this host. */
@Timeout(60)
class AdminCommandsTest {
    record Run(int exit, String out, String err) {
    }

    private static synchronized Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = RingwardenCommand.commandLine().execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    @IoUringSysctl.RequiresRings
    void statusLeasesAndReloadTalkToTheAdminSocket() throws Exception {
        try (DaemonFixtureAccess d = DaemonFixtureAccess.start()) {
            String admin = d.adminSocket().toString();
            Run status = run("status", "--admin-socket", admin);
            assertThat(status.exit()).as("status exit; stderr %s", status.err()).isZero();
            assertThat(status.out()).as("status text").contains("policies:    2").contains("pinned:");

            Run json = run("status", "--admin-socket", admin, "--json");
            JsonNode n = new ObjectMapper().readTree(json.out());
            assertThat(n.get("type").asText()).as("status --json is the daemon's answer").isEqualTo("status");
            assertThat(n.get("policies").asInt()).as("policies").isEqualTo(2);

            Run leases = run("leases", "--admin-socket", admin);
            assertThat(leases.out().trim()).as("no leases").isEqualTo("no leases");

            Run reload = run("reload", "--admin-socket", admin);
            assertThat(reload.exit()).as("reload exit").isZero();
            assertThat(reload.out()).as("reload text").contains("reloaded: 2 policies in force");

            Files.writeString(d.policies().resolve("bad.json"), "{\"name\":\"bad\"");
            Run broken = run("reload", "--admin-socket", admin);
            assertThat(broken.exit()).as("a refused reload exits 1").isEqualTo(1);
            assertThat(broken.out()).as("names the broken file").contains("bad.json").contains("stay in force");
            Run brokenJson = run("reload", "--admin-socket", admin, "--json");
            assertThat(brokenJson.exit()).as("a refused reload exits 1 with --json too").isEqualTo(1);
            assertThat(new ObjectMapper().readTree(brokenJson.out()).get("ok").asBoolean()).as("ok").isFalse();
        }
    }

    @Test
    void aMissingDaemonIsAClearErrorWithItsOwnExitCode() throws Exception {
        for (String command : new String[] {"status", "leases", "reload"}) {
            Run r = run(command, "--admin-socket", "/tmp/no-such-ringwarden.sock");
            assertThat(r.exit()).as("%s: a daemon that is not there is not a refusal", command).isEqualTo(3);
            assertThat(r.err()).as("message").contains("cannot talk to the daemon at /tmp/no-such-ringwarden.sock");

            Run json = run(command, "--admin-socket", "/tmp/no-such-ringwarden.sock", "--json");
            assertThat(json.exit()).as("%s --json exit", command).isEqualTo(3);
            JsonNode n = new ObjectMapper().readTree(json.out());
            assertThat(n.get("type").asText()).as("shaped like the daemon's error answer: %s", json.out()).isEqualTo("error");
            assertThat(n.get("code").asText()).as("code").isEqualTo("UNREACHABLE");
            assertThat(n.get("socket").asText()).as("socket").isEqualTo("/tmp/no-such-ringwarden.sock");
            assertThat(n.get("message").asText()).as("message").contains("cannot talk to the daemon");
        }
    }

    @Test
    void anUnreadableConfigIsAUsageErrorAlsoInJson(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path config = Files.writeString(tmp.resolve("ringwarden.json"), "{\"limits\": {\"connectionsTotal\": \"10\"}}");
        Run r = run("status", "--config", config.toString(), "--json");
        assertThat(r.exit()).as("exit; stderr %s", r.err()).isEqualTo(2);
        JsonNode n = new ObjectMapper().readTree(r.out());
        assertThat(n.get("code").asText()).as("code").isEqualTo("CONFIG");
        assertThat(n.get("message").asText()).as("names the file and field").contains(config + ":1:33")
                .contains("limits.connectionsTotal");
    }

    @Test
    void theManPagesListTheExitCodes() {
        for (String command : new String[] {"status", "leases", "reload"}) {
            String page = RoffManPage.render(RingwardenCommand.commandLine().getSubcommands().get(command).getCommandSpec(), "test");
            assertThat(page).as("ringwarden-%s(1)", command).contains(".SH EXIT STATUS")
                    .contains("no daemon answered on the admin socket").contains("the daemon refused");
        }
    }

    @Test
    void doctorReportsEveryCheckAsJson() throws Exception {
        Run r = run("doctor", "--json");
        JsonNode n = new ObjectMapper().readTree(r.out());
        assertThat(n.isArray()).as("a list of findings").isTrue();
        assertThat(n.findValuesAsText("check")).as("checks").contains("kernel.io_uring_disabled",
                "io_uring restrictions", "seccomp user notification", "SO_PEERPIDFD", "RLIMIT_MEMLOCK", "capabilities");
        if (IoUringSysctl.whyNoRootRings() == null) {
            // This CI kernel (6.18) runs the daemon: nothing may fail here.
            assertThat(r.exit()).as("doctor on this host; output %s", r.out()).isZero();
        } else {
            // kernel.io_uring_disabled=2: the daemon cannot run here, and doctor says so.
            assertThat(r.exit()).as("doctor under io_uring_disabled=2; output %s", r.out()).isEqualTo(1);
            assertThat(n.findValues("status").stream().map(JsonNode::asText)).as("a failed check").contains("FAIL");
        }
        for (JsonNode f : n) {
            if (!"OK".equals(f.get("status").asText())) {
                assertThat(f.get("fix").asText()).as("a problem comes with a fix: %s", f).isNotBlank();
            }
        }
        assertThat(Path.of("/proc/sys/kernel/io_uring_disabled")).as("6.6+ kernel").exists();
    }
}
