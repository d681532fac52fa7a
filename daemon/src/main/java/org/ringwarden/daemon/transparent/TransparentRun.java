package org.ringwarden.daemon.transparent;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Pidfd;
import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompFilter;
import org.ringwarden.linux.seccomp.SeccompListener;

import org.jspecify.annotations.Nullable;

/**
 * {@code ringwarden run --policy NAME -- PROGRAM ARGS...} (docs/transparent.md):
 * <ol>
 * <li>refuse at once where Yama's {@code ptrace_scope} (2, 3) rules transparent mode out;</li>
 * <li>become the child subreaper;</li>
 * <li>on a thread of its own, set no-new-privs and install the filter that traps
 *     {@code io_uring_setup} on that thread only (the rest of this JVM stays unfiltered);
 *     meanwhile, connect to the daemon and ask to {@code attach} under the policy;</li>
 * <li>send the daemon the filter's listener;</li>
 * <li>from the filtered thread, {@code posix_spawn} the program, which inherits the filter;
 *     the thread then ends, so the program's tree is all that is left under the filter;</li>
 * <li>serve the program's trapped calls (a {@link TransparentSupervisor} thread), forward
 *     signals, and return its exit status once it and every process it left behind exited.</li>
 * </ol>
 * Exit codes before the program starts follow {@code env(1)}: 125 ringwarden failed, 126 the
 * program cannot be run, 127 it was not found.
 *
 * <p>Start-up time is this command's cost to every program it wraps (bench/run-transparent), so
 * the two slow steps overlap: the launch thread links the foreign functions (the seccomp
 * filter's system calls, then {@code posix_spawn}) while this thread connects, encodes the
 * {@code attach} and waits for the daemon's first answer. Neither step depends on the other
 * until the listener is sent.
 */
public final class TransparentRun {
    public static final int EXIT_FAILED = 125;
    public static final int EXIT_CANNOT_RUN = 126;
    public static final int EXIT_NOT_FOUND = 127;

    /**
     * What a run needs besides the program.
     *
     * @param socket          the daemon's client socket
     * @param policy          the transparent policy's name
     * @param daemonWaitNanos how long a call trapped while the daemon is away waits for it to come back
     * @param yamaScope       Yama's {@code ptrace_scope} file ({@link YamaScope#SYSCTL}; a test's copy)
     */
    public record Options(Path socket, String policy, long daemonWaitNanos, Path yamaScope) {
        public Options {
            requireNonNull(socket, "socket");
            requireNonNull(policy, "policy");
            requireNonNull(yamaScope, "yamaScope");
            if (daemonWaitNanos < 0) {
                throw new IllegalArgumentException("daemonWaitNanos must not be negative: " + daemonWaitNanos);
            }
        }
    }

    private TransparentRun() {
    }

    /** {@link Options} with the real Yama sysctl. */
    public static Options options(Path socket, String policy, long daemonWaitNanos) {
        return new Options(socket, policy, daemonWaitNanos, YamaScope.SYSCTL);
    }

    /**
     * Runs {@code command} under {@code options.policy()}, returns its exit code (or 125, 126,
     * 127 if it never started).
     */
    public static int run(Options options, List<String> command, Map<String, String> env, PrintStream err) {
        requireNonNull(options, "options");
        requireNonNull(env, "env");
        if (command.isEmpty()) {
            err.println("ringwarden run: no program given");
            return EXIT_FAILED;
        }
        String yama = YamaScope.read(options.yamaScope()).refusal();
        if (yama != null) {
            err.println("ringwarden run: " + yama);
            return EXIT_FAILED;
        }
        Path program = resolve(command.get(0), env.get("PATH"));
        if (program == null) {
            err.println("ringwarden run: " + command.get(0) + ": command not found");
            return EXIT_NOT_FOUND;
        }
        if (!Files.isExecutable(program) || Files.isDirectory(program)) {
            err.println("ringwarden run: " + program + ": not an executable file");
            return EXIT_CANNOT_RUN;
        }
        Launcher launcher = new Launcher(program.toString(), command, env);
        DaemonLink daemon = new DaemonLink(options.socket(), options.policy());
        String unreachable = null;
        try {
            daemon.requestAttach();
        } catch (IOException e) {
            unreachable = "cannot reach the daemon at " + options.socket() + ": " + e.getMessage();
        } catch (DaemonLink.AttachRefused e) {
            unreachable = "the daemon refused: " + e.getMessage();
        }
        SeccompListener listener;
        try {
            listener = launcher.installFilter();
        } catch (KernelException e) {
            daemon.close();
            err.println("ringwarden run: cannot install the seccomp filter: " + e.getMessage());
            return EXIT_FAILED;
        }
        try {
            if (unreachable == null) {
                daemon.completeAttach(listener.fd());
            }
        } catch (IOException e) {
            unreachable = "cannot reach the daemon at " + options.socket() + ": " + e.getMessage();
        } catch (DaemonLink.AttachRefused e) {
            unreachable = "the daemon refused: " + e.getMessage();
        }
        if (unreachable != null) {
            daemon.close();
            launcher.abort();
            err.println("ringwarden run: " + unreachable);
            return EXIT_FAILED;
        }
        int pid;
        Pidfd pidfd;
        ProgramParent.SignalForwarding signals = ProgramParent.forwardSignals();
        try {
            ProgramParent.becomeSubreaper();
            pid = launcher.spawn();
            pidfd = Pidfd.open(pid);
        } catch (KernelException e) {
            daemon.close();
            listener.close();
            err.println("ringwarden run: cannot run " + program + ": " + e.getMessage());
            return e.errno() == Errno.ENOENT.number() ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
        }
        signals.to(pidfd);
        Thread.ofPlatform().daemon().name("ringwarden-supervisor").start(() -> {
            try (Arena arena = Arena.ofConfined(); daemon; listener) {
                new TransparentSupervisor(listener, daemon, options.daemonWaitNanos(), err, arena).serve();
            } catch (RuntimeException e) {
                // Without a supervisor the program's calls would stay trapped: end them (ENOSYS
                // once the daemon's copy of the listener is closed too) and say why.
                err.println("ringwarden run: the supervisor failed: " + e);
            }
        });
        return ProgramParent.reapAll(pid);
    }

    /**
     * The thread that carries the filter: seccomp filters and no-new-privs belong to a thread
     * until a child copies them at {@code clone}, so this thread installs the filter, waits
     * while the listener is attached, spawns the program (which inherits both) and ends: then
     * nothing of this JVM is under the filter, and the listener hangs up exactly when the
     * program's last process exits.
     */
    private static final class Launcher {
        private final CompletableFuture<SeccompListener> filtered = new CompletableFuture<>();
        private final CompletableFuture<Boolean> go = new CompletableFuture<>();
        private final CompletableFuture<Integer> spawned = new CompletableFuture<>();

        Launcher(String program, List<String> argv, Map<String, String> env) {
            Thread.ofPlatform().name("ringwarden-launch").start(() -> {
                try {
                    Prctl.setNoNewPrivs(); // this thread's only: seccomp needs it
                    filtered.complete(Seccomp.installListener(SeccompFilter.trappingIoUringSetup(),
                            Seccomp.Scope.CALLING_THREAD));
                } catch (RuntimeException e) {
                    filtered.completeExceptionally(e);
                    return;
                }
                try {
                    ProgramSpawner.link(); // while the daemon answers (the class comment says why)
                    if (go.join()) {
                        spawned.complete(ProgramSpawner.spawn(program, argv, env));
                    }
                } catch (RuntimeException e) {
                    spawned.completeExceptionally(e);
                }
            });
        }

        SeccompListener installFilter() {
            return await(filtered);
        }

        void abort() {
            go.complete(false);
            filtered.thenAccept(SeccompListener::close);
        }

        int spawn() {
            go.complete(true);
            return await(spawned);
        }

        private static <T> T await(CompletableFuture<T> f) {
            try {
                return f.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw new IllegalStateException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KernelException("interrupted", Errno.EINTR.number());
            }
        }
    }

    /** {@code execvp}'s search: a name with a slash as it is, else the first executable in {@code PATH}. */
    static @Nullable Path resolve(String name, @Nullable String path) {
        if (name.isEmpty()) {
            return null;
        }
        if (name.contains("/")) {
            return Files.exists(Path.of(name)) ? Path.of(name) : null;
        }
        String p = path == null || path.isEmpty() ? "/usr/local/bin:/usr/bin:/bin" : path;
        for (String dir : p.split(":", -1)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
