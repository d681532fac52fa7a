package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What the audit log, {@code ringwarden leases} and {@code ringwarden status} say about programs
 * under {@code ringwarden run}: the program that trapped (its executable, pid and uid), not the
 * JVM of {@code ringwarden run}; and status's grants and refusals are the audit log's, over the
 * same run. A real daemon process ({@code ringwarden daemon}) with its real audit file, and the
 * real CLI.
 */
@Timeout(300)
class RunIdentityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static RunHarness h;
    private static Path dir;
    private static Process daemon;

    @BeforeAll
    static void start() throws Exception {
        h = new RunHarness();
        dir = Files.createDirectories(h.dir.resolve("real-daemon"));
        Path policies = Files.createDirectories(dir.resolve("policies"));
        for (var e : TransparentTestDaemon.POLICIES.entrySet()) {
            Files.createDirectories(policies.resolve(e.getKey()).getParent()); // drop-ins: NAME.d/
            Files.writeString(policies.resolve(e.getKey()), e.getValue());
        }
        Files.writeString(dir.resolve("config.json"), """
                { "socket": { "path": "%s", "mode": "0666" },
                  "adminSocket": { "path": "%s" },
                  "audit": { "destination": "file", "file": "%s" } }
                """.formatted(dir.resolve("ringwarden.sock"), dir.resolve("admin.sock"), dir.resolve("audit.jsonl")));
        daemon = new ProcessBuilder(java(), "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "org.ringwarden.daemon.Main",
                "daemon", "--config", dir.resolve("config.json").toString(), "--policies", policies.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("daemon.log").toFile()).start();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!Files.exists(dir.resolve("admin.sock")) || !Files.exists(dir.resolve("ringwarden.sock"))) {
            assertThat(daemon.isAlive()).as("the daemon runs: %s", log()).isTrue();
            assertThat(System.nanoTime()).as("the daemon's sockets appear: %s", log()).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (daemon != null) {
            daemon.destroy();
            daemon.waitFor();
        }
        if (h != null) {
            h.close();
        }
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String log() {
        try {
            return Files.readString(dir.resolve("daemon.log"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** {@code ringwarden ARGS --admin-socket A --json}, parsed. */
    private static JsonNode admin(String command) throws IOException {
        RunHarness.Result r = RunHarness.exec(List.of(java(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "org.ringwarden.daemon.Main", command, "--admin-socket",
                dir.resolve("admin.sock").toString(), "--json"), 120);
        assertThat(r.exit()).as("%s", r).isZero();
        return JSON.readTree(r.out());
    }

    private static List<JsonNode> audit() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("audit.jsonl"))) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    @Test
    void auditLeasesAndStatusNameTheProgramAndCountWhatTheAuditLogHolds() throws Exception {
        Path socket = dir.resolve("ringwarden.sock");
        // A ring held while leases is asked.
        try (RunHarness.Running run = h.start(socket, "fio", List.of(), h.probe.toString(), "hold")) {
            int pid = Integer.parseInt(run.awaitLine("^holding pid=(\\d+)$", 60).group(1));
            JsonNode lease = null;
            for (JsonNode l : admin("leases").get("leases")) {
                if (l.get("pid").asInt() == pid) {
                    lease = l;
                }
            }
            assertThat(lease).as("a lease of the program (pid %s): %s", pid, admin("leases")).isNotNull();
            assertThat(lease.get("uid").asInt()).isEqualTo(RunHarness.NOBODY);
            assertThat(lease.get("exe").asText()).as("the program, not the JVM").isEqualTo(h.probe.toString());
            run.writeLine("done");
            assertThat(run.awaitExit(60).exit()).isZero();
        }
        // More grants, a refused delivery (SQPOLL under a policy that refuses it), a refused attach.
        assertThat(RunHarness.execUntilExit(cmd(socket, "fio", h.probe.toString(), "setup", "8", "0"), h.dir, 120).exit())
                .isZero();
        assertThat(RunHarness.execUntilExit(cmd(socket, "fio", h.probe.toString(), "sqpoll"), h.dir, 120).out())
                .contains("sqpoll queue_init errno=1");
        assertThat(RunHarness.execUntilExit(cmd(socket, "ticketed", h.probe.toString(), "setup", "8", "0"), h.dir, 120)
                .exit()).isEqualTo(125);

        List<JsonNode> delivered = audit().stream().filter(r -> r.get("event").asText().equals("deliver")).toList();
        assertThat(delivered).as("%s", delivered).hasSizeGreaterThanOrEqualTo(2).allSatisfy(r -> {
            assertThat(r.get("exe").asText()).as("audited as the program: %s", r).isEqualTo(h.probe.toString());
            assertThat(r.get("uid").asInt()).isEqualTo(RunHarness.NOBODY);
            assertThat(r.get("detail").asText()).contains("pid " + r.get("pid").asInt() + " tid ");
        });

        // status and the audit log over the same run; the audit file is written behind the
        // decisions, so wait until it holds what status counted.
        long deadline = System.nanoTime() + 60_000_000_000L;
        Map<String, Long> fromAudit;
        long grantsFromAudit;
        JsonNode status;
        Map<String, Long> fromStatus;
        do {
            status = admin("status");
            fromStatus = new TreeMap<>();
            for (var e : status.get("refusals").properties()) {
                fromStatus.put(e.getKey(), e.getValue().asLong());
            }
            List<JsonNode> records = audit();
            fromAudit = new TreeMap<>(refusals(records));
            grantsFromAudit = records.stream().filter(r -> r.get("outcome").asText().equals("ok")
                    && (r.get("event").asText().equals("grant") || r.get("event").asText().equals("deliver")
                    && r.get("detail").asText().contains("transparent:"))).mapToLong(RunIdentityTest::weight).sum();
            if (fromAudit.equals(fromStatus) && grantsFromAudit == status.get("grants").asLong()) {
                break;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        assertThat(status.get("grants").asLong()).as("status grants = audited grants and transparent rings")
                .isEqualTo(grantsFromAudit).as("the held ring and the setup").isEqualTo(2);
        assertThat(fromStatus).as("status refusals = audited refusals, by code").isEqualTo(fromAudit)
                .containsKey("NOT_PERMITTED");
    }

    private static Map<String, Long> refusals(List<JsonNode> records) {
        Map<String, Long> m = new HashMap<>();
        for (JsonNode r : records) {
            if (r.get("outcome").asText().equals("refused")) {
                m.merge(r.get("code").asText(), weight(r), Long::sum);
            }
        }
        return m;
    }

    /** A record, or a summary of {@code more} more like it (the audit log's rate limit). */
    private static long weight(JsonNode r) {
        return 1 + (r.has("more") ? r.get("more").asLong() : 0);
    }

    private static List<String> cmd(Path socket, String policy, String... program) {
        List<String> c = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        c.addAll(h.ringwardenRun(socket, policy));
        c.addAll(List.of(program));
        return c;
    }
}
