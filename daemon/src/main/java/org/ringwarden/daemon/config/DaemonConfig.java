package org.ringwarden.daemon.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * Everything the daemon is configured with (docs/configuration.md). Built by
 * {@link ConfigLoader} from a JSON file, or {@link #defaults(Map)} with no file at all.
 *
 * @param socket      the client socket
 * @param adminSocket the admin socket
 * @param adminGroup  the group whose members may administer (besides uid 0); null for uid 0 only
 * @param policies    the policy directory; null for the policies bundled with ringwarden
 * @param limits      the bounds on connections, requests, leases and memory
 * @param audit       where audit records go
 * @param agentSocket the OCI seccomp agent socket (docs/containers.md); null for none (the default
 *                    without systemd: only {@code --agent-socket} or the file's {@code agentSocket} turn it on)
 */
public record DaemonConfig(SocketSettings socket, SocketSettings adminSocket, @Nullable String adminGroup,
                           @Nullable Path policies,
                           Limits limits, AuditSettings audit, @Nullable SocketSettings agentSocket) {
    /** The client socket's name inside the runtime directory. */
    public static final String SOCKET_NAME = "ringwarden.sock";
    /** The admin socket's name inside the runtime directory. */
    public static final String ADMIN_SOCKET_NAME = "admin.sock";
    /** The OCI agent socket's name inside the runtime directory. */
    public static final String AGENT_SOCKET_NAME = "oci-agent.sock";
    /** Where sockets go without systemd's {@code RUNTIME_DIRECTORY}. */
    public static final Path DEFAULT_RUNTIME_DIRECTORY = Path.of("/run/ringwarden");

    public DaemonConfig {
        requireNonNull(socket, "socket");
        requireNonNull(adminSocket, "adminSocket");
        requireNonNull(limits, "limits");
        requireNonNull(audit, "audit");
        if (socket.path().equals(adminSocket.path())) {
            throw new IllegalArgumentException("socket and adminSocket must be different paths: " + socket.path());
        }
        if (agentSocket != null && (agentSocket.path().equals(socket.path()) || agentSocket.path().equals(adminSocket.path()))) {
            throw new IllegalArgumentException("agentSocket must be a path of its own: " + agentSocket.path());
        }
        if (adminGroup != null && adminGroup.isBlank()) {
            throw new IllegalArgumentException("adminGroup, when present, must not be blank");
        }
    }

    /** Without an agent socket. */
    public DaemonConfig(SocketSettings socket, SocketSettings adminSocket, @Nullable String adminGroup,
                        @Nullable Path policies, Limits limits, AuditSettings audit) {
        this(socket, adminSocket, adminGroup, policies, limits, audit, null);
    }

    /**
     * The agent socket's settings when it is asked for without a path: {@code oci-agent.sock}
     * in the runtime directory, 0600 (runtimes run as root).
     */
    public static SocketSettings defaultAgentSocket(Map<String, String> env) {
        return new SocketSettings(runtimeDirectory(env).resolve(AGENT_SOCKET_NAME), 0600, null);
    }

    /** The same configuration with the OCI agent socket at {@code path} (mode 0600 unless configured). */
    public DaemonConfig withAgentSocketPath(Path path) {
        SocketSettings s = agentSocket == null ? new SocketSettings(path, 0600, null) : agentSocket.withPath(path);
        return new DaemonConfig(socket, adminSocket, adminGroup, policies, limits, audit, s);
    }

    /**
     * The configuration of a daemon started with no file: sockets in {@code $RUNTIME_DIRECTORY}
     * (its first entry) or {@code /run/ringwarden}, the client socket open to everyone (policies
     * decide what each peer may have), the admin socket to root only, bundled policies, default
     * limits, audit to {@code /var/log/ringwarden/audit.jsonl}.
     */
    public static DaemonConfig defaults(Map<String, String> env) {
        Path dir = runtimeDirectory(env);
        return new DaemonConfig(new SocketSettings(dir.resolve(SOCKET_NAME), 0666, null),
                new SocketSettings(dir.resolve(ADMIN_SOCKET_NAME), 0600, null), null, null, Limits.DEFAULTS,
                AuditSettings.DEFAULT);
    }

    /** {@code $RUNTIME_DIRECTORY}'s first entry (systemd may list several, colon-separated), else {@code /run/ringwarden}. */
    public static Path runtimeDirectory(Map<String, String> env) {
        String rd = env.get("RUNTIME_DIRECTORY");
        if (rd != null && !rd.isBlank()) {
            String first = rd.split(":", 2)[0];
            if (first.startsWith("/")) {
                return Path.of(first);
            }
        }
        return DEFAULT_RUNTIME_DIRECTORY;
    }

    public DaemonConfig withSocketPath(Path path) {
        return new DaemonConfig(socket.withPath(path), adminSocket, adminGroup, policies, limits, audit, agentSocket);
    }

    public DaemonConfig withAdminSocketPath(Path path) {
        return new DaemonConfig(socket, adminSocket.withPath(path), adminGroup, policies, limits, audit, agentSocket);
    }

    public DaemonConfig withPolicies(Path dir) {
        return new DaemonConfig(socket, adminSocket, adminGroup, dir, limits, audit, agentSocket);
    }

    public DaemonConfig withLimits(Limits other) {
        return new DaemonConfig(socket, adminSocket, adminGroup, policies, other, audit, agentSocket);
    }

    public DaemonConfig withAudit(AuditSettings other) {
        return new DaemonConfig(socket, adminSocket, adminGroup, policies, limits, other, agentSocket);
    }

    public DaemonConfig withAdminGroup(String group) {
        return new DaemonConfig(socket, adminSocket, group, policies, limits, audit, agentSocket);
    }
}
