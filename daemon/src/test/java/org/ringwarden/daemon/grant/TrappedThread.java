package org.ringwarden.daemon.grant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompFilter;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.linux.uring.IoUringLayout;
import org.ringwarden.protocol.Tickets;

/**
 * A throwaway thread of the test JVM playing a client: it installs the delivery filter on
 * itself only (never TSYNC: the JUnit thread and the rest of the JVM stay unfiltered), hands
 * out its listener fd, then runs whatever it is given, so that its {@code io_uring_setup}
 * calls are trapped to the listener. No-new-privs and the filter die with the thread.
 *
 * <p>Everything it runs must not start JVM threads (they would inherit the filter).
 */
final class TrappedThread implements AutoCloseable {
    private static final Callable<Object> STOP = () -> null;

    private final BlockingQueue<Callable<?>> work = new LinkedBlockingQueue<>();
    private final BlockingQueue<CompletableFuture<Object>> results = new LinkedBlockingQueue<>();
    private final CompletableFuture<Integer> listenerFd = new CompletableFuture<>();
    private final Thread thread;

    TrappedThread(String name) {
        thread = Thread.ofPlatform().daemon().name(name).start(this::run);
    }

    private void run() {
        try {
            Prctl.setNoNewPrivs();
            SeccompListener l = Seccomp.installListener(SeccompFilter.trappingIoUringSetup(),
                    Seccomp.Scope.CALLING_THREAD);
            listenerFd.complete(l.fd());
        } catch (Throwable t) {
            listenerFd.completeExceptionally(t);
            return;
        }
        while (true) {
            Callable<?> c;
            CompletableFuture<Object> r;
            try {
                c = work.take();
                r = results.take();
            } catch (InterruptedException e) {
                return;
            }
            if (c == STOP) {
                r.complete(null);
                return;
            }
            try {
                r.complete(c.call());
            } catch (Throwable t) {
                r.completeExceptionally(t);
            }
        }
    }

    /** The listener fd of the thread's filter (the caller takes ownership). */
    int listenerFd() throws Exception {
        return listenerFd.get(10, TimeUnit.SECONDS);
    }

    /** Runs {@code c} on the trapped thread. */
    @SuppressWarnings("unchecked")
    <T> CompletableFuture<T> submit(Callable<T> c) {
        CompletableFuture<Object> r = new CompletableFuture<>();
        synchronized (this) {
            results.add(r);
            work.add(c);
        }
        return (CompletableFuture<T>) (CompletableFuture<?>) r;
    }

    /**
     * {@code io_uring_setup(entries, params, magic, ticket)} on the trapped thread: the fd, or
     * {@code -errno}.
     */
    CompletableFuture<Long> setup(int entries, long magic, long ticket) {
        return submit(() -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment params = a.allocate(IoUringLayout.PARAMS);
                return Syscall.rawOnThisThread(Syscall.SYS_IO_URING_SETUP, entries, params.address(), magic, ticket, 0, 0);
            }
        });
    }

    /** {@link #setup} with the ringwarden magic, waiting (bounded) for the answer. */
    long collect(long ticket) throws Exception {
        return setup(1, Tickets.MAGIC, ticket).get(10, TimeUnit.SECONDS);
    }

    int tid() throws Exception {
        return submit(org.ringwarden.linux.Tasks::gettid).get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        submit(STOP);
        thread.join(10_000);
    }
}
