package org.ringwarden.daemon.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.daemon.config.AuditSettings;
import org.ringwarden.protocol.ErrorCode;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

@Timeout(10)
class AuditLogTest {
    @Test
    void anAuditFileThatCannotBeOpenedIsNamedWithItsErrnoAndWhatToDo(@TempDir Path dir) throws Exception {
        // Root passes every permission check; this thread drops its capabilities (only its own
        // effective set), so it meets the directory's mode as any user would.
        Path locked = Files.createDirectory(dir.resolve("locked"));
        Files.setPosixFilePermissions(locked, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setOwner(locked, locked.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
        Path file = locked.resolve("audit.jsonl");
        java.util.concurrent.CompletableFuture<Throwable> failure = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                org.ringwarden.linux.ThreadCredentials.setEffectiveCapabilities(0);
                AuditLog.configure(new AuditSettings(AuditSettings.Destination.FILE, file));
                failure.complete(null);
            } catch (Throwable t) {
                failure.complete(t);
            }
        }).join();
        Throwable t = failure.get();
        assertThat(t).as("configure fails").isInstanceOf(java.io.IOException.class);
        assertThat(t.getMessage()).as("the file, the errno, and what to do")
                .startsWith("cannot open the audit file " + file + ": EACCES (Permission denied)")
                .contains("--audit FILE or --audit stdout").contains("user ringwarden")
                .doesNotContain("AuditSettings[").doesNotContain("Logback's status");
    }

    @Test
    void aRecordIsOneJsonLineInItsOwnFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/audit.jsonl");
        AuditLog.configure(new AuditSettings(AuditSettings.Destination.FILE, file));
        new AuditLog().record(new AuditRecord(Instant.parse("2026-11-29T17:00:00Z"), "refuse", 42, 1000, 100,
                "/usr/bin/app", "reader", null, "refused", ErrorCode.NOT_PERMITTED, "line one\nline two"));
        AuditLog.flush();
        var lines = Files.readAllLines(file);
        assertThat(lines).as("exactly one line per record, newlines escaped").hasSize(1);
        JsonNode n = new ObjectMapper().readTree(lines.get(0));
        assertThat(n.get("time").asText()).as("time").isEqualTo("2026-11-29T17:00:00Z");
        assertThat(n.get("event").asText()).as("event").isEqualTo("refuse");
        assertThat(n.get("pid").asInt()).as("pid").isEqualTo(42);
        assertThat(n.get("uid").asInt()).as("uid").isEqualTo(1000);
        assertThat(n.get("gid").asInt()).as("gid").isEqualTo(100);
        assertThat(n.get("exe").asText()).as("exe").isEqualTo("/usr/bin/app");
        assertThat(n.get("policy").asText()).as("policy").isEqualTo("reader");
        assertThat(n.has("lease")).as("absent lease left out").isFalse();
        assertThat(n.get("outcome").asText()).as("outcome").isEqualTo("refused");
        assertThat(n.get("code").asText()).as("code").isEqualTo("NOT_PERMITTED");
    }

    @Test
    void aRecordsLineIsWhatDatabindMakesOfItsFieldsInOrder() throws Exception {
        // toJson streams the fields; the line must stay what a map of them serialised to before:
        // same order, same escaping (quotes, backslashes, control and non-ASCII characters).
        String nasty = "q\"b\\s\u0001\t\u2028é🙂</script>";
        AuditRecord full = new AuditRecord(Instant.parse("2026-11-29T17:00:00.123456789Z"), "grant", 42, 0, 7, nasty,
                "reader", "abc", "ok", ErrorCode.QUOTA_EXCEEDED, nasty);
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("time", "2026-11-29T17:00:00.123456789Z");
        m.put("event", "grant");
        m.put("pid", 42);
        m.put("uid", 0);
        m.put("gid", 7);
        m.put("exe", nasty);
        m.put("policy", "reader");
        m.put("lease", "abc");
        m.put("outcome", "ok");
        m.put("code", "QUOTA_EXCEEDED");
        m.put("detail", nasty);
        assertThat(AuditLog.toJson(full)).as("every field").isEqualTo(new ObjectMapper().writeValueAsString(m));
        AuditRecord sparse = new AuditRecord(Instant.EPOCH, "detach", 0, -1, -1, null, null, null, "ok", null, null);
        assertThat(AuditLog.toJson(sparse)).as("absent fields left out")
                .isEqualTo("{\"time\":\"1970-01-01T00:00:00Z\",\"event\":\"detach\",\"outcome\":\"ok\"}");
    }

    @Test
    void recordsFromManyThreadsAreAllWrittenInEachThreadsOrderByFlush(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("audit.jsonl");
        AuditLog.configure(new AuditSettings(AuditSettings.Destination.FILE, file));
        AuditLog log = new AuditLog();
        int threads = 4;
        int each = 5_000; // more than one batch per thread, fewer than the queue holds in all
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts[t] = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < each; i++) {
                    log.record(new AuditRecord(Instant.EPOCH, "grant", 1, 0, 0, null, "p" + id, null, "ok", null,
                            Integer.toString(i)));
                }
            });
        }
        for (Thread t : ts) {
            t.join();
        }
        AuditLog.flush();
        var lines = Files.readAllLines(file);
        assertThat(lines).as("every record written once flush returns, none dropped").hasSize(threads * each);
        ObjectMapper json = new ObjectMapper();
        int[] next = new int[threads];
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            int id = Integer.parseInt(n.get("policy").asText().substring(1));
            assertThat(n.get("detail").asText()).as("thread %d's records in its order", id)
                    .isEqualTo(Integer.toString(next[id]++));
        }
    }

    private static AuditRecord grant(int n) {
        return new AuditRecord(Instant.EPOCH, "grant", 1, 0, 0, null, "p", null, "ok", null, String.format("%06d", n));
    }

    @Test
    void theFileAndItsRotatedFilesAreOwnerOnlyWhateverTheUmask(@TempDir Path dir) throws Exception {
        // What this JVM's umask makes of a plain new file (022: rw-r--r--).
        String plain = PosixFilePermissions.toString(Files.getPosixFilePermissions(Files.createFile(dir.resolve("probe"))));
        Path file = dir.resolve("audit.jsonl");
        AuditLog.configure(new AuditSettings(AuditSettings.Destination.FILE, file, 4096, 2, null));
        AuditLog log = new AuditLog();
        for (int i = 0; i < 100; i++) { // ~3 files' worth: the live file was created again by rotation
            log.record(grant(i));
        }
        AuditLog.flush();
        for (Path f : List.of(file, dir.resolve("audit.jsonl.1"), dir.resolve("audit.jsonl.2"))) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
                    .as("%s's mode (a plain new file here is %s)", f.getFileName(), plain).isEqualTo("rw-------");
        }
    }

    @Test
    void anExistingFileAndRotatedFilesAreClosedToOthersAndAGroupMayRead(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("audit.jsonl"), "{\"event\":\"old\"}\n");
        Path rotated = Files.writeString(dir.resolve("audit.jsonl.1"), "{\"event\":\"older\"}\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(rotated, PosixFilePermissions.fromString("rw-rw-rw-"));
        int gid = 65534; // a group this process is not in (root may give files to any group)
        AuditLog.configure(new AuditSettings(AuditSettings.Destination.FILE, file, 4096, 2, Integer.toString(gid)));
        new AuditLog().record(grant(1));
        AuditLog.flush();
        for (Path f : List.of(file, rotated)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).as("%s: group may read", f.getFileName())
                    .isEqualTo("rw-r-----");
            assertThat(Files.getAttribute(f, "unix:gid")).as("%s's group", f.getFileName()).isEqualTo(gid);
        }
        assertThat(Files.readAllLines(file)).as("appended to, not replaced").hasSize(2).first().asString().contains("old");
        assertThatThrownBy(() -> AuditLog.configure(new AuditSettings(AuditSettings.Destination.FILE,
                dir.resolve("other.jsonl"), 4096, 2, "no-such-group-rw"))).as("unknown group")
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("audit.group");
    }

    @Test
    void theFileRotatesAtItsCapAndKeepsTheNewestFiles(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("audit.jsonl");
        int cap = 4096;
        AuditLog.configure(new AuditSettings(AuditSettings.Destination.FILE, file, cap, 2, null));
        AuditLog log = new AuditLog();
        int n = 300; // about nine files' worth
        for (int i = 0; i < n; i++) {
            log.record(grant(i));
        }
        AuditLog.flush();
        int line = AuditLog.toJson(grant(0)).length() + 1;
        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString()).sorted().toList()).as("the live file and two rotated")
                    .containsExactly("audit.jsonl", "audit.jsonl.1", "audit.jsonl.2");
        }
        for (Path f : List.of(dir.resolve("audit.jsonl.2"), dir.resolve("audit.jsonl.1"))) {
            assertThat(Files.size(f)).as("%s: rotated once it reached the cap, with the record that reached it",
                    f.getFileName()).isBetween((long) cap, (long) cap + line - 1);
        }
        assertThat(Files.size(file)).as("the live file is below the cap plus a record").isLessThan(cap + line);
        List<String> kept = new java.util.ArrayList<>();
        for (String name : List.of("audit.jsonl.2", "audit.jsonl.1", "audit.jsonl")) {
            kept.addAll(Files.readAllLines(dir.resolve(name)));
        }
        ObjectMapper json = new ObjectMapper();
        int first = n - kept.size();
        for (int i = 0; i < kept.size(); i++) {
            assertThat(json.readTree(kept.get(i)).get("detail").asText()).as("oldest to newest, none missing: line %d", i)
                    .isEqualTo(String.format("%06d", first + i));
        }
    }

    private static AuditRecord refused(int pid, String event, ErrorCode code, String detail) {
        return new AuditRecord(Instant.EPOCH, event, pid, 1000, 1000, "/usr/bin/app", "reader", null, "refused", code,
                detail);
    }

    /** An audit log to {@code dir/audit.jsonl} through its own writer, whose throttles' clock the test moves. */
    private record Clocked(Path file, AtomicLong nanos, AuditWriter writer, AuditLog log) {
        static Clocked in(Path dir) throws java.io.IOException {
            Path file = dir.resolve("audit.jsonl");
            AuditLog.configure(new AuditSettings(AuditSettings.Destination.FILE, file));
            AtomicLong nanos = new AtomicLong();
            AuditWriter writer = AuditLog.writer(nanos::get);
            return new Clocked(file, nanos, writer, new AuditLog(writer));
        }
    }

    private static List<JsonNode> lines(Path file) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(json.readTree(line));
        }
        return out;
    }

    @Test
    void aFloodOfRefusedCallsFromOneProcessIsAFewRecordsAndASummaryWithTheCount(@TempDir Path dir) throws Exception {
        Clocked c = Clocked.in(dir);
        for (int i = 0; i < 10_000; i++) { // all within one second of the throttle's clock
            c.log.record(refused(4242, "deliver-refused", ErrorCode.NOT_PERMITTED,
                    "tid " + i + ": io_uring_setup without a ticket: EPERM"));
        }
        c.nanos.addAndGet(AuditThrottle.WINDOW_NANOS);
        c.log.record(refused(4242, "deliver-refused", ErrorCode.NOT_PERMITTED, "the next second"));
        c.writer.flush();
        List<JsonNode> records = lines(c.file);
        assertThat(records).extracting(n -> n.get("detail").asText()).as("five, the summary, then the next second's first")
                .hasSize(AuditThrottle.PER_WINDOW + 2)
                .startsWith("tid 0: io_uring_setup without a ticket: EPERM")
                .contains("9995 more like this in the last second; the last: tid 9999: io_uring_setup without a ticket: EPERM")
                .endsWith("the next second");
        JsonNode summary = records.get(AuditThrottle.PER_WINDOW);
        assertThat(summary.get("more").asLong()).as("the count, for machines").isEqualTo(9_995);
        assertThat(List.of(summary.get("event").asText(), summary.get("pid").asInt(), summary.get("code").asText()))
                .as("the summary names what it counts").containsExactly("deliver-refused", 4242, "NOT_PERMITTED");
    }

    @Test
    void grantsAndRefusedAcquiresAreNeverLeftOutEvenInAFlood(@TempDir Path dir) throws Exception {
        Clocked c = Clocked.in(dir);
        int n = 5_000;
        for (int i = 0; i < n; i++) { // one process, one instant of the throttle's clock
            c.log.record(refused(77, "deliver-refused", ErrorCode.NOT_PERMITTED, "trapped"));
            c.log.record(new AuditRecord(Instant.EPOCH, "grant", 77, 1000, 1000, null, "reader", "lease-" + i, "ok", null,
                    null));
            c.log.record(refused(77, "acquire", ErrorCode.QUOTA_EXCEEDED, "acquire " + i));
            c.log.record(refused(77, "acquire", ErrorCode.INTERNAL, "internal " + i));
        }
        c.writer.flush();
        List<JsonNode> records = lines(c.file);
        assertThat(records).filteredOn(r -> r.get("event").asText().equals("grant")).as("every grant").hasSize(n);
        assertThat(records).filteredOn(r -> r.get("event").asText().equals("acquire"))
                .as("every refused acquire, whatever its code").hasSize(2 * n)
                .noneMatch(r -> r.has("more"));
        assertThat(records).filteredOn(r -> r.get("event").asText().equals("deliver-refused"))
                .as("the trapped calls: limited, and counted").hasSize(AuditThrottle.PER_WINDOW + 1)
                .last().extracting(r -> r.get("more").asLong()).isEqualTo((long) n - AuditThrottle.PER_WINDOW);
    }

    @Test
    void internalRefusalsAndFailedOpensReachTheOperationalLogRateLimited(@TempDir Path dir) throws Exception {
        AuditLog.configure(new AuditSettings(AuditSettings.Destination.FILE, dir.resolve("audit.jsonl")));
        ch.qos.logback.classic.Logger ops = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(AuditLog.class);
        ListAppender<ILoggingEvent> seen = new ListAppender<>();
        seen.start();
        ops.addAppender(seen);
        try {
            AuditLog log = new AuditLog(); // the daemon's own
            log.record(refused(5150, "acquire", ErrorCode.INTERNAL, "acquire failed: java.lang.IllegalStateException: x"));
            log.record(refused(5150, "acquire", ErrorCode.BUSY,
                    "policy reader: opening a policy file data (/srv/data) failed: openat2: EMFILE"));
            log.record(refused(5150, "acquire", ErrorCode.NOT_PERMITTED, "policy secret does not exist"));
            AuditLog.flush();
            assertThat(seen.list).filteredOn(e -> e.getFormattedMessage().contains("\"pid\":5150"))
                    .as("the INTERNAL refusal and the failed open, as warnings; not the plain refusal")
                    .extracting(e -> e.getLevel().toString(), e -> e.getFormattedMessage().contains("EMFILE"))
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("WARN", false),
                            org.assertj.core.groups.Tuple.tuple("WARN", true));

            seen.list.clear();
            Clocked c = Clocked.in(dir.resolve("limited"));
            for (int i = 0; i < 1_000; i++) {
                c.log.record(refused(5151, "acquire", ErrorCode.INTERNAL, "internal " + i));
            }
            c.writer.flush();
            assertThat(lines(c.file)).as("the audit trail has every refused acquire").hasSize(1_000);
            assertThat(seen.list).filteredOn(e -> e.getFormattedMessage().contains("\"pid\":5151"))
                    .as("a few, then one summary with the count").hasSize(AuditThrottle.PER_WINDOW + 1)
                    .last().extracting(ILoggingEvent::getFormattedMessage).asString()
                    .contains("\"more\":995").contains("acquire refused (INTERNAL)");
        } finally {
            ops.detachAppender(seen);
        }
    }
}
