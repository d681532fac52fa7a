package org.ringwarden.daemon.grant;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

import org.ringwarden.linux.Errno;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.Syscall;

/**
 * Whether a trapped thread belongs to the process tree of a connection's peer.
 *
 * <p>The seccomp notification names the caller by TID. Its thread group ({@code Tgid}) and then
 * the {@code PPid} chain are read from {@code /proc}, up to the peer's pid. A pid alone could be
 * a recycled one, so the peer's pidfd must still be alive: while it is, its pid cannot be reused,
 * so a chain that reaches it reaches the peer. The caller checks {@code NOTIF_ID_VALID}
 * afterwards, which proves the trapped thread (and so the TID read here) was still the same.
 */
final class ProcessTree {
    /** A chain longer than this is treated as not reaching the peer (pid_max is 4M; trees are shallow). */
    private static final int MAX_DEPTH = 1024;

    private ProcessTree() {
    }

    /**
     * True if thread {@code tid} is in process {@code ancestorPid} or one of its descendants,
     * and {@code ancestorPidfd} (a pidfd of {@code ancestorPid}) shows that process still alive.
     */
    static boolean contains(int ancestorPid, int ancestorPidfd, int tid) {
        if (isThreadOf(ancestorPid, tid)) {
            return isAlive(ancestorPidfd);
        }
        int pid = field(tid, "Tgid:");
        for (int depth = 0; pid > 0 && depth < MAX_DEPTH; depth++) {
            if (pid == ancestorPid) {
                return isAlive(ancestorPidfd);
            }
            if (pid == 1) {
                return false;
            }
            pid = field(pid, "PPid:");
        }
        return false;
    }

    /**
     * True if {@code tid} is a thread of process {@code pid}: {@code tgkill(pid, tid, 0)} finds
     * the thread only in that thread group ({@code ESRCH} otherwise) and sends nothing
     * ({@code EPERM}, for a daemon without {@code CAP_KILL}, also means the thread was found). The
     * usual caller is a thread of the peer itself, and one system call answers that without a
     * path walk through {@code /proc} (was: {@code /proc/PID/task/TID} exists) or generating and
     * parsing {@code /proc/TID/status}.
     */
    static boolean isThreadOf(int pid, int tid) {
        if (pid <= 0 || tid <= 0) {
            return false;
        }
        long r = Syscall.rawRetrying(CAPTURE.get(), Syscall.SYS_TGKILL, pid, tid, 0, 0, 0, 0);
        return r == 0 || r == -Errno.EPERM.number();
    }

    private static final ThreadLocal<MemorySegment> CAPTURE = ThreadLocal.withInitial(Syscall::newCaptureState);

    /**
     * True until the process of {@code pidfd} has exited (its pidfd turns readable then). An
     * exited peer gets no more rings, even while it is a zombie whose pid cannot be reused yet.
     */
    static boolean isAlive(int pidfd) {
        if (pidfd < 0) {
            return false;
        }
        // POLLNVAL (not a descriptor) or POLLIN (exited) both mean "not the live peer".
        return Poll.poll(pidfd, Poll.POLLIN, 0) == 0;
    }

    /**
     * Process {@code pid} and its descendants, as far as {@code /proc/PID/task/TID/children}
     * shows them now, at most {@code max} of them. A process that forks meanwhile may be missed;
     * the caller asks again (complain-mode tracing follows forks in the kernel anyway).
     */
    static java.util.Set<Integer> withDescendants(int pid, int max) {
        java.util.Set<Integer> out = new java.util.LinkedHashSet<>();
        java.util.ArrayDeque<Integer> todo = new java.util.ArrayDeque<>();
        todo.add(pid);
        while (!todo.isEmpty() && out.size() < max) {
            int p = todo.poll();
            if (!out.add(p)) {
                continue;
            }
            try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc", Integer.toString(p), "task"))) {
                for (Path task : (Iterable<Path>) tasks::iterator) {
                    String children = Files.readString(task.resolve("children"), StandardCharsets.US_ASCII).trim();
                    if (!children.isEmpty()) {
                        for (String c : children.split("\\s+")) {
                            todo.add(Integer.parseInt(c));
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                // gone, or a task went while listed: what was read stands
            }
        }
        return out;
    }

    /** Every task of processes {@code pids} now, in order, at most {@code max}; a process gone meanwhile has none. */
    static java.util.Set<Integer> tasksOf(java.util.Collection<Integer> pids, int max) {
        java.util.Set<Integer> tids = new java.util.TreeSet<>();
        for (int pid : pids) {
            try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc", Integer.toString(pid), "task"))) {
                tasks.limit(max).forEach(t -> tids.add(Integer.parseInt(t.getFileName().toString())));
            } catch (IOException | RuntimeException e) {
                // gone meanwhile
            }
        }
        return tids.size() <= max ? tids : new java.util.TreeSet<>(List.copyOf(tids).subList(0, max));
    }

    /** The numeric value of {@code key} in {@code /proc/PID/status}, or -1 if the process is gone. */
    static int field(int pid, String key) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(Path.of("/proc", Integer.toString(pid), "status"));
        } catch (NoSuchFileException e) {
            return -1;
        } catch (IOException e) {
            return -1; // ESRCH while reading: the process exited under us
        }
        String status = new String(bytes, StandardCharsets.US_ASCII);
        int at = status.indexOf("\n" + key);
        if (at < 0) {
            return -1;
        }
        int start = at + 1 + key.length();
        int end = status.indexOf('\n', start);
        try {
            return Integer.parseInt(status.substring(start, end < 0 ? status.length() : end).trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The first number of a {@code /proc/PID/status} line such as {@code Uid:} (the real id); -1 if unreadable. */
    static int firstOf(int pid, String key) {
        try {
            String status = Files.readString(Path.of("/proc", Integer.toString(pid), "status"), StandardCharsets.US_ASCII);
            int at = status.indexOf("\n" + key);
            if (at < 0) {
                return -1;
            }
            String[] values = status.substring(at + 1 + key.length(), Math.max(at + 1 + key.length(),
                    status.indexOf('\n', at + 1))).trim().split("\\s+");
            return Integer.parseInt(values[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
