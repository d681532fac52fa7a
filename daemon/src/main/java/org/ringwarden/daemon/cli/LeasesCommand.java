package org.ringwarden.daemon.cli;

import java.util.concurrent.Callable;

import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code ringwarden leases}: who holds which lease. */
@Command(name = "leases", mixinStandardHelpOptions = true,
        exitCodeListHeading = "Exit codes:%n", exitCodeList = {AdminClient.EXIT_OK, AdminClient.EXIT_REFUSED,
                AdminClient.EXIT_USAGE, AdminClient.EXIT_UNREACHABLE}, description = "Lists the live leases: policy, holder, buffers.")
public final class LeasesCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (a mixin)
    @Mixin
    AdminClient admin;

    @Override
    public Integer call() {
        return admin.run(new Request.Leases(), r -> {
            Response.LeaseList l = (Response.LeaseList) r;
            if (l.leases().isEmpty()) {
                return "no leases";
            }
            StringBuilder b = new StringBuilder(String.format("%-36s %-16s %8s %6s %10s %-9s %s%n", "LEASE", "POLICY",
                    "PID", "UID", "BUFFERS", "COLLECTED", "EXE"));
            for (Response.LeaseEntry e : l.leases()) {
                b.append(String.format("%-36s %-16s %8d %6d %10d %-9s %s%n", e.lease(), e.policy(), e.pid(), e.uid(),
                        e.bufferBytes(), e.collected() ? "yes" : "no", e.exe()));
            }
            return b.toString().stripTrailing();
        }, r -> true);
    }
}
