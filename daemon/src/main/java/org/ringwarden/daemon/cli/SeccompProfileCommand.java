package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.daemon.oci.SeccompProfile;

import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import org.jspecify.annotations.Nullable;

/**
 * {@code ringwarden seccomp-profile --policy NAME [--agent-socket PATH] [--base FILE]}: prints
 * the OCI seccomp profile that sends a container's {@code io_uring_setup} to the daemon's
 * agent socket (docs/containers.md).
 */
@Command(name = "seccomp-profile", mixinStandardHelpOptions = true,
        description = {"Prints an OCI seccomp profile (JSON) for containers whose io_uring_setup is to be answered "
                + "by the daemon under policy NAME: an allow-list (ringwarden's own, or --base) with io_uring_setup as "
                + "SCMP_ACT_NOTIFY, io_uring_enter and io_uring_register allowed, and listenerPath/listenerMetadata "
                + "naming the agent socket and the policy.",
                "Use it as a runc/crun bundle's linux.seccomp, with podman or docker --security-opt seccomp=FILE, or "
                        + "as a Kubernetes Localhost profile. See docs/containers.md."})
public final class SeccompProfileCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (injected)
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (required)
    @Option(names = "--policy", required = true, paramLabel = "NAME",
            description = "The transparent policy whose subjects.containers admit the containers.")
    String policy;

    @Option(names = "--agent-socket", paramLabel = "PATH",
            description = "The daemon's OCI agent socket as the runtime sees it (default: /run/ringwarden/oci-agent.sock).")
    @Nullable Path agentSocket;

    @Option(names = "--base", paramLabel = "FILE",
            description = "A seccomp profile to start from instead of ringwarden's default allow-list; its own rules for "
                    + "the io_uring calls are replaced.")
    @Nullable Path base;

    @Override
    public Integer call() {
        java.io.PrintWriter out = spec.commandLine().getOut();
        java.io.PrintWriter err = spec.commandLine().getErr();
        try {
            return print(out, err);
        } finally {
            out.flush();
            err.flush();
        }
    }

    private int print(java.io.PrintWriter out, java.io.PrintWriter err) {
        Path socket = agentSocket == null ? DaemonConfig.DEFAULT_RUNTIME_DIRECTORY.resolve(DaemonConfig.AGENT_SOCKET_NAME)
                : agentSocket;
        if (!socket.isAbsolute()) {
            err.println("ringwarden seccomp-profile: --agent-socket must be absolute (the runtime resolves it): "
                    + socket);
            return 2;
        }
        ObjectNode b;
        if (base == null) {
            b = SeccompProfile.defaultBase();
        } else {
            try {
                b = SeccompProfile.parseBase(Files.readAllBytes(base), base.toString());
            } catch (NoSuchFileException e) {
                err.println("ringwarden seccomp-profile: " + base + ": no such file");
                return 1;
            } catch (IOException e) {
                err.println("ringwarden seccomp-profile: " + base + ": " + e.getMessage());
                return 1;
            } catch (SeccompProfile.BadBase e) {
                err.println("ringwarden seccomp-profile: " + e.getMessage());
                return 1;
            }
        }
        try {
            out.print(SeccompProfile.toJson(SeccompProfile.build(b, policy, socket.toString())));
        } catch (IllegalArgumentException e) {
            err.println("ringwarden seccomp-profile: " + e.getMessage());
            return 2;
        }
        return 0;
    }
}
