package org.ringwarden.daemon.cli;

import java.util.concurrent.Callable;

import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code ringwarden status}: the daemon's health and counters, from the admin socket. */
@Command(name = "status", mixinStandardHelpOptions = true,
        exitCodeListHeading = "Exit codes:%n", exitCodeList = {AdminClient.EXIT_OK, AdminClient.EXIT_REFUSED,
                AdminClient.EXIT_USAGE, AdminClient.EXIT_UNREACHABLE},
        description = "Shows the running daemon's version, uptime, policies, leases, grants, refusals and pinned memory.")
public final class StatusCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (a mixin)
    @Mixin
    AdminClient admin;

    @Override
    public Integer call() {
        return admin.run(new Request.Status(), r -> {
            Response.StatusReport s = (Response.StatusReport) r;
            StringBuilder b = new StringBuilder();
            b.append("ringwarden ").append(s.version()).append(", up ").append(s.uptimeSeconds()).append(" s, kernel ")
                    .append(s.kernel()).append('\n');
            b.append("policies:    ").append(s.policies()).append('\n');
            b.append("connections: ").append(s.connections()).append('\n');
            b.append("leases:      ").append(s.leases()).append('\n');
            b.append("grants:      ").append(s.grants()).append('\n');
            b.append("refusals:    ").append(s.refusals().isEmpty() ? "none" : s.refusals().toString()).append('\n');
            b.append("pinned:      ").append(s.pinnedBytes() < 0 ? "unknown" : s.pinnedBytes() + " bytes (VmPin)");
            return b.toString();
        }, r -> true);
    }
}
