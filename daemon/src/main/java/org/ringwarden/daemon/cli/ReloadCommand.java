package org.ringwarden.daemon.cli;

import java.util.concurrent.Callable;

import org.ringwarden.daemon.admin.Counted;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code ringwarden reload}: load the policies again; a broken set leaves the running one in force. */
@Command(name = "reload", mixinStandardHelpOptions = true,
        exitCodeListHeading = "Exit codes:%n", exitCodeList = {AdminClient.EXIT_OK, AdminClient.EXIT_REFUSED,
                AdminClient.EXIT_USAGE, AdminClient.EXIT_UNREACHABLE},
        description = {"Makes the daemon load its policy directory again (as SIGHUP does).",
                "If the new set has an error the running set stays in force, the errors are printed and the exit code is 1."})
public final class ReloadCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (a mixin)
    @Mixin
    AdminClient admin;

    @Override
    public Integer call() {
        return admin.run(new Request.Reload(), r -> {
            Response.Reloaded rl = (Response.Reloaded) r;
            if (rl.ok()) {
                return "reloaded: " + Counted.of(rl.policies(), "policy", "policies") + " in force";
            }
            return "reload refused; the running " + Counted.of(rl.policies(), "policy", "policies") + " stay in force:\n  "
                    + String.join("\n  ", rl.problems());
        }, r -> ((Response.Reloaded) r).ok());
    }
}
