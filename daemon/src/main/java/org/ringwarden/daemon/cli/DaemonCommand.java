package org.ringwarden.daemon.cli;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.config.AuditSettings;
import org.ringwarden.daemon.config.ConfigException;
import org.ringwarden.daemon.config.ConfigLoader;
import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.daemon.server.Daemon;
import org.ringwarden.daemon.server.GrantBroker;
import org.ringwarden.policy.PolicyException;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.policy.PolicyStore;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import org.jspecify.annotations.Nullable;

/** {@code ringwarden daemon}: run the broker in the foreground until SIGTERM/SIGINT. */
@Command(name = "daemon", mixinStandardHelpOptions = true,
        description = {"Runs the ringwarden daemon in the foreground.",
                "",
                "With no options it serves the bundled policies on $RUNTIME_DIRECTORY/ringwarden.sock (or "
                        + "/run/ringwarden/ringwarden.sock) and admin.sock beside it, and audits to "
                        + "/var/log/ringwarden/audit.jsonl. Under systemd socket activation it "
                        + "serves the inherited sockets (FileDescriptorName=client and admin). SIGHUP reloads the policies; "
                        + "SIGTERM or SIGINT stop it. See docs/daemon.md and docs/configuration.md.",
                "",
                "With --socket PATH and no --config, everything it creates is beside PATH, named after it: "
                        + "--socket /tmp/rw.sock puts the admin socket at /tmp/rw-admin.sock and the audit trail at "
                        + "/tmp/rw-audit.jsonl, unless --admin-socket or --audit say otherwise. With --config the file "
                        + "decides, and the options override it."})
public final class DaemonCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "The daemon's JSON configuration file.")
    @Nullable Path config;

    @Option(names = "--socket", paramLabel = "PATH", description = "The client socket (overrides the configuration).")
    @Nullable Path socket;

    @Option(names = "--admin-socket", paramLabel = "PATH", description = "The admin socket (overrides the configuration).")
    @Nullable Path adminSocket;

    @Option(names = "--agent-socket", paramLabel = "PATH", arity = "0..1", fallbackValue = "",
            description = {"Serve the OCI seccomp agent socket, where runc and crun send containers' seccomp listeners "
                    + "(docs/containers.md); PATH defaults to $RUNTIME_DIRECTORY/oci-agent.sock (or "
                    + "/run/ringwarden/oci-agent.sock). Overrides the configuration's agentSocket.path."})
    @Nullable String agentSocket;

    @Option(names = "--policies", paramLabel = "DIR", description = "The policy directory (overrides the configuration; default: the bundled policies).")
    @Nullable Path policies;

    @Option(names = "--audit", paramLabel = "FILE|stdout|stderr",
            description = "Where the audit trail goes: a file (absolute path), stdout or stderr (overrides the configuration; "
                    + "default: beside --socket, else /var/log/ringwarden/audit.jsonl).")
    @Nullable String audit;

    /** {@code --audit}'s value as settings: stdout, stderr, or an absolute file with the default rotation. */
    static AuditSettings auditSettings(String value) {
        return switch (value) {
            case "stdout" -> new AuditSettings(AuditSettings.Destination.STDOUT, null);
            case "stderr" -> new AuditSettings(AuditSettings.Destination.STDERR, null);
            default -> {
                Path file = Path.of(value);
                if (!file.isAbsolute()) {
                    throw new IllegalArgumentException("--audit takes an absolute file path, stdout or stderr, not \""
                            + value + "\"");
                }
                yield new AuditSettings(AuditSettings.Destination.FILE, file);
            }
        };
    }

    /**
     * The configuration the options make: {@code --config} (or the defaults), then each option
     * over it. A foreground daemon started with {@code --socket} and no {@code --config} creates
     * nothing outside the socket's directory: its admin socket and audit trail go beside it.
     */
    DaemonConfig configuration(Map<String, String> env) throws ConfigException {
        DaemonConfig c = config == null ? DaemonConfig.defaults(env) : ConfigLoader.load(config, env);
        if (socket != null) {
            Path s = socket.toAbsolutePath();
            c = c.withSocketPath(s);
            if (config == null) {
                // Named after the socket, not a fixed name: two daemons in one directory (/tmp) stay apart.
                String name = requireNonNull(s.getFileName(), "an absolute socket path has a name").toString();
                String stem = name.endsWith(".sock") && name.length() > 5 ? name.substring(0, name.length() - 5) : name;
                if (adminSocket == null) {
                    c = c.withAdminSocketPath(s.resolveSibling(stem + "-admin.sock"));
                }
                if (audit == null) {
                    c = c.withAudit(new AuditSettings(AuditSettings.Destination.FILE, s.resolveSibling(stem + "-audit.jsonl")));
                }
            }
        }
        if (adminSocket != null) {
            c = c.withAdminSocketPath(adminSocket.toAbsolutePath());
        }
        if (policies != null) {
            c = c.withPolicies(policies.toAbsolutePath());
        }
        if (audit != null) {
            c = c.withAudit(auditSettings(audit));
        }
        if (agentSocket != null) {
            c = c.withAgentSocketPath(agentSocket.isEmpty() ? DaemonConfig.defaultAgentSocket(env).path()
                    : Path.of(agentSocket).toAbsolutePath());
        }
        return c;
    }

    @Override
    public Integer call() {
        Map<String, String> env = System.getenv();
        DaemonConfig c;
        try {
            c = configuration(env);
        } catch (ConfigException | IllegalArgumentException e) {
            System.err.println("ringwarden daemon: " + e.getMessage());
            return 2;
        }
        try {
            AuditLog.configure(c.audit());
        } catch (IOException e) {
            System.err.println("ringwarden daemon: " + e.getMessage());
            return 1;
        }
        PolicyStore store;
        try {
            store = PolicyStore.open(new PolicyLoader(PolicyLoader.Options.defaults()), c.policies());
        } catch (PolicyException e) {
            System.err.println("ringwarden daemon: the policies cannot be loaded:");
            System.err.println(e.getMessage());
            return 1;
        }
        // A supervisor may send SIGTERM as soon as the socket appears, before Daemon.start has
        // returned: remember it rather than leave it to the JVM's default exit, which would race
        // the start-up and skip the orderly stop (leases closed, sockets removed, STOPPING=1).
        java.util.concurrent.atomic.AtomicBoolean stopEarly = new java.util.concurrent.atomic.AtomicBoolean();
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), sig -> stopEarly.set(true));
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), sig -> stopEarly.set(true));
        try (Daemon d = Daemon.start(c, GrantBroker.create(store, c.limits(), new AuditLog()), env)) {
            d.installSignalHandlers();
            if (stopEarly.get()) {
                d.stop();
            }
            d.awaitStop();
        } catch (IOException | RuntimeException e) {
            System.err.println("ringwarden daemon: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
