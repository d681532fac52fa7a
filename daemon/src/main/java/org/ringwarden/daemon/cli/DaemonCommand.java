package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

import org.ringwarden.daemon.audit.AuditLog;
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
                        + "/run/ringwarden/ringwarden.sock) and admin.sock beside it. Under systemd socket activation it "
                        + "serves the inherited sockets (FileDescriptorName=client and admin). SIGHUP reloads the policies; "
                        + "SIGTERM or SIGINT stop it. See docs/daemon.md and docs/configuration.md."})
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

    @Override
    public Integer call() {
        Map<String, String> env = System.getenv();
        DaemonConfig c;
        try {
            c = config == null ? DaemonConfig.defaults(env) : ConfigLoader.load(config, env);
            if (socket != null) {
                c = c.withSocketPath(socket.toAbsolutePath());
            }
            if (adminSocket != null) {
                c = c.withAdminSocketPath(adminSocket.toAbsolutePath());
            }
            if (policies != null) {
                c = c.withPolicies(policies.toAbsolutePath());
            }
            if (agentSocket != null) {
                c = c.withAgentSocketPath(agentSocket.isEmpty() ? DaemonConfig.defaultAgentSocket(env).path()
                        : Path.of(agentSocket).toAbsolutePath());
            }
        } catch (ConfigException | IllegalArgumentException e) {
            System.err.println("ringwarden daemon: " + e.getMessage());
            return 2;
        }
        try {
            AuditLog.configure(c.audit());
        } catch (IOException e) {
            System.err.println("ringwarden daemon: cannot open the audit destination: " + e.getMessage());
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
