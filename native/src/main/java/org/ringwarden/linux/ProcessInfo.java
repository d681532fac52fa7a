package org.ringwarden.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Facts about a process or thread read from {@code /proc}. Every answer is about whoever has
 * that pid <em>now</em>: pair it with a pidfd (or a seccomp notification's
 * {@code isValid}) checked afterwards to know it was still the same task.
 */
public final class ProcessInfo {
    private ProcessInfo() {
    }

    /** The supplementary group ids ({@code Groups:} of {@code /proc/PID/status}). */
    public static int[] supplementaryGroups(int pid) {
        String line = statusField(pid, "Groups:");
        if (line.isBlank()) {
            return new int[0];
        }
        return Arrays.stream(line.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
    }

    /** The thread group (process) id of task {@code tid} ({@code Tgid:}); a seccomp notification names a TID. */
    public static int threadGroupOf(int tid) {
        return Integer.parseInt(statusField(tid, "Tgid:").trim());
    }

    /**
     * The real, effective, saved and file-system user ids ({@code Uid:} of {@code /proc/PID/status}).
     * Read by anyone: {@code status} needs no ptrace access.
     */
    public static int[] uids(int pid) {
        return ids(statusField(pid, "Uid:"));
    }

    /** The real, effective, saved and file-system group ids ({@code Gid:}). */
    public static int[] gids(int pid) {
        return ids(statusField(pid, "Gid:"));
    }

    private static int[] ids(String line) {
        // Printed unsigned: (uid_t) -1 for an unmapped id would not fit an int otherwise.
        return Arrays.stream(line.trim().split("\\s+")).mapToLong(Long::parseLong).mapToInt(l -> (int) l).toArray();
    }

    /** The parent process id ({@code PPid:}). */
    public static int parentOf(int pid) {
        return Integer.parseInt(statusField(pid, "PPid:").trim());
    }

    /** The executable ({@code readlink /proc/PID/exe}); ends with {@code " (deleted)"} if it was unlinked. */
    public static Path exe(int pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "exe"));
        } catch (IOException e) {
            throw new UncheckedIOException("readlink /proc/" + pid + "/exe", e);
        }
    }

    private static String statusField(int pid, String key) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"), StandardCharsets.UTF_8)) {
                if (l.startsWith(key)) {
                    return l.substring(key.length());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("read /proc/" + pid + "/status", e);
        }
        throw new IllegalStateException("/proc/" + pid + "/status has no " + key);
    }
}
