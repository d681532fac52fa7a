package org.ringwarden.daemon.transparent;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;

import org.jspecify.annotations.Nullable;

/**
 * Starts the {@link TransparentSupervisor} JVM with {@code posix_spawn(3)} from libc: a JVM
 * cannot safely run Java code in a {@code fork()}ed child, and {@link ProcessBuilder} closes
 * every inherited descriptor, while the supervisor must inherit exactly two (the daemon
 * connection as fd 3, the hand-off socket as fd 4). The child gets its own session (no
 * terminal signals: a Ctrl-C meant for the program must not kill its supervisor), an empty
 * signal mask, {@code /dev/null} as stdin and stdout, and the caller's stderr for diagnostics.
 */
final class SupervisorSpawner {
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    private static final short POSIX_SPAWN_SETSID = 0x80;
    private static final long ACTIONS_SIZE = 80; // glibc's posix_spawn_file_actions_t
    private static final long ATTR_SIZE = 336; // glibc's posix_spawnattr_t
    private static final long SIGSET_SIZE = 128;
    private static final int F_DUPFD_CLOEXEC = 1030;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MethodHandle SPAWN = fn("posix_spawn", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
            ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle ACTIONS_INIT = fn("posix_spawn_file_actions_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ACTIONS_DESTROY = fn("posix_spawn_file_actions_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ADD_DUP2 = fn("posix_spawn_file_actions_adddup2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle ADD_OPEN = fn("posix_spawn_file_actions_addopen",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    /** Null when this libc lacks it (glibc before 2.34). */
    private static final @Nullable MethodHandle ADD_CLOSEFROM = LIBC.find("posix_spawn_file_actions_addclosefrom_np")
            .map(a -> LINKER.downcallHandle(a, FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT))).orElse(null);
    private static final MethodHandle ATTR_INIT = fn("posix_spawnattr_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ATTR_DESTROY = fn("posix_spawnattr_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ATTR_SETFLAGS = fn("posix_spawnattr_setflags",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT));
    private static final MethodHandle ATTR_SETSIGMASK = fn("posix_spawnattr_setsigmask",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));

    private SupervisorSpawner() {
    }

    private static MethodHandle fn(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name)), d);
    }

    /** The command line of a supervisor JVM, from this JVM's own java, class path and native-access grant. */
    static List<String> supervisorCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        // Small and quick to start: it answers a few calls and sleeps in poll(2) the rest of the time.
        cmd.addAll(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx32m", "-Xss512k",
                "-XX:-UsePerfData", "-Xshare:auto"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(TransparentSupervisor.class.getName());
        return cmd;
    }

    /**
     * Spawns {@code argv} with {@code connectionFd} as its fd 3 and {@code handoffFd} as fd 4,
     * every other descriptor above 2 closed. Returns the child's pid.
     */
    static int spawn(List<String> argv, Map<String, String> env, int connectionFd, int handoffFd) {
        // Move both out of the way first: dup2(a, 3) must not clobber b if b happens to be 3.
        int c = (int) Descriptors.fcntl(connectionFd, F_DUPFD_CLOEXEC, 100);
        int h = -1;
        try (Arena arena = Arena.ofConfined()) {
            h = (int) Descriptors.fcntl(handoffFd, F_DUPFD_CLOEXEC, 100);
            MemorySegment actions = arena.allocate(ACTIONS_SIZE * 2, 16);
            MemorySegment attr = arena.allocate(ATTR_SIZE * 2, 16);
            MemorySegment sigset = arena.allocate(SIGSET_SIZE, 8); // empty
            MemorySegment devNull = arena.allocateFrom("/dev/null");
            MemorySegment pid = arena.allocate(JAVA_INT);
            check("posix_spawn_file_actions_init", (int) ACTIONS_INIT.invokeExact(actions));
            check("posix_spawnattr_init", (int) ATTR_INIT.invokeExact(attr));
            try {
                check("addopen(0)", (int) ADD_OPEN.invokeExact(actions, 0, devNull, Descriptors.O_RDONLY, 0));
                check("addopen(1)", (int) ADD_OPEN.invokeExact(actions, 1, devNull, Descriptors.O_WRONLY, 0));
                check("adddup2(3)", (int) ADD_DUP2.invokeExact(actions, c, TransparentSupervisor.CONNECTION_FD));
                check("adddup2(4)", (int) ADD_DUP2.invokeExact(actions, h, TransparentSupervisor.HANDOFF_FD));
                if (ADD_CLOSEFROM != null) {
                    check("addclosefrom_np(5)", (int) ADD_CLOSEFROM.invokeExact(actions, 5));
                }
                check("posix_spawnattr_setflags", (int) ATTR_SETFLAGS.invokeExact(attr,
                        (short) (POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK)));
                check("posix_spawnattr_setsigmask", (int) ATTR_SETSIGMASK.invokeExact(attr, sigset));
                MemorySegment path = arena.allocateFrom(argv.get(0));
                MemorySegment a = strings(arena, argv);
                List<String> e = new ArrayList<>();
                env.forEach((k, v) -> e.add(k + "=" + v));
                MemorySegment ev = strings(arena, e);
                check("posix_spawn(" + argv.get(0) + ")", (int) SPAWN.invokeExact(pid, path, actions, attr, a, ev));
                return pid.get(JAVA_INT, 0);
            } finally {
                int ignored = (int) ACTIONS_DESTROY.invokeExact(actions);
                ignored = (int) ATTR_DESTROY.invokeExact(attr);
            }
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("posix_spawn downcall failed", t);
        } finally {
            Descriptors.closeQuietly(c);
            Descriptors.closeQuietly(h);
        }
    }

    private static void check(String call, int rc) {
        if (rc != 0) {
            throw new KernelException(call, rc); // posix_spawn* return the error number
        }
    }

    private static MemorySegment strings(Arena arena, List<String> values) {
        MemorySegment array = arena.allocate(ADDRESS, values.size() + 1L);
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ADDRESS, i, arena.allocateFrom(values.get(i)));
        }
        array.setAtIndex(ADDRESS, values.size(), MemorySegment.NULL);
        return array;
    }
}
