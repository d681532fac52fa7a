package org.ringwarden.daemon.install;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.SetupFlag;

/**
 * A separate JVM, run as an unprivileged user under a small RLIMIT_MEMLOCK by
 * {@link MemlockArithmeticTest}, that measures what the kernel charges against that limit.
 * Prints {@code key=value} lines.
 * <pre>
 * rings SQ CQ          create rings until the kernel refuses; prints rings=N error=ERRNO
 * buffer-then-ring B   a 64-entry ring, a registered buffer of B bytes, then a second ring;
 *                      prints buffer=ok|ERRNO secondRing=ok|ERRNO
 * </pre>
 */
public final class MemlockChargeProbe {
    private MemlockChargeProbe() {
    }

    public static void main(String[] args) {
        List<Integer> fds = new ArrayList<>();
        try {
            switch (args[0]) {
                case "rings" -> rings(Integer.parseInt(args[1]), Integer.parseInt(args[2]), fds);
                case "buffer-then-ring" -> bufferThenRing(Long.parseLong(args[1]), fds);
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            }
        } finally {
            fds.forEach(Descriptors::closeQuietly);
        }
    }

    private static void rings(int sq, int cq, List<Integer> fds) {
        String error = "none";
        for (int i = 0; i < 100_000; i++) {
            try {
                fds.add(IoUringCalls.create(sq, cq, SetupFlag.R_DISABLED.abi()).fd());
            } catch (KernelException e) {
                error = e.errnoName();
                break;
            }
        }
        System.out.println("rings=" + fds.size());
        System.out.println("error=" + error);
    }

    private static void bufferThenRing(long bytes, List<Integer> fds) {
        int ring = IoUringCalls.create(64, 128, SetupFlag.R_DISABLED.abi()).fd();
        fds.add(ring);
        int memfd = Memory.memfdCreate("memlock-probe", Memory.MFD_CLOEXEC);
        fds.add(memfd);
        Memory.truncate(memfd, bytes);
        MemorySegment buffer = Memory.mapShared(memfd, 0, bytes);
        System.out.println("buffer=" + attempt(() -> IoUringCalls.registerBuffers(ring, List.of(buffer))));
        System.out.println("secondRing=" + attempt(() -> fds.add(IoUringCalls.create(64, 128, SetupFlag.R_DISABLED.abi()).fd())));
    }

    private static String attempt(Runnable r) {
        try {
            r.run();
            return "ok";
        } catch (KernelException e) {
            return e.errnoName();
        }
    }
}
