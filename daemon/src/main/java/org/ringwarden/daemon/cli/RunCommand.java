package org.ringwarden.daemon.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

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
        description = {"Runs PROGRAM (same pid, stdio and exit code) so that every io_uring_setup in its "
                + "process tree gets a ring made by the daemon under a transparent policy.",
                "Exit codes before the program starts: 125 ringwarden failed, 126 PROGRAM cannot run, "
                        + "127 PROGRAM not found."})
public final class RunCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (required)
    @Option(names = "--policy", required = true, paramLabel = "NAME",
            description = "A policy marked for transparent use that your uid may use.")
    String policy;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "The daemon's client socket (default: $RINGWARDEN_SOCKET, else /run/ringwarden/ringwarden.sock).")
    @Nullable Path socket;

    @Parameters(index = "0..*", arity = "1..*", paramLabel = "PROGRAM", description = "The program and its arguments.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() {
        Path s = socket;
        if (s == null) {
            String env = System.getenv("RINGWARDEN_SOCKET");
            s = env != null && !env.isBlank() ? Path.of(env) : Path.of("/run/ringwarden/ringwarden.sock");
        }
        return TransparentRun.run(s, policy, command, System.getenv(), System.err);
    }
}
