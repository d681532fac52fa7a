package org.ringwarden.daemon.transparent;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Syscall;

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
 *
 * <p>One function of libc is linked, {@code posix_spawn} itself: each distinct signature a
 * downcall handle is linked for costs the JVM about 10 ms of class spinning at every start of
 * {@code ringwarden run}, and the attribute and file-action helpers had five. So the attributes
 * are written into glibc's {@code posix_spawnattr_t} directly (its layout is part of glibc's
 * ABI, public in {@code <spawn.h>}: {@code posix_spawnattr_init} only zeroes it and the setters
 * only store their argument), and the descriptors are made close-on-exec with
 * {@code close_range(2)} instead of a file action.
 */
final class ProgramSpawner {
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    /** glibc's posix_spawnattr_t (x86_64): short __flags @0, pid_t __pgrp @4, sigset_t __sd @8, __ss @136. */
    private static final long ATTR_SIZE = 336;
    private static final long ATTR_FLAGS = 0;
    private static final long ATTR_SIGDEFAULT = 8;
    private static final long SYS_CLOSE_RANGE = 436;
    private static final int CLOSE_RANGE_CLOEXEC = 1 << 2;
    private static final int F_SETFD = 2;
    private static final int FD_CLOEXEC = 1;

    private static final MethodHandle SPAWN = spawnHandle();

    private ProgramSpawner() {
    }

    /** Links {@code posix_spawn} now (this class's initialisation), ahead of the spawn. */
    static void link() {
        // Nothing to do: calling a static method initialises the class, which makes SPAWN.
    }

    private static MethodHandle spawnHandle() {
        Linker linker = Linker.nativeLinker();
        MemorySegment f = linker.defaultLookup().find("posix_spawn").orElseThrow(() -> new UnsatisfiedLinkError("posix_spawn"));
        return linker.downcallHandle(f, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    }

    /**
     * Spawns {@code program} with {@code argv} and {@code env} from the calling thread. Returns
     * the child's pid.
     *
     * @throws KernelException with the exec's errno ({@code ENOENT}, {@code EACCES}, {@code ENOEXEC}...)
     */
    static int spawn(String program, List<String> argv, Map<String, String> env) {
        closeOnExecAbove2();
        try (Arena arena = Arena.ofConfined()) {
            // Zeroed, as posix_spawnattr_init leaves it: no flags, empty signal sets.
            MemorySegment attr = arena.allocate(ATTR_SIZE * 2, 16);
            // An empty mask for the child (the JVM's threads block some signals), and glibc's
            // reserved signals 32 and 33 at their default: glibc's posix_spawn sets them to
            // SIG_IGN in the child otherwise, which would survive the exec. glibc's sigaddset
            // refuses them: set the bits directly.
            attr.set(JAVA_SHORT, ATTR_FLAGS, (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
            attr.set(JAVA_LONG, ATTR_SIGDEFAULT, (1L << (32 - 1)) | (1L << (33 - 1)));
            MemorySegment pid = arena.allocate(JAVA_INT);
            MemorySegment path = arena.allocateFrom(program);
            MemorySegment a = strings(arena, argv);
            List<String> e = new ArrayList<>();
            env.forEach((k, v) -> e.add(k + "=" + v));
            MemorySegment ev = strings(arena, e);
            int rc = (int) SPAWN.invokeExact(pid, path, MemorySegment.NULL, attr, a, ev);
            if (rc != 0) {
                throw new KernelException("posix_spawn(" + program + ")", rc); // posix_spawn returns the error number
            }
            return pid.get(JAVA_INT, 0);
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("posix_spawn downcall failed", t);
        }
    }

    /**
     * Marks every descriptor of this JVM above stderr close-on-exec (the JVM's jars and
     * {@code /proc} files are not all), so that the program starts with stdin, stdout and stderr
     * only. Called on the launch thread just before the spawn, once the daemon connection and
     * the listener (both close-on-exec already) are open; nothing else of {@code ringwarden run}
     * opens descriptors meanwhile. Where {@code close_range} lacks the flag (before Linux 5.11),
     * descriptor by descriptor from {@code /proc/self/fd}.
     */
    private static void closeOnExecAbove2() {
        if (Syscall.rawOnThisThread(SYS_CLOSE_RANGE, 3, 0xFFFF_FFFFL, CLOSE_RANGE_CLOEXEC, 0, 0, 0) == 0) {
            return;
        }
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path p : fds) {
                int fd = Integer.parseInt(p.getFileName().toString());
                if (fd > 2) {
                    Syscall.rawOnThisThread(Syscall.SYS_FCNTL, fd, F_SETFD, FD_CLOEXEC, 0, 0, 0);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new KernelException("close-on-exec of the inherited descriptors: " + e.getMessage(), Errno.EIO.number());
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
