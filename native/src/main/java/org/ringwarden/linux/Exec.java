package org.ringwarden.linux;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * {@code execve(2)}: replaces the calling process's program. A seccomp filter, no-new-privs
 * and every fd without close-on-exec survive it (that is how a client's filter binds the
 * program it launches).
 */
public final class Exec {
    private Exec() {
    }

    /**
     * {@code execve(path, argv, envp)}. Returns only by throwing: on success the JVM is gone.
     * Other threads of the process end at a successful exec.
     *
     * @throws KernelException why the exec failed ({@code ENOENT}, {@code EACCES}, {@code ENOEXEC}, ...)
     */
    public static void execve(String path, List<String> argv, List<String> envp) {
        requireNonNull(path, "path");
        requireNonNull(argv, "argv");
        requireNonNull(envp, "envp");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            MemorySegment a = strings(arena, argv);
            MemorySegment e = strings(arena, envp);
            Syscall.checked("execve(" + path + ")", Syscall.SYS_EXECVE, p.address(), a.address(), e.address());
        }
        throw new AssertionError("execve returned success to its caller");
    }

    /** A NULL-terminated {@code char *[]}. */
    private static MemorySegment strings(Arena arena, List<String> values) {
        MemorySegment array = arena.allocate(ValueLayout.ADDRESS, values.size() + 1L);
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(requireNonNull(values.get(i), "argument")));
        }
        array.setAtIndex(ValueLayout.ADDRESS, values.size(), MemorySegment.NULL);
        return array;
    }
}
