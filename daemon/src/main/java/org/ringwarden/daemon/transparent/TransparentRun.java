package org.ringwarden.daemon.transparent;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Exec;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.UnixSockets;
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompFilter;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.protocol.DaemonChannel;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import org.jspecify.annotations.Nullable;

/**
 * What {@code ringwarden run --policy NAME -- PROGRAM ARGS...} does before it becomes the
 * program (docs/transparent.md):
 * <ol>
 * <li>connect to the daemon;</li>
 * <li>spawn the supervisor (a small JVM, same uid) with the connection and a hand-off socket,
 *     <em>before</em> the filter exists, so that the supervisor is not under it;</li>
 * <li>set no-new-privs and install the filter that traps {@code io_uring_setup} on every thread;</li>
 * <li>{@code attach} the listener under the policy (the daemon checks that the policy is for
 *     transparent use and that this uid is one of its subjects);</li>
 * <li>hand the listener to the supervisor; name it ptracer for Yama;</li>
 * <li>{@code execve} the program: same pid, same stdio, its own exit code.</li>
 * </ol>
 * Exit codes before the exec follow {@code env(1)}: 125 ringwarden failed, 126 the program
 * cannot be run, 127 it was not found.
 */
public final class TransparentRun {
    public static final int EXIT_FAILED = 125;
    public static final int EXIT_CANNOT_RUN = 126;
    public static final int EXIT_NOT_FOUND = 127;
    /** {@code PR_SET_PTRACER} (Yama); {@code EINVAL} where Yama is absent. */
    private static final int PR_SET_PTRACER = 0x59616d61;
    private static final long SYS_RT_SIGPROCMASK = 14;
    private static final int SIG_SETMASK = 2;
    private static final long SYS_RT_SIGACTION = 13;
    private static final long SYS_CLOSE_RANGE = 436;
    private static final int CLOSE_RANGE_CLOEXEC = 1 << 2;

    private TransparentRun() {
    }

    /**
     * Runs {@code command} under {@code policy}; returns only on failure, with the exit code.
     */
    public static int run(Path socket, String policy, List<String> command, Map<String, String> env, PrintStream err) {
        requireNonNull(socket, "socket");
        requireNonNull(policy, "policy");
        requireNonNull(env, "env");
        if (command.isEmpty()) {
            err.println("ringwarden run: no program given");
            return EXIT_FAILED;
        }
        TransparentSupervisor.warmUp(); // the JSON codec, while the supervisor is spawned and the filter installed
        Path program = resolve(command.get(0), env.get("PATH"));
        if (program == null) {
            err.println("ringwarden run: " + command.get(0) + ": command not found");
            return EXIT_NOT_FOUND;
        }
        if (!Files.isExecutable(program) || Files.isDirectory(program)) {
            err.println("ringwarden run: " + program + ": not an executable file");
            return EXIT_CANNOT_RUN;
        }
        DaemonChannel daemon;
        try {
            daemon = DaemonChannel.connect(socket);
        } catch (IOException e) {
            err.println("ringwarden run: cannot reach the daemon at " + socket + ": " + e.getMessage());
            return EXIT_FAILED;
        }
        int[] pair = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
        int supervisor;
        try {
            supervisor = SupervisorSpawner.spawn(SupervisorSpawner.supervisorCommand(), env, daemon.fd(), pair[1]);
        } catch (KernelException | IOException e) {
            err.println("ringwarden run: cannot start the supervisor: " + e.getMessage());
            return EXIT_FAILED;
        } finally {
            Descriptors.closeQuietly(pair[1]);
        }
        // From here on a failure closes pair[0] (by returning: it is close-on-exec and the JVM
        // exits), and the supervisor, reading end-of-file instead of a listener, exits too.
        SeccompListener listener;
        try {
            Prctl.setNoNewPrivs();
            listener = Seccomp.installListener(SeccompFilter.trappingIoUringSetup(), Seccomp.Scope.ALL_THREADS);
        } catch (KernelException e) {
            err.println("ringwarden run: cannot install the seccomp filter: " + e.getMessage());
            return EXIT_FAILED;
        }
        try {
            Response r = daemon.call(new Request.Attach(1, policy));
            if (r instanceof Response.SendFds) {
                daemon.sendDescriptors(new int[] {listener.fd()});
                r = daemon.receive();
            }
            if (!(r instanceof Response.Attached)) {
                err.println("ringwarden run: the daemon refused: "
                        + (r instanceof Response.Error e ? e.code() + ": " + e.message() : r.toString()));
                return EXIT_FAILED;
            }
            UnixRights.sendFds(pair[0], new byte[] {1}, new int[] {listener.fd()});
        } catch (IOException | KernelException e) {
            err.println("ringwarden run: attaching failed: " + e.getMessage());
            return EXIT_FAILED;
        } finally {
            Descriptors.closeQuietly(pair[0]);
        }
        listener.close(); // the daemon and the supervisor hold it now; the filter stays on us
        // Under Yama ptrace_scope=1 the supervisor (our child, not an ancestor) needs the
        // program's leave to read its memory. Absent Yama this fails with EINVAL: harmless.
        Syscall.rawOnThisThread(Syscall.SYS_PRCTL, PR_SET_PTRACER, supervisor, 0, 0, 0, 0);
        clearSignalMask();
        // The JVM's own descriptors (jars, its /proc files...) are not all close-on-exec: the
        // program gets stdin, stdout and stderr only.
        Syscall.rawOnThisThread(SYS_CLOSE_RANGE, 3, 0xFFFF_FFFFL, CLOSE_RANGE_CLOEXEC, 0, 0, 0);
        try {
            Exec.execve(program.toString(), command, env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .toList());
        } catch (KernelException e) {
            err.println("ringwarden run: cannot run " + program + ": " + e.getMessage());
            return e.errno() == 2 ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
        }
        throw new AssertionError("execve returned");
    }

    /**
     * The JVM blocks some signals on its threads and ignores glibc's reserved real-time signals
     * (32, 33); the program must start as from a shell: nothing blocked, those at their default.
     * Signals ignored by whoever started {@code ringwarden run} (nohup's SIGHUP) stay ignored.
     */
    private static void clearSignalMask() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment empty = a.allocate(8);
            Syscall.rawOnThisThread(SYS_RT_SIGPROCMASK, SIG_SETMASK, empty.address(), 0, 8, 0, 0);
            MemorySegment dfl = a.allocate(32); // struct kernel_sigaction, zeroed: SIG_DFL
            for (int sig = 32; sig <= 33; sig++) {
                Syscall.rawOnThisThread(SYS_RT_SIGACTION, sig, dfl.address(), 0, 8, 0, 0);
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
