package org.ringwarden.daemon.oci;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.ringwarden.linux.Descriptors;

/**
 * Starts a process with given descriptors as its fds 3, 4, ... as systemd does for a service
 * ({@code LISTEN_FDS}), through libc's {@code posix_spawn} ({@link ProcessBuilder} passes no
 * descriptor). {@code LISTEN_PID} must be the service's own pid, so the command runs under
 * {@code sh -c 'LISTEN_PID=$$ exec "$@"'}: the shell's pid is the one the command keeps.
 */
final class FdSpawner {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SPAWN = fn("posix_spawn", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
            ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle ACTIONS_INIT = fn("posix_spawn_file_actions_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ADD_DUP2 = fn("posix_spawn_file_actions_adddup2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle ADD_OPEN = fn("posix_spawn_file_actions_addopen",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final int F_DUPFD_CLOEXEC = 1030;

    private FdSpawner() {
    }

    private static MethodHandle fn(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), d);
    }

    /** Spawns {@code command} with {@code fds} as 3.., stdout and stderr to {@code log}; returns its pid. */
    static int spawn(List<String> command, Map<String, String> env, int[] fds, java.nio.file.Path log) throws Throwable {
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", "LISTEN_PID=$$; export LISTEN_PID; exec \"$@\"", "sh"));
        argv.addAll(command);
        int[] moved = new int[fds.length];
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < fds.length; i++) {
                moved[i] = (int) Descriptors.fcntl(fds[i], F_DUPFD_CLOEXEC, 100); // out of the way of 3..
            }
            MemorySegment actions = arena.allocate(160, 16);
            MemorySegment pid = arena.allocate(JAVA_INT);
            int rc = (int) ACTIONS_INIT.invokeExact(actions);
            MemorySegment devNull = arena.allocateFrom("/dev/null");
            MemorySegment logPath = arena.allocateFrom(log.toString());
            rc |= (int) ADD_OPEN.invokeExact(actions, 0, devNull, Descriptors.O_RDONLY, 0);
            rc |= (int) ADD_OPEN.invokeExact(actions, 1, logPath, Descriptors.O_WRONLY | Descriptors.O_CREAT
                    | Descriptors.O_APPEND, 0644);
            rc |= (int) ADD_DUP2.invokeExact(actions, 1, 2);
            for (int i = 0; i < moved.length; i++) {
                rc |= (int) ADD_DUP2.invokeExact(actions, moved[i], 3 + i); // dup2 clears close-on-exec
            }
            if (rc != 0) {
                throw new IllegalStateException("posix_spawn_file_actions failed");
            }
            List<String> e = new ArrayList<>();
            env.forEach((k, v) -> e.add(k + "=" + v));
            int r = (int) SPAWN.invokeExact(pid, arena.allocateFrom(argv.get(0)), actions, MemorySegment.NULL,
                    strings(arena, argv), strings(arena, e));
            if (r != 0) {
                throw new IllegalStateException("posix_spawn: errno " + r);
            }
            return pid.get(JAVA_INT, 0);
        } finally {
            for (int m : moved) {
                Descriptors.closeQuietly(m);
            }
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
