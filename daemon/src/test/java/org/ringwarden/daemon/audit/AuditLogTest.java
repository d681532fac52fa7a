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
}
