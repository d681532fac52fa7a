package org.ringwarden.daemon.transparent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

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
 * A real daemon (server, grant service, policies from a directory) in this JVM, on a socket in
 * a directory anyone may reach, for the transparent tests and the benchmark. Its grant side's
 * audit events are kept for the tests to read.
 */
final class TransparentTestDaemon implements AutoCloseable {
    /** Policies the tests use, by file name. */
    static final Map<String, String> POLICIES = Map.of(
            "fio.json", policy("fio", "\"NOP\", \"READ\", \"WRITE\", \"READV\", \"WRITEV\", \"READ_FIXED\", \"WRITE_FIXED\","
                    + " \"FSYNC\", \"FADVISE\", \"FALLOCATE\", \"ASYNC_CANCEL\"",
                    "\"honour\": [\"IOPOLL\", \"CQSIZE\", \"CLAMP\", \"SUBMIT_ALL\", \"COOP_TASKRUN\", \"TASKRUN_FLAG\","
                            + " \"R_DISABLED\", \"SINGLE_ISSUER\", \"DEFER_TASKRUN\", \"NO_SQARRAY\"],"
                            + " \"refuse\": [\"SQPOLL\", \"SQ_AFF\"]"),
            "fio-drop.json", policy("fio-drop", "\"NOP\", \"READ\", \"WRITE\", \"READ_FIXED\", \"WRITE_FIXED\"",
                    "\"honour\": [\"CQSIZE\", \"CLAMP\", \"SUBMIT_ALL\"], \"drop\": [\"SQPOLL\", \"SQ_AFF\","
                            + " \"SINGLE_ISSUER\", \"DEFER_TASKRUN\", \"R_DISABLED\"]"),
            "nop-only.json", policy("nop-only", "\"NOP\"",
                    "\"honour\": [\"CQSIZE\", \"CLAMP\", \"SUBMIT_ALL\", \"COOP_TASKRUN\", \"TASKRUN_FLAG\"],"
                            + " \"drop\": [\"SINGLE_ISSUER\", \"DEFER_TASKRUN\"]"),
            // The bundled netty policy as shipped, opened to the test's uid by a drop-in.
            "netty.json", bundled("netty"),
            "netty.d/10-everyone.json", "{ \"subjects\": { \"everyone\": true } }\n",
            // The bundled mariadb policy as shipped, opened the same way (MariadbTransparentTest).
            "mariadb.json", bundled("mariadb"),
            "mariadb.d/10-everyone.json", "{ \"subjects\": { \"everyone\": true } }\n",
            "ticketed.json", """
                    {
                      "name": "ticketed",
                      "description": "Not for transparent use",
                      "subjects": { "everyone": true },
                      "sqe": { "ops": ["NOP"] },
                      "limits": { "leasesPerUser": 4, "bufferBytesPerUser": "0 B" }
                    }
                    """);

    private static String bundled(String name) {
        try (var in = org.ringwarden.policy.PolicyLoader.class.getResourceAsStream("bundled/" + name + ".json")) {
            return new String(java.util.Objects.requireNonNull(in, name).readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String policy(String name, String ops, String transparent) {
        return """
                {
                  "name": "%s",
                  "description": "transparent test policy %s",
                  "subjects": { "everyone": true },
                  "sqe": { "ops": [%s], "flagsAllowed": ["FIXED_FILE", "IO_LINK", "IO_DRAIN", "ASYNC"] },
                  "register": { "ops": ["PROBE", "FILES", "UNREGISTER_FILES", "BUFFERS", "UNREGISTER_BUFFERS"],
                                "acknowledge": ["FILES", "UNREGISTER_FILES"] },
                  "limits": { "leasesPerUser": 64, "bufferBytesPerUser": "0 B" },
                  "transparent": { "enabled": true, %s, "maxSqEntries": 4096, "maxCqEntries": 8192 }
                }
                """.formatted(name, name, ops, transparent);
    }

    final Path dir;
    final Path socket;
    final ConcurrentLinkedQueue<AuditEvent> audit = new ConcurrentLinkedQueue<>();
    private final Daemon daemon;
    private final GrantBroker broker;

    private TransparentTestDaemon(Path dir, boolean printAudit) throws IOException {
        this.dir = dir;
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path policies = Files.createDirectories(dir.resolve("policies"));
        for (var e : POLICIES.entrySet()) {
            Files.createDirectories(policies.resolve(e.getKey()).getParent());
            Files.writeString(policies.resolve(e.getKey()), e.getValue());
        }
        this.socket = dir.resolve("ringwarden.sock");
        PolicyLoader loader = new PolicyLoader(PolicyLoader.Options.defaults().withStrictPermissions(false)
                .withCheckFiles(false).withSubjects(SubjectResolver.system()));
        PolicyStore store;
        try {
            store = PolicyStore.open(loader, policies);
        } catch (org.ringwarden.policy.PolicyException e) {
            throw new IOException("test policies do not load: " + e.getMessage(), e);
        }
        this.broker = GrantBroker.create(store, DaemonLimits.defaults(), ev -> {
            audit.add(ev);
            if (printAudit) {
                System.out.println("audit " + ev.kind() + " policy=" + ev.policy() + " peer=" + ev.peer() + " " + ev.detail());
            }
        });
        DaemonConfig config = DaemonConfig.defaults(Map.of()).withSocketPath(socket)
                .withAdminSocketPath(dir.resolve("admin.sock"))
                .withAudit(new AuditSettings(AuditSettings.Destination.FILE, dir.resolve("audit.jsonl")));
        this.daemon = Daemon.start(config, broker, Map.of());
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
    }

    static TransparentTestDaemon start(Path dir) throws IOException {
        return new TransparentTestDaemon(dir, false);
    }

    /** The grant service's attachments right now. */
    int attachments() {
        return broker.stats().attachments();
    }

    List<AuditEvent> auditEvents() {
        return List.copyOf(audit);
    }

    @Override
    public void close() {
        daemon.close();
    }

    /** {@code TransparentTestDaemon DIR}: serves until killed (bench/run-transparent). */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        try (TransparentTestDaemon d = new TransparentTestDaemon(dir, args.length > 1 && args[1].equals("--print-audit"))) {
            System.out.println("ready " + d.socket);
            System.out.flush();
            Thread.currentThread().join();
        }
    }
}
