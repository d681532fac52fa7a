package org.ringwarden.daemon.oci;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.config.AuditSettings;
import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.daemon.grant.AuditEvent;
import org.ringwarden.daemon.grant.DaemonLimits;
import org.ringwarden.daemon.server.Daemon;
import org.ringwarden.daemon.server.GrantBroker;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.policy.PolicyStore;
import org.ringwarden.policy.SubjectResolver;

/**
 * A real daemon in this JVM serving an OCI agent socket, with policies for containers whose
 * ids start with {@code rw-}: {@code fio-ctr} (fio's opcodes, SQPOLL refused), {@code nop-ctr}
 * (NOP only), {@code other} (a policy those containers are not subjects of), and {@code any-ctr}
 * (every container). The grant
 * side's audit events are kept; the agent's records go to {@code audit.jsonl}.
 */
final class ContainerTestDaemon implements AutoCloseable {
    static final Map<String, String> POLICIES = Map.of(
            "fio-ctr.json", policy("fio-ctr", "{ \"id\": \"rw-*\" }",
                    "\"NOP\", \"READ\", \"WRITE\", \"READV\", \"WRITEV\", \"READ_FIXED\", \"WRITE_FIXED\", \"FSYNC\","
                            + " \"FADVISE\", \"ASYNC_CANCEL\""),
            "nop-ctr.json", policy("nop-ctr", "{ \"id\": \"rw-*\" }", "\"NOP\""),
            "other.json", policy("other", "{ \"id\": \"someone-else\" }", "\"NOP\", \"READ\""),
            // Any container at all (podman's ids are random): for PodmanTest only.
            "any-ctr.json", policy("any-ctr", "{ \"id\": \"*\" }", "\"NOP\", \"READ\", \"READV\""));

    private static String policy(String name, String match, String ops) {
        return """
                {
                  "name": "%s",
                  "description": "container test policy %s",
                  "subjects": { "containers": [ %s ] },
                  "sqe": { "ops": [%s], "flagsAllowed": ["FIXED_FILE", "IO_LINK", "IO_DRAIN", "ASYNC"] },
                  "register": { "ops": ["PROBE", "FILES", "UNREGISTER_FILES"], "acknowledge": ["FILES", "UNREGISTER_FILES"] },
                  "limits": { "leasesPerUser": 64, "bufferBytesPerUser": "0 B" },
                  "transparent": { "enabled": true,
                    "honour": ["IOPOLL", "CQSIZE", "CLAMP", "SUBMIT_ALL", "COOP_TASKRUN", "TASKRUN_FLAG", "NO_SQARRAY"],
                    "drop": ["SINGLE_ISSUER", "DEFER_TASKRUN"], "refuse": ["SQPOLL", "SQ_AFF"],
                    "maxSqEntries": 4096, "maxCqEntries": 8192 }
                }
                """.formatted(name, name, match, ops);
    }

    final Path dir;
    final Path agentSocket;
    final Path auditFile;
    final ConcurrentLinkedQueue<AuditEvent> audit = new ConcurrentLinkedQueue<>();
    private final Daemon daemon;

    ContainerTestDaemon(Path dir) throws IOException {
        this(dir, Map.of());
    }

    /** @param env the daemon's environment (NOTIFY_SOCKET for the restart test) */
    ContainerTestDaemon(Path dir, Map<String, String> env) throws IOException {
        this.dir = dir;
        Path policies = writePolicies(dir);
        this.agentSocket = dir.resolve("agent.sock");
        this.auditFile = dir.resolve("audit.jsonl");
        PolicyLoader loader = new PolicyLoader(PolicyLoader.Options.defaults().withStrictPermissions(false)
                .withCheckFiles(false).withSubjects(SubjectResolver.system()));
        PolicyStore store;
        try {
            store = PolicyStore.open(loader, policies);
        } catch (org.ringwarden.policy.PolicyException e) {
            throw new IOException("test policies do not load: " + e.getMessage(), e);
        }
        DaemonConfig config = DaemonConfig.defaults(Map.of()).withSocketPath(dir.resolve("ringwarden.sock"))
                .withAdminSocketPath(dir.resolve("admin.sock"))
                .withAudit(new AuditSettings(AuditSettings.Destination.FILE, auditFile))
                .withAgentSocketPath(agentSocket);
        AuditLog.configure(config.audit());
        this.daemon = Daemon.start(config, GrantBroker.create(store, DaemonLimits.defaults(), audit::add), env);
    }

    static Path writePolicies(Path dir) throws IOException {
        Path policies = Files.createDirectories(dir.resolve("policies"));
        for (var e : POLICIES.entrySet()) {
            Files.writeString(policies.resolve(e.getKey()), e.getValue());
        }
        return policies;
    }

    List<AuditEvent> auditEvents() {
        return List.copyOf(audit);
    }

    /** The audit file's records, after every record queued so far is written. */
    List<JsonNode> auditRecords() throws IOException {
        AuditLog.flush();
        ObjectMapper m = new ObjectMapper();
        List<JsonNode> out = new java.util.ArrayList<>();
        if (Files.exists(auditFile)) {
            for (String line : Files.readAllLines(auditFile)) {
                if (!line.isBlank()) {
                    out.add(m.readTree(line));
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        daemon.close();
    }
}
