package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.Callable;

import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import org.jspecify.annotations.Nullable;

/** {@code ringwarden leases}: who holds which lease; {@code --revoke} ends one, or every one of a user. */
@Command(name = "leases", mixinStandardHelpOptions = true,
        exitCodeListHeading = "Exit codes:%n", exitCodeList = {AdminClient.EXIT_OK, AdminClient.EXIT_REFUSED,
                AdminClient.EXIT_USAGE, AdminClient.EXIT_UNREACHABLE},
        description = {"Lists the live leases: policy, holder, buffers. With --revoke, ends leases instead.",
                "",
                "Revoking (audited, with you as the actor) does what the holder's release would: the daemon closes its "
                        + "copies of the ring, buffers and files, and a ticket not yet collected can no longer be "
                        + "collected. It cannot take back a ring a process already holds: the kernel has no way to revoke "
                        + "a ring descriptor, so that process keeps doing I/O on it, within its policy, until it closes it "
                        + "or exits, and the lease stays counted against the quotas until then. To stop that process, "
                        + "end it (kill PID, the PID column)."})
public final class LeasesCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (a mixin)
    @Mixin
    AdminClient admin;

    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (injected)
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--revoke", paramLabel = "LEASE", arity = "0..1", fallbackValue = "",
            description = "Revoke lease LEASE; without LEASE, every lease of --user.")
    @Nullable String revoke;

    @Option(names = "--user", paramLabel = "USER",
            description = "Only the leases of USER (a name or a uid): listed, or with --revoke, revoked.")
    @Nullable String user;

    @Override
    public Integer call() throws IOException {
        Integer uid = user == null ? null : uid(user);
        if (revoke != null) {
            if (revoke.isEmpty() == (uid == null)) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "give --revoke LEASE, or --revoke --user USER, not both and not neither");
            }
            Request.Revoke request = revoke.isEmpty() ? new Request.Revoke(null, uid) : new Request.Revoke(revoke, null);
            String what = revoke.isEmpty() ? "user " + user : "lease " + revoke;
            return admin.run(request, r -> revoked(what, (Response.Revoked) r),
                    r -> !((Response.Revoked) r).leases().isEmpty());
        }
        return admin.run(new Request.Leases(), r -> table(((Response.LeaseList) r).leases().stream()
                .filter(e -> uid == null || e.uid() == uid).toList()), r -> true);
    }

    private int uid(String nameOrUid) throws IOException {
        if (nameOrUid.matches("\\d{1,10}")) {
            try {
                return Integer.parseInt(nameOrUid);
            } catch (NumberFormatException e) {
                // out of range: reported below
            }
        }
        int @Nullable [] ids = DemoCommand.userIds(nameOrUid);
        if (ids == null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--user: no user '" + nameOrUid + "' in /etc/passwd (give a name or a uid)");
        }
        return ids[0];
    }

    private static String revoked(String what, Response.Revoked r) {
        if (r.leases().isEmpty()) {
            return "nothing revoked: no live lease of " + what + " (ringwarden leases lists them)";
        }
        StringBuilder b = new StringBuilder();
        for (Response.LeaseEntry e : r.leases()) {
            b.append("revoked ").append(e.lease()).append(" (policy ").append(e.policy()).append(", uid ").append(e.uid())
                    .append(", pid ").append(e.pid()).append(')')
                    .append(e.collected() ? ": pid " + e.pid() + " keeps the ring it collected until it closes it"
                            : ": its ring was never collected and is gone")
                    .append('\n');
        }
        return b.toString().stripTrailing();
    }

    private static String table(List<Response.LeaseEntry> leases) {
        if (leases.isEmpty()) {
            return "no leases";
        }
        StringBuilder b = new StringBuilder(String.format("%-36s %-16s %8s %6s %10s %-9s %s%n", "LEASE", "POLICY",
                "PID", "UID", "BUFFERS", "COLLECTED", "EXE"));
        for (Response.LeaseEntry e : leases) {
            b.append(String.format("%-36s %-16s %8d %6d %10d %-9s %s%n", e.lease(), e.policy(), e.pid(), e.uid(),
                    e.bufferBytes(), e.collected() ? "yes" : "no", e.exe()));
        }
        return b.toString().stripTrailing();
    }
}
