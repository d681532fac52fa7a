package org.ringwarden.daemon.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.ringwarden.daemon.transparent.TransparentRun;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import org.jspecify.annotations.Nullable;

/**
 * {@code ringwarden run --policy NAME [--socket PATH] -- PROGRAM ARGS...}: runs an unmodified
 * program whose {@code io_uring_setup} calls (its children's and threads' too) get rings made
 * by the daemon under a transparent policy (docs/transparent.md).
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs PROGRAM as its parent (stdio, signals and exit status passed through) so that every "
                + "io_uring_setup in its process tree gets a ring made by the daemon under a transparent policy."},
        // A usage error is env(1)'s 125: any lower code could be the program's own.
        exitCodeOnInvalidInput = TransparentRun.EXIT_FAILED,
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {
                "other:PROGRAM's own exit status, or 128+N if signal N killed it.",
                "125:ringwarden run failed before PROGRAM started: a usage error, no daemon, the policy refused, "
                        + "kernel.yama.ptrace_scope 2 or 3.",
                "126:PROGRAM was found but cannot be run.",
                "127:PROGRAM was not found."})
public final class RunCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (required)
    @Option(names = "--policy", required = true, paramLabel = "NAME",
            description = "A policy marked for transparent use that your uid may use.")
    String policy;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "The daemon's client socket (default: $RINGWARDEN_SOCKET, else /run/ringwarden/ringwarden.sock).")
    @Nullable Path socket;

    @Option(names = "--daemon-wait", paramLabel = "SECONDS", defaultValue = "10",
            description = "How long an io_uring_setup made while the daemon is away (restarting) waits for it to come "
                    + "back before it fails with EAGAIN (default: ${DEFAULT-VALUE}).")
    double daemonWait = 10;

    @Parameters(index = "0..*", arity = "1..*", paramLabel = "PROGRAM", description = "The program and its arguments.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() {
        Path s = socket;
        if (s == null) {
            String env = System.getenv("RINGWARDEN_SOCKET");
            s = env != null && !env.isBlank() ? Path.of(env) : Path.of("/run/ringwarden/ringwarden.sock");
        }
        if (!(daemonWait >= 0 && daemonWait <= 3600)) {
            System.err.println("ringwarden run: --daemon-wait must be between 0 and 3600 seconds");
            return TransparentRun.EXIT_FAILED;
        }
        long waitNanos = (long) (daemonWait * TimeUnit.SECONDS.toNanos(1));
        return TransparentRun.run(TransparentRun.options(s, policy, waitNanos), command, System.getenv(), System.err);
    }
}
