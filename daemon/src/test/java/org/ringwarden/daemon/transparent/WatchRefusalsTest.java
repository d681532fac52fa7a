package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Refusal reports and complain mode end to end, with every piece real: a daemon process
 * ({@code ringwarden daemon}) writing its audit file, {@code ringwarden watch-refusals} in a
 * process of its own reading the kernel's tracepoints, and programs under
 * {@code ringwarden run} as uid 65534. One {@code FSYNC} refused under a policy without it is
 * one {@code sqe-refused} record naming {@code FSYNC}, the program and the policy; under the same
 * policy in complain mode (a policy extending it with {@code "mode": "complain"}) the same run
 * succeeds and one {@code sqe-complained} record reports it. The same for
 * {@code qemu-io --aio io_uring} (write, then flush), which exits at once when its flush fails
 * (so the report must name a process that is gone) and runs for milliseconds in complain mode
 * (so the watcher must trace it from its ring's first request).
 */
@Timeout(300)
class WatchRefusalsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path QEMU_IO = Path.of("/usr/bin/qemu-io");
    private static RunHarness h;
    private static Path dir;
    private static Process daemon;
    private static Process watch;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "tracing needs root");
        assumeTrue(Files.isExecutable(QEMU_IO), "qemu-io is needed (apt-get install qemu-utils; .ci/run installs it)");
        assumeTrue(Files.isDirectory(Path.of("/sys/kernel/tracing/events/io_uring"))
                || !Files.exists(Path.of("/sys/kernel/tracing/events")), "this kernel has no io_uring tracepoints");
        h = new RunHarness();
        dir = Files.createDirectories(h.dir.resolve("watch-refusals"));
        Path policies = Files.createDirectories(dir.resolve("policies"));
        Files.writeString(policies.resolve("qemu-strict.json"), """
                {
                  "name": "qemu-strict",
                  "description": "qemu block I/O without flushes",
                  "subjects": { "everyone": true },
                  "sqe": { "ops": ["READV", "WRITEV"], "flagsAllowed": ["ASYNC"] },
                  "limits": { "leasesPerUser": 16, "bufferBytesPerUser": "0 B" },
                  "transparent": { "enabled": true, "honour": ["CQSIZE", "CLAMP", "SUBMIT_ALL"],
                                   "maxSqEntries": 128, "maxCqEntries": 256 }
                }
                """);
        Files.writeString(policies.resolve("qemu-try.json"), """
                { "name": "qemu-try", "extends": ["qemu-strict"], "mode": "complain" }
                """);
        Files.writeString(dir.resolve("config.json"), """
                { "socket": { "path": "%s", "mode": "0666" },
                  "adminSocket": { "path": "%s" },
                  "audit": { "destination": "file", "file": "%s" } }
                """.formatted(dir.resolve("ringwarden.sock"), dir.resolve("admin.sock"), dir.resolve("audit.jsonl")));
        daemon = cli(List.of("daemon", "--config", dir.resolve("config.json").toString(), "--policies", policies.toString()),
                dir.resolve("daemon.log"));
        awaitOrFail("the daemon's sockets appear", daemon, dir.resolve("daemon.log"),
                () -> Files.exists(dir.resolve("admin.sock")) && Files.exists(dir.resolve("ringwarden.sock")));
        watch = cli(List.of("watch-refusals", "--admin-socket", dir.resolve("admin.sock").toString()), dir.resolve("watch.log"));
        awaitOrFail("watch-refusals traces, and the daemon answered it", watch, dir.resolve("watch.log"),
                () -> read(dir.resolve("watch.log")).contains("complain-mode rings"));
    }

    @AfterAll
    static void stop() throws Exception {
        for (Process p : new Process[] {watch, daemon}) {
            if (p != null) {
                p.destroy(); // SIGTERM: the watcher removes its tracefs instances
                p.waitFor();
            }
        }
        if (h != null) {
            h.close();
        }
    }

    private static Process cli(List<String> args, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), "org.ringwarden.daemon.Main"));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private interface Check {
        boolean holds() throws IOException;
    }

    private static void awaitOrFail(String what, Process p, Path log, Check c) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!c.holds()) {
            assertThat(p.isAlive()).as("%s: the process runs: %s", what, read(log)).isTrue();
            assertThat(System.nanoTime()).as("%s: %s", what, read(log)).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static List<JsonNode> audit(String event, Predicate<JsonNode> which) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        Path file = dir.resolve("audit.jsonl");
        if (!Files.exists(file)) {
            return out;
        }
        for (String line : Files.readAllLines(file)) {
            if (!line.isBlank()) {
                JsonNode r = JSON.readTree(line);
                if (r.get("event").asText().equals(event) && which.test(r)) {
                    out.add(r);
                }
            }
        }
        return out;
    }

    private static RunHarness.Result run(String policy, String... program) throws IOException {
        List<String> c = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        c.addAll(h.ringwardenRun(dir.resolve("ringwarden.sock"), policy));
        c.addAll(List.of(program));
        return RunHarness.execUntilExit(c, h.dir, 120);
    }

    private static RunHarness.Result qemuIo(String policy) throws IOException {
        Path image = dir.resolve(policy + ".img");
        Files.write(image, new byte[1 << 20]);
        Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("rw-rw-rw-"));
        return run(policy, QEMU_IO.toString(), "--aio", "io_uring", "-f", "raw", "-c", "write 0 4k", "-c", "flush",
                image.toString());
    }

    private static Predicate<JsonNode> fsyncOf(String policy, String exe) {
        return r -> r.get("detail").asText().contains(" FSYNC ") && r.get("policy").asText().equals(policy)
                && r.get("exe").asText().equals(exe);
    }

    @Test
    void oneRefusedFsyncIsOneRecordAndTheSameRunInComplainModeSucceedsAndIsReported() throws Exception {
        Path file = Files.writeString(dir.resolve("data"), "data");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        String probe = h.probe.toString();
        RunHarness.Result strict = run("qemu-strict", probe, "fsync", file.toString());
        assertThat(strict.out()).as("%s", strict).contains("fsync res=-13");
        awaitOrFail("the refused FSYNC is audited", watch, dir.resolve("watch.log"),
                () -> !audit("sqe-refused", fsyncOf("qemu-strict", probe)).isEmpty());

        RunHarness.Result tried = run("qemu-try", probe, "fsync", file.toString());
        assertThat(tried.exit()).as("complain mode: the same run succeeds: %s", tried).isZero();
        awaitOrFail("the FSYNC of the complain-mode run is reported", watch, dir.resolve("watch.log"),
                () -> !audit("sqe-complained", fsyncOf("qemu-try", probe)).isEmpty());

        // Both runs are over and reported: nothing more of them is coming.
        List<JsonNode> refused = audit("sqe-refused", fsyncOf("qemu-strict", probe));
        assertThat(refused).as("one refused request, one record: %s", refused).hasSize(1);
        JsonNode r = refused.getFirst();
        assertThat(r.get("uid").asInt()).isEqualTo(RunHarness.NOBODY);
        assertThat(r.get("code").asText()).isEqualTo("NOT_PERMITTED");
        assertThat(r.get("detail").asText()).contains("the policy does not allow FSYNC");

        List<JsonNode> complained = audit("sqe-complained", r2 -> r2.get("exe").asText().equals(probe));
        assertThat(complained).as("one FSYNC, one complaint: %s", complained).hasSize(1);
        JsonNode c = complained.getFirst();
        assertThat(c.get("policy").asText()).isEqualTo("qemu-try");
        assertThat(c.get("outcome").asText()).isEqualTo("complained");
        assertThat(c.get("detail").asText()).contains("the policy does not list FSYNC");
        assertThat(audit("sqe-refused", r2 -> r2.get("policy").asText().equals("qemu-try")))
                .as("complain mode refuses nothing").isEmpty();
    }

    @Test
    void qemuIoWhoseFlushIsRefusedIsNamedAndInComplainModeItsFlushIsReportedNotItsWrites() throws Exception {
        RunHarness.Result strict = qemuIo("qemu-strict");
        assertThat(strict.exit()).as("the flush fails without FSYNC: %s", strict).isNotZero();
        awaitOrFail("qemu-io's refused FSYNC is audited, though it exited at once", watch, dir.resolve("watch.log"),
                () -> !audit("sqe-refused", fsyncOf("qemu-strict", QEMU_IO.toString())).isEmpty());

        RunHarness.Result tried = qemuIo("qemu-try");
        assertThat(tried.exit()).as("complain mode: the same run succeeds: %s", tried).isZero();
        awaitOrFail("qemu-io's FSYNC in complain mode is reported", watch, dir.resolve("watch.log"),
                () -> !audit("sqe-complained", fsyncOf("qemu-try", QEMU_IO.toString())).isEmpty());
        assertThat(audit("sqe-complained", r -> r.get("exe").asText().equals(QEMU_IO.toString())))
                .as("WRITEV is listed: only FSYNC is reported")
                .allSatisfy(r -> assertThat(r.get("detail").asText()).contains(" FSYNC "));
    }
}
