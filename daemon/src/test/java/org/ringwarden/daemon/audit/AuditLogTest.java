package org.ringwarden.daemon.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.client.protocol.ErrorCode;
import org.ringwarden.daemon.config.AuditSettings;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

@Timeout(10)
class AuditLogTest {
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
}
