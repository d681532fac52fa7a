package org.ringwarden.daemon.transparent;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.ringwarden.linux.KernelException;

import org.jspecify.annotations.Nullable;

/**
 * Starts the program of {@code ringwarden run} with {@code posix_spawn(3)} from libc, from the
 * calling thread: a JVM cannot run Java code in a {@code fork()}ed child, and the child must
 * inherit what only the calling thread has (its seccomp filter and no-new-privs, both
 * per-thread until a child copies them at {@code clone}). The program starts as from a shell:
 * stdin, stdout and stderr inherited and every other descriptor closed, nothing blocked in its
 * signal mask, glibc's reserved signals 32 and 33 at their default action, and in the caller's
 * process group and session (so a terminal's Ctrl-C and Ctrl-Z reach it as they reach
 * {@code ringwarden run}). Signals the caller of {@code ringwarden run} ignored (nohup's SIGHUP)
 * stay ignored.
 */
final class ProgramSpawner {
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    private static final long ACTIONS_SIZE = 80; // glibc's posix_spawn_file_actions_t
    private static final long ATTR_SIZE = 336; // glibc's posix_spawnattr_t
    private static final long SIGSET_SIZE = 128;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MethodHandle SPAWN = fn("posix_spawn", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
            ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle ACTIONS_INIT = fn("posix_spawn_file_actions_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ACTIONS_DESTROY = fn("posix_spawn_file_actions_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    /** Null when this libc lacks it (glibc before 2.34): then the JVM's descriptors are made close-on-exec first. */
    private static final @Nullable MethodHandle ADD_CLOSEFROM = LIBC.find("posix_spawn_file_actions_addclosefrom_np")
            .map(a -> LINKER.downcallHandle(a, FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT))).orElse(null);
    private static final MethodHandle ATTR_INIT = fn("posix_spawnattr_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ATTR_DESTROY = fn("posix_spawnattr_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ATTR_SETFLAGS = fn("posix_spawnattr_setflags",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT));
    private static final MethodHandle ATTR_SETSIGMASK = fn("posix_spawnattr_setsigmask",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ATTR_SETSIGDEFAULT = fn("posix_spawnattr_setsigdefault",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));

    private ProgramSpawner() {
    }

    private static MethodHandle fn(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name)), d);
    }

    /** True where the child's descriptors above 2 can be closed by posix_spawn itself. */
    static boolean closesDescriptors() {
        return ADD_CLOSEFROM != null;
    }

    /**
     * Spawns {@code program} with {@code argv} and {@code env} from the calling thread. Returns
     * the child's pid.
     *
     * @throws KernelException with the exec's errno ({@code ENOENT}, {@code EACCES}, {@code ENOEXEC}...)
     */
    static int spawn(String program, List<String> argv, Map<String, String> env) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment actions = arena.allocate(ACTIONS_SIZE * 2, 16);
            MemorySegment attr = arena.allocate(ATTR_SIZE * 2, 16);
            MemorySegment empty = arena.allocate(SIGSET_SIZE, 8);
            // glibc's sigaddset refuses its reserved signals; the JVM leaves them ignored or
            // handled, and a handled signal is reset by exec anyway: set the bits directly.
            MemorySegment reserved = arena.allocate(SIGSET_SIZE, 8);
            reserved.set(JAVA_LONG, 0, (1L << (32 - 1)) | (1L << (33 - 1)));
            MemorySegment pid = arena.allocate(JAVA_INT);
            check("posix_spawn_file_actions_init", (int) ACTIONS_INIT.invokeExact(actions));
            check("posix_spawnattr_init", (int) ATTR_INIT.invokeExact(attr));
            try {
                if (ADD_CLOSEFROM != null) {
                    check("addclosefrom_np(3)", (int) ADD_CLOSEFROM.invokeExact(actions, 3));
                }
                check("posix_spawnattr_setflags", (int) ATTR_SETFLAGS.invokeExact(attr,
                        (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)));
                check("posix_spawnattr_setsigmask", (int) ATTR_SETSIGMASK.invokeExact(attr, empty));
                check("posix_spawnattr_setsigdefault", (int) ATTR_SETSIGDEFAULT.invokeExact(attr, reserved));
                MemorySegment path = arena.allocateFrom(program);
                MemorySegment a = strings(arena, argv);
                List<String> e = new ArrayList<>();
                env.forEach((k, v) -> e.add(k + "=" + v));
                MemorySegment ev = strings(arena, e);
                check("posix_spawn(" + program + ")", (int) SPAWN.invokeExact(pid, path, actions, attr, a, ev));
                return pid.get(JAVA_INT, 0);
            } finally {
                int ignored = (int) ACTIONS_DESTROY.invokeExact(actions);
                ignored = (int) ATTR_DESTROY.invokeExact(attr);
            }
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("posix_spawn downcall failed", t);
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
