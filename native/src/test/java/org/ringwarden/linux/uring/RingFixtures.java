package org.ringwarden.linux.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.function.Executable;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Syscall;

/** What the io_uring kernel tests share: descriptors that close themselves, errno assertions, draining completions. */
final class RingFixtures {
    private static final long SYS_PIPE2 = 293;

    private RingFixtures() {
    }

    /** Descriptors and rings a test made, closed in reverse order by {@link #close()}. */
    static final class Resources implements AutoCloseable {
        private final Deque<AutoCloseable> items = new ArrayDeque<>();

        int fd(int fd) {
            items.push(() -> Descriptors.closeQuietly(fd));
            return fd;
        }

        Ring ring(Ring ring) {
            items.push(ring);
            return ring;
        }

        /** A raw ring fd made with {@code flags}, closed at the end. */
        IoUringCalls.CreatedRing created(int entries, long flags) {
            IoUringCalls.CreatedRing r = IoUringCalls.create(entries, 0, flags);
            fd(r.fd());
            return r;
        }

        /** A ring mapped over a fresh fd: the Ring owns the fd. */
        Ring newRing(int entries, long flags) {
            return ring(Ring.create(entries, flags));
        }

        /** {@code pipe2(O_CLOEXEC)}: [read end, write end]. */
        int[] pipe() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
                Syscall.checked("pipe2", SYS_PIPE2, fds.address(), Descriptors.O_CLOEXEC);
                return new int[] {fd(fds.getAtIndex(ValueLayout.JAVA_INT, 0)), fd(fds.getAtIndex(ValueLayout.JAVA_INT, 1))};
            }
        }

        void onClose(AutoCloseable action) {
            items.push(action);
        }

        /** Runs every cleanup step even if some fail; the first failure is thrown, the rest suppressed into it. */
        @Override
        public void close() {
            RuntimeException first = null;
            while (!items.isEmpty()) {
                try {
                    items.pop().close();
                } catch (Exception e) {
                    RuntimeException r = e instanceof RuntimeException re ? re : new IllegalStateException("cleanup failed", e);
                    if (first == null) {
                        first = r;
                    } else {
                        first.addSuppressed(r);
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    /** Asserts that {@code call} throws a {@link KernelException} carrying {@code errno}. */
    static KernelException assertFailsWith(Errno errno, String what, Executable call) {
        KernelException e = catchThrowableOfType(KernelException.class, () -> {
            try {
                call.execute();
            } catch (Throwable t) {
                throw t;
            }
        });
        assertThat(e).as("%s must fail with %s, but it succeeded", what, errno).isNotNull();
        assertThat(e.errnoName()).as("%s: errno of %s", what, e.getMessage()).isEqualTo(errno.name());
        return e;
    }

    /** Claims an SQE or fails the test. */
    static long sqe(Ring ring) {
        long sqe = ring.nextSqe();
        assertThat(sqe).as("a free SQE in %s", ring).isNotNegative();
        return sqe;
    }

    /** A NOP with {@code userData} and {@code flags}. */
    static void nop(Ring ring, long userData, int flags) {
        long sqe = sqe(ring);
        Sqe.prepNop(ring.sqes(), sqe);
        Sqe.setFlags(ring.sqes(), sqe, flags);
        Sqe.setUserData(ring.sqes(), sqe, userData);
    }

    /** Waits for and reaps {@code n} completions: user data to result, in arrival order; fails on a duplicate. */
    static Map<Long, Integer> await(Ring ring, int n) {
        Map<Long, Integer> results = new LinkedHashMap<>();
        while (results.size() < n) {
            if (ring.cqReady() == 0 && !ring.needsFlush()) {
                ring.awaitCompletions(1);
            }
            ring.reap((userData, res, flags) -> {
                Integer before = results.put(userData, res);
                assertThat(before).as("completion for user data %d delivered twice", userData).isNull();
            });
        }
        assertThat(results).as("completions").hasSize(n);
        return results;
    }

    /** This process's descriptors and what they point at, for a leak message a person can act on. */
    static java.util.SortedMap<Integer, String> openDescriptors() {
        java.util.SortedMap<Integer, String> fds = new java.util.TreeMap<>();
        String[] names = new java.io.File("/proc/self/fd").list();
        for (String n : names == null ? new String[0] : names) {
            try {
                fds.put(Integer.parseInt(n), java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd", n)).toString());
            } catch (java.io.IOException e) {
                // the directory's own descriptor, already gone
            }
        }
        return fds;
    }

    static String errnoName(int res) {
        return res >= 0 ? String.valueOf(res) : "-" + Errno.nameOf(-res);
    }
}
