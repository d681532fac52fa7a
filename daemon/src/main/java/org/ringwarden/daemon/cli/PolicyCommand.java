package org.ringwarden.daemon.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code ringwarden policy}: validate, list, show and explain policies, and see what this kernel
 * supports. Every subcommand takes {@code --json}; errors are printed compiler-style
 * ({@code file:line:col: error: ...}).
 */
@Command(name = "policy",
        mixinStandardHelpOptions = true,
        description = {"Validate, list, show and explain io_uring policies.",
                "",
                "list, show, explain and kernel read --policies DIR, else /etc/ringwarden/policies.d if it exists, "
                        + "else the policies bundled with ringwarden; they say which."},
        subcommands = {PolicyValidateCommand.class, PolicyListCommand.class, PolicyShowCommand.class,
                PolicyExplainCommand.class, PolicyKernelCommand.class})
public final class PolicyCommand implements Runnable {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (injected)
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
