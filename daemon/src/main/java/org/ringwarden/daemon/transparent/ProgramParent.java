package org.ringwarden.daemon.transparent;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Pidfd;
import org.ringwarden.linux.Syscall;

import sun.misc.Signal;

/**
 * {@code ringwarden run} as the program's parent, the way {@code sudo}, {@code timeout} and
 * {@code firejail} are (docs/transparent.md, "Process layout"): it is the child subreaper of
 * everything the program starts (an orphan is reparented to it, not to init, so it stays an
 * ancestor of every process under the filter: Yama's rule), it forwards the signals sent to it
 * to the program, it stops when the program stops, and it returns the program's exit status
 * (128 + N for death by signal N) once the program and every process it left behind have
 * exited.
 */
final class ProgramParent {
    private static final int PR_SET_CHILD_SUBREAPER = 36;
    private static final long SYS_WAIT4 = 61;
    private static final long SYS_GETPGRP = 111;
    private static final int WUNTRACED = 2;
    private static final int WALL = 0x40000000;
    private static final int TIOCGPGRP = 0x540F;
    private static final int SIGSTOP = 19;
    /** Sent by a terminal to its foreground process group, which the program shares with us. */
    private static final List<String> TERMINAL_SIGNALS = List.of("INT", "TSTP", "WINCH");
    /** Forwarded always: a terminal does not send them to a foreground job. */
    private static final List<String> FORWARDED_SIGNALS = List.of("TERM", "HUP", "USR1", "USR2", "ALRM", "CONT");

    private ProgramParent() {
    }

    /** Makes orphans of our descendants our children (not init's). Call before the program starts. */
    static void becomeSubreaper() {
        Syscall.checked("prctl(PR_SET_CHILD_SUBREAPER)", Syscall.SYS_PRCTL, PR_SET_CHILD_SUBREAPER, 1);
    }

    /**
     * Forwards signals sent to {@code ringwarden run} to the program (through its pidfd: never
     * to a reused pid). A terminal sends SIGINT, SIGTSTP and SIGWINCH to its whole foreground
     * process group, which includes the program already: those are forwarded only when
     * {@code ringwarden run} is not in the terminal's foreground group (someone used kill).
     *
     * <p>Call before the program starts, and hand it the program with
     * {@link SignalForwarding#to}: a signal that arrives in between is kept and sent the moment
     * the program exists. Installed after the start, a SIGTSTP sent as soon as the program runs
     * could still meet the JVM's default action and stop {@code ringwarden run} alone.
     */
    static SignalForwarding forwardSignals() {
        SignalForwarding f = new SignalForwarding();
        for (String name : FORWARDED_SIGNALS) {
            Signal.handle(new Signal(name), s -> f.signal(s.getNumber()));
        }
        for (String name : TERMINAL_SIGNALS) {
            Signal.handle(new Signal(name), s -> {
                if (!inTerminalForeground()) {
                    f.signal(s.getNumber());
                }
            });
        }
        return f;
    }

    /** Where forwarded signals go: nowhere yet, then the program. */
    static final class SignalForwarding {
        private volatile @Nullable Pidfd program;
        private final java.util.Queue<Integer> early = new java.util.concurrent.ConcurrentLinkedQueue<>();

        private void signal(int number) {
            Pidfd p = program;
            if (p == null) {
                early.add(number);
                p = program;
                if (p == null) {
                    return; // to() sends it
                }
                drain(p);
                return;
            }
            send(p, number);
        }

        /** From now on signals go to {@code started}; those that came before go first. */
        void to(Pidfd started) {
            program = started;
            drain(started);
        }

        private void drain(Pidfd p) {
            Integer n;
            while ((n = early.poll()) != null) {
                send(p, n);
            }
        }
    }

    private static void send(Pidfd program, int signal) {
        try {
            program.sendSignal(signal);
        } catch (KernelException e) {
            // ESRCH: the program has exited (its orphans are not signalled, as with sudo).
        }
    }

    /** True if one of stdin, stdout, stderr is a terminal whose foreground process group is ours. */
    private static boolean inTerminalForeground() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pgrp = a.allocate(JAVA_INT);
            long mine = Syscall.rawOnThisThread(SYS_GETPGRP, 0, 0, 0, 0, 0, 0);
            for (int fd = 0; fd <= 2; fd++) {
                if (Syscall.rawOnThisThread(Syscall.SYS_IOCTL, fd, TIOCGPGRP, pgrp.address(), 0, 0, 0) == 0
                        && pgrp.get(JAVA_INT, 0) == mine) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * Reaps children (the program and the orphans reparented to us) until none is left, stopping
     * this process whenever the program stops (so that a shell sees the job stop, and its
     * SIGCONT reaches both).
     *
     * @return the program's exit code, or 128 + N if signal N killed it
     */
    static int reapAll(int programPid) {
        int code = TransparentRun.EXIT_FAILED;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment status = a.allocate(JAVA_INT);
            MemorySegment capture = Syscall.newCaptureState(a);
            while (true) {
                long pid = Syscall.raw(capture, SYS_WAIT4, -1, status.address(), WUNTRACED | WALL, 0, 0, 0);
                if (pid == -Errno.EINTR.number()) {
                    continue;
                }
                if (pid == -Errno.ECHILD.number()) {
                    return code;
                }
                if (pid < 0) {
                    throw new KernelException("wait4", (int) -pid);
                }
                int s = status.get(JAVA_INT, 0);
                if (pid != programPid) {
                    continue; // an orphan the program left behind: reaped, nothing to report
                }
                if ((s & 0xff) == 0x7f) { // stopped
                    Syscall.rawOnThisThread(Syscall.SYS_KILL, Syscall.rawOnThisThread(Syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0),
                            SIGSTOP, 0, 0, 0, 0);
                } else if ((s & 0x7f) == 0) {
                    code = (s >> 8) & 0xff;
                } else {
                    code = 128 + (s & 0x7f);
                }
            }
        }
    }
}
