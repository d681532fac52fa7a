package org.ringwarden.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * {@code poll(2)} on one descriptor, without allocation: each thread keeps its own
 * {@code struct pollfd} and errno capture segment.
 *
 * <p>{@code EINTR} is retried with the time that is left, so a caller never sees a spurious
 * timeout (tearing down a ring interrupts its creator's blocking calls, see security.md).
 */
public final class Poll {
    public static final int POLLIN = 0x001;
    public static final int POLLPRI = 0x002;
    public static final int POLLOUT = 0x004;
    public static final int POLLERR = 0x008;
    public static final int POLLHUP = 0x010;
    public static final int POLLNVAL = 0x020;
    public static final int POLLRDHUP = 0x2000;

    /** {@code struct pollfd { int fd; short events; short revents; }}: 8 bytes. */
    private static final long POLLFD_SIZE = 8;

    private record Scratch(MemorySegment pollfd, MemorySegment capture) {
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(
            () -> new Scratch(Arena.ofAuto().allocate(POLLFD_SIZE, 8), Syscall.newCaptureState()));

    private Poll() {
    }

    /**
     * Waits until {@code fd} reports one of {@code events} (or an error condition, which poll
     * always reports) or {@code timeoutMs} passes; a negative timeout waits forever.
     *
     * @return the {@code revents} bits, 0 on timeout
     * @throws KernelException if {@code poll} itself fails
     */
    public static int poll(int fd, int events, long timeoutMs) {
        Scratch s = SCRATCH.get();
        long deadline = timeoutMs < 0 ? 0 : System.nanoTime() + timeoutMs * 1_000_000L;
        long remaining = timeoutMs;
        while (true) {
            s.pollfd.set(JAVA_INT, 0, fd);
            s.pollfd.set(JAVA_SHORT, 4, (short) events);
            s.pollfd.set(JAVA_SHORT, 6, (short) 0);
            long r = Syscall.raw(s.capture, Syscall.SYS_POLL, s.pollfd.address(), 1,
                    remaining < 0 ? -1 : Math.min(remaining, Integer.MAX_VALUE), 0, 0, 0);
            if (r == -Errno.EINTR.number()) {
                if (timeoutMs >= 0) {
                    remaining = Math.max(0, (deadline - System.nanoTime() + 999_999) / 1_000_000L);
                }
                continue;
            }
            if (r < 0) {
                throw new KernelException("poll(" + fd + ")", (int) -r);
            }
            return r == 0 ? 0 : Short.toUnsignedInt(s.pollfd.get(JAVA_SHORT, 6));
        }
    }

    /** True if {@code revents} has {@code bit}. */
    public static boolean has(int revents, int bit) {
        return (revents & bit) != 0;
    }
}
