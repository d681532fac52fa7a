package org.ringwarden.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What the kernel says a thread of this process is doing, from {@code /proc/self/task/TID}:
 * for tests that must act only once a thread is really blocked in a system call (instead of
 * sleeping and hoping it is), or prove that it still is.
 */
public final class ThreadStates {
    private ThreadStates() {
    }

    /**
     * One reading of a thread.
     *
     * @param state   the state letter of {@code stat} ('R', 'S', 'D', ...)
     * @param syscall the number of the system call it is blocked in, -1 if it is blocked outside
     *                one, -2 if it is running (or gone)
     * @param args    the call's six arguments (zeros unless blocked in a call)
     */
    public record State(char state, long syscall, long[] args) {
        /** Asleep ('S' interruptible, 'D' uninterruptible or killable) in system call {@code nr}. */
        public boolean blockedIn(long nr) {
            return (state == 'S' || state == 'D') && syscall == nr;
        }

        @Override
        public String toString() {
            return "state " + state + ", syscall " + syscall;
        }
    }

    /** Reads thread {@code tid} of this process now; state '?' if it is gone. */
    public static State read(int tid) {
        Path task = Path.of("/proc/self/task/" + tid);
        try {
            String stat = Files.readString(task.resolve("stat"));
            // "tid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            // "running", "-1 sp pc", or "nr arg1 ... arg6 sp pc" (see proc(5)).
            String[] f = Files.readString(task.resolve("syscall")).trim().split(" ");
            long[] args = new long[6];
            if (f[0].equals("running")) {
                return new State(state, -2, args);
            }
            long nr = Long.parseLong(f[0]);
            for (int i = 0; nr >= 0 && i < 6; i++) {
                args[i] = Long.parseUnsignedLong(f[i + 1].substring(2), 16);
            }
            return new State(state, nr, args);
        } catch (NoSuchFileException e) {
            return new State('?', -2, new long[6]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits until thread {@code tid} is asleep in system call {@code nr} (polling /proc; the
     * timeout only guards against a hang) and returns what was seen.
     *
     * @throws AssertionError with the last reading if it never was
     */
    public static State awaitBlockedIn(int tid, long nr, Duration timeout) throws InterruptedException {
        return awaitState(tid, nr, "SD", timeout);
    }

    /** Like {@link #awaitBlockedIn}, but only in one of the state letters {@code states} (e.g. "D"). */
    public static State awaitState(int tid, long nr, String states, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        State s;
        while (!((s = read(tid)).blockedIn(nr) && states.indexOf(s.state()) >= 0)) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("thread " + tid + " never slept (" + states + ") in system call " + nr
                        + " within " + timeout + "; last seen: " + s);
            }
            Thread.sleep(1);
        }
        return s;
    }
}
