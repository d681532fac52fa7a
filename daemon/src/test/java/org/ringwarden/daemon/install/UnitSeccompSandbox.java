package org.ringwarden.daemon.install;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ringwarden.linux.Syscall;

/**
 * Runs a Java main under the seccomp policy the unit asks systemd for, built here because
 * PID 1 is not systemd: SystemCallArchitectures=native, SystemCallFilter= (the allowed
 * numbers, read from a file) with SystemCallErrorNumber=EPERM, and RestrictAddressFamilies=AF_UNIX
 * (socket() of any other family fails with EAFNOSUPPORT). NoNewPrivileges too, as the unit.
 * The filter covers every thread (TSYNC) from here on; the JVM's own start is covered by the
 * strace test instead.
 * <pre>
 * UnitSeccompSandbox ALLOWED_NUMBERS_FILE MAIN_CLASS ARGS...
 * UnitSeccompSandbox ALLOWED_NUMBERS_FILE --self-check
 * </pre>
 */
public final class UnitSeccompSandbox {
    private static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    private static final int X32_SYSCALL_BIT = 0x40000000;
    private static final int SYS_SOCKET = 41;
    private static final int AF_UNIX = 1;
    private static final int AF_INET = 2;
    private static final int EPERM = 1;
    private static final int EAFNOSUPPORT = 97;

    private static final short LD_W_ABS = 0x20;
    private static final short JEQ_K = 0x15;
    private static final short JGE_K = 0x35;
    private static final short RET_K = 0x06;
    private static final int RET_ALLOW = 0x7fff0000;
    private static final int RET_ERRNO = 0x00050000;

    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int SECCOMP_SET_MODE_FILTER = 1;
    private static final int SECCOMP_FILTER_FLAG_TSYNC = 1;

    private UnitSeccompSandbox() {
    }

    public static void main(String[] args) throws Throwable {
        int[] allowed = Files.readAllLines(Path.of(args[0])).stream().map(String::strip).filter(s -> !s.isEmpty())
                .mapToInt(Integer::parseInt).toArray();
        install(allowed);
        if (args[1].equals("--self-check")) {
            selfCheck();
            return;
        }
        Class.forName(args[1]).getMethod("main", String[].class).invoke(null, (Object) Arrays.copyOfRange(args, 2, args.length));
    }

    /** What the filter does to a forbidden call, a foreign socket family and a Unix socket. */
    private static void selfCheck() {
        System.out.println("pidfd_getfd=" + Syscall.rawOnThisThread(Syscall.SYS_PIDFD_GETFD, 0, 0, 0, 0, 0, 0));
        System.out.println("seccomp=" + Syscall.rawOnThisThread(Syscall.SYS_SECCOMP, 0, 0, 0, 0, 0, 0));
        System.out.println("socketInet=" + Syscall.rawOnThisThread(Syscall.SYS_SOCKET, AF_INET, 1, 0, 0, 0, 0));
        long unix = Syscall.rawOnThisThread(Syscall.SYS_SOCKET, AF_UNIX, 1, 0, 0, 0, 0);
        System.out.println("socketUnix=" + (unix >= 0 ? "fd" : Long.toString(unix)));
    }

    private static void install(int[] allowed) {
        List<int[]> program = new ArrayList<>(); // {code, jt, jf, k}
        program.add(new int[] {LD_W_ABS, 0, 0, 4}); // seccomp_data.arch
        program.add(new int[] {JEQ_K, 1, 0, AUDIT_ARCH_X86_64});
        program.add(new int[] {RET_K, 0, 0, RET_ERRNO | EPERM});
        program.add(new int[] {LD_W_ABS, 0, 0, 0}); // seccomp_data.nr
        program.add(new int[] {JGE_K, 0, 1, X32_SYSCALL_BIT});
        program.add(new int[] {RET_K, 0, 0, RET_ERRNO | EPERM});
        if (Arrays.stream(allowed).anyMatch(n -> n == SYS_SOCKET)) {
            program.add(new int[] {JEQ_K, 0, 4, SYS_SOCKET});
            program.add(new int[] {LD_W_ABS, 0, 0, 16}); // args[0], low half (little endian)
            program.add(new int[] {JEQ_K, 0, 1, AF_UNIX});
            program.add(new int[] {RET_K, 0, 0, RET_ALLOW});
            program.add(new int[] {RET_K, 0, 0, RET_ERRNO | EAFNOSUPPORT});
        }
        for (int nr : allowed) {
            program.add(new int[] {JEQ_K, 0, 1, nr});
            program.add(new int[] {RET_K, 0, 0, RET_ALLOW});
        }
        program.add(new int[] {RET_K, 0, 0, RET_ERRNO | EPERM});

        Arena arena = Arena.global();
        MemorySegment filter = arena.allocate(8L * program.size(), 8);
        for (int i = 0; i < program.size(); i++) {
            int[] insn = program.get(i);
            long at = 8L * i;
            filter.set(ValueLayout.JAVA_SHORT, at, (short) insn[0]);
            filter.set(ValueLayout.JAVA_BYTE, at + 2, (byte) insn[1]);
            filter.set(ValueLayout.JAVA_BYTE, at + 3, (byte) insn[2]);
            filter.set(ValueLayout.JAVA_INT, at + 4, insn[3]);
        }
        MemorySegment fprog = arena.allocate(16, 8); // struct sock_fprog { u16 len; pad; sock_filter *filter; }
        fprog.set(ValueLayout.JAVA_SHORT, 0, (short) program.size());
        fprog.set(ValueLayout.JAVA_LONG, 8, filter.address());
        Syscall.checked("prctl(PR_SET_NO_NEW_PRIVS)", Syscall.SYS_PRCTL, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
        Syscall.checked("seccomp(SET_MODE_FILTER)", Syscall.SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                fprog.address());
    }
}
