package org.ringwarden.daemon;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Observing the daemon's threads and descriptors through {@code /proc/self}, for tests that
 * must act only once something is really waiting in the kernel instead of sleeping and hoping
 * it is. The daemon runs in the test JVM, so its threads are tasks of this process.
 */
public final class KernelWaits {
    /** {@code poll(2)} on x86_64. */
    public static final long SYS_POLL = 7;
    /** {@code io_uring_setup(2)}. */
    public static final long SYS_IO_URING_SETUP = 425;

    private KernelWaits() {
    }

    /** The TID of the one thread of this process whose name is {@code name} (as the kernel keeps it: 15 bytes). */
    public static int threadNamed(String name) {
        String comm = name.length() > 15 ? name.substring(0, 15) : name;
        List<Integer> found = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    if (Files.readString(t.resolve("comm")).strip().equals(comm)) {
                        found.add(Integer.parseInt(t.getFileName().toString()));
                    }
                } catch (NoSuchFileException gone) {
                    // ended while we listed
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (found.size() != 1) {
            throw new AssertionError(found.size() + " threads named " + comm + ": " + found);
        }
        return found.get(0);
    }

    /**
     * Waits until thread {@code tid} sleeps ('S' or 'D' in {@code /proc/self/task/TID/stat})
     * in system call {@code nr} ({@code /proc/self/task/TID/syscall}); the timeout only guards
     * against a hang.
     *
     * @throws AssertionError with the last state seen if it never did
     */
    public static void awaitBlockedIn(int tid, long nr, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String seen;
        while (!blockedIn(seen = describe(tid), nr)) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("thread " + tid + " never slept in system call " + nr + " within " + timeout
                        + "; last seen: " + seen);
            }
            Thread.sleep(1);
        }
    }

    /** "STATE SYSCALL-LINE" of a thread now, e.g. "S 7 0x7f... 0x2 ...", or "gone". */
    private static String describe(int tid) {
        Path task = Path.of("/proc/self/task/" + tid);
        try {
            String stat = Files.readString(task.resolve("stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2); // comm may hold spaces and parentheses
            return state + " " + Files.readString(task.resolve("syscall")).strip();
        } catch (NoSuchFileException e) {
            return "gone";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean blockedIn(String described, long nr) {
        return (described.startsWith("S ") || described.startsWith("D ")) && described.startsWith(nr + " ", 2);
    }

    /**
     * Every entry of every epoll instance of this process, as {@code /proc/self/fdinfo} shows
     * it: {@code "tfd: FD events: MASK data: ... ino: ..."} (events in hex, EPOLLET included).
     */
    public static List<String> epollEntries() {
        List<String> entries = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (!Files.readSymbolicLink(fd).toString().equals("anon_inode:[eventpoll]")) {
                        continue;
                    }
                    for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd.getFileName()))) {
                        if (line.startsWith("tfd:")) {
                            entries.add(line.strip());
                        }
                    }
                } catch (NoSuchFileException closed) {
                    // closed while we listed
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return entries;
    }
}
