package org.ringwarden.daemon.transparent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.jspecify.annotations.Nullable;

/**
 * Yama's {@code kernel.yama.ptrace_scope}, read before {@code ringwarden run} starts anything
 * (docs/transparent.md, "Yama"). Scopes 0 and 1 work: {@code ringwarden run} does the memory
 * work itself and is an ancestor of every process under its filter. Scopes 2 and 3 let only
 * {@code CAP_SYS_PTRACE} (2) or nobody (3) read another process's memory, so no trapped call
 * could be answered: the run is refused at start, naming the sysctl.
 *
 * @param scope the value read; -1 where Yama is absent (no file) or the file cannot be read
 */
record YamaScope(int scope) {
    /** Where the kernel publishes it. */
    static final Path SYSCTL = Path.of("/proc/sys/kernel/yama/ptrace_scope");

    /** Reads {@code file} (the sysctl, or a test's copy of it). */
    static YamaScope read(Path file) {
        try {
            return new YamaScope(Integer.parseInt(Files.readString(file).trim()));
        } catch (NoSuchFileException e) {
            return new YamaScope(-1);
        } catch (IOException | NumberFormatException e) {
            return new YamaScope(-1); // unreadable: let the kernel decide, as it will
        }
    }

    /** Why {@code ringwarden run} cannot work under this scope; null if it can. */
    @Nullable String refusal() {
        return switch (scope) {
            case 2 -> "kernel.yama.ptrace_scope is 2 (admin-only attach): reading a program's io_uring_params needs"
                    + " CAP_SYS_PTRACE, which ringwarden run does not have; transparent mode needs"
                    + " kernel.yama.ptrace_scope 0 or 1";
            case 3 -> "kernel.yama.ptrace_scope is 3 (no attach): no process may read another's io_uring_params;"
                    + " transparent mode needs kernel.yama.ptrace_scope 0 or 1 (3 cannot be lowered without a reboot)";
            default -> null;
        };
    }
}
