package org.ringwarden.daemon.grant;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.util.Objects.requireNonNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.Syscall;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One small thread that watches every attached seccomp listener with {@code poll(2)}: a
 * listener is readable when a call is trapped, and hangs up when no process is left under its
 * filter. An eventfd wakes the thread to add or remove listeners.
 *
 * <p>The thread owns the watched attachments: only it closes their listeners, so a listener fd
 * number is never polled (or received from) after it was closed and perhaps reused. Others ask
 * through {@link #add} and {@link #remove}, which complete once the thread has done it.
 *
 * <p>A trapped thread sleeps until the daemon answers, so {@link Handler#notified} must be
 * quick (no blocking work). Every blocking call here retries {@code EINTR}: closing a ring
 * interrupts the thread that created it, and that may be this one (a ring destroyed after a
 * failed delivery).
 */
final class ListenerPoller implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ListenerPoller.class);

    /** {@code eventfd2(2)} (x86_64), with {@code EFD_CLOEXEC}. */
    private static final long SYS_EVENTFD2 = 290;
    private static final int EFD_CLOEXEC = Descriptors.O_CLOEXEC;
    private static final long POLLFD_SIZE = 8;

    /** What the poller does with what it sees. Called on the poller thread only. */
    interface Handler {
        /** {@code a}'s listener is readable: receive and answer (at most) one notification. */
        void notified(Attachment a);

        /** No process is left under {@code a}'s filter; the poller has already closed its listener. */
        void hungUp(Attachment a);
    }

    private final Handler handler;
    private final int wakeFd;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final List<Attachment> watched = new ArrayList<>();
    private final MemorySegment capture = Syscall.newCaptureState();
    private final MemorySegment word;
    private final Arena arena = Arena.ofShared();
    private MemorySegment pollfds;
    private volatile boolean stopping;
    private final Object lifecycle = new Object();
    private boolean arenaClosed; // guarded by lifecycle
    private boolean exited; // guarded by lifecycle: after it, commands run on the caller's thread

    ListenerPoller(Handler handler) {
        this.handler = requireNonNull(handler, "handler");
        this.wakeFd = (int) Syscall.checked("eventfd2", SYS_EVENTFD2, 0, EFD_CLOEXEC);
        this.word = arena.allocate(JAVA_LONG);
        this.pollfds = arena.allocate(POLLFD_SIZE * 16, 8);
        this.thread = Thread.ofPlatform().daemon().name("ringwarden-listeners").unstarted(this::run);
        thread.start();
    }

    /**
     * Starts watching {@code a}; completes when the poller watches it. After {@link #close()}
     * the attachment is closed instead and the future fails.
     */
    CompletableFuture<Void> add(Attachment a) {
        return submit(() -> watched.add(a), () -> {
            a.close();
            throw new IllegalStateException("the listener poller is closed");
        });
    }

    /**
     * Stops watching {@code a} and closes its listener (trapped calls then fail with
     * {@code ENOSYS} once no other copy of the listener is open); completes when done.
     * Removing an attachment that hung up already completes at once.
     */
    CompletableFuture<Void> remove(Attachment a) {
        return submit(() -> {
            watched.remove(a);
            a.close();
        }, a::close);
    }

    private CompletableFuture<Void> submit(Runnable onThread, Runnable ifExited) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        synchronized (lifecycle) {
            if (exited) {
                try {
                    ifExited.run();
                    done.complete(null);
                } catch (RuntimeException e) {
                    done.completeExceptionally(e);
                }
                return done;
            }
            commands.add(() -> {
                try {
                    onThread.run();
                    done.complete(null);
                } catch (RuntimeException e) {
                    done.completeExceptionally(e);
                }
            });
            wake(); // under the lock: the eventfd is closed only after `exited` is set
        }
        return done;
    }

    /** The number of attachments watched (read racily; for stats). */
    int watchedCount() {
        return watched.size();
    }

    /** True if called on the poller thread. */
    boolean isPollerThread() {
        return Thread.currentThread() == thread;
    }

    private void wake() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(JAVA_LONG);
            one.set(JAVA_LONG, 0, 1L);
            Syscall.checked("write(eventfd)", Syscall.SYS_WRITE, wakeFd, one.address(), 8);
        }
    }

    private void run() {
        try {
            while (!stopping) {
                drainCommands();
                int n = fillPollfds();
                long r = Syscall.rawRetrying(capture, Syscall.SYS_POLL, pollfds.address(), n, -1, 0, 0, 0);
                if (r < 0) {
                    throw new KernelException("poll(" + n + " fds)", (int) -r);
                }
                if ((revents(0) & Poll.POLLIN) != 0) {
                    Syscall.rawRetrying(capture, Syscall.SYS_READ, wakeFd, word.address(), 8, 0, 0, 0);
                }
                // The pollfds were filled from `watched` as it was; handlers may not change it, but hang-ups do.
                List<Attachment> snapshot = List.copyOf(watched);
                for (int i = 0; i < snapshot.size(); i++) {
                    Attachment a = snapshot.get(i);
                    int ev = revents(i + 1);
                    if (ev == 0) {
                        continue;
                    }
                    if ((ev & Poll.POLLIN) != 0) {
                        try {
                            handler.notified(a);
                        } catch (RuntimeException | Error e) {
                            LOG.error("handling a trapped call on {} failed", a, e);
                        }
                    } else if ((ev & (Poll.POLLHUP | Poll.POLLERR | Poll.POLLNVAL)) != 0) {
                        watched.remove(a);
                        a.close();
                        try {
                            handler.hungUp(a);
                        } catch (RuntimeException | Error e) {
                            LOG.error("ending {} failed", a, e);
                        }
                    }
                }
            }
        } catch (Throwable t) {
            LOG.error("the seccomp listener poller died; no ring can be delivered until restart", t);
        } finally {
            synchronized (lifecycle) {
                exited = true;
                drainCommands();
            }
            for (Attachment a : watched) {
                a.close();
            }
            watched.clear();
        }
    }

    private void drainCommands() {
        Runnable r;
        while ((r = commands.poll()) != null) {
            r.run();
        }
    }

    private int fillPollfds() {
        int n = watched.size() + 1;
        if (pollfds.byteSize() < n * POLLFD_SIZE) {
            // Grown memory stays in the arena until close: attachments are bounded by the limits.
            pollfds = arena.allocate(POLLFD_SIZE * Math.max(n, 2 * pollfds.byteSize() / POLLFD_SIZE), 8);
        }
        set(0, wakeFd, Poll.POLLIN);
        for (int i = 0; i < watched.size(); i++) {
            Attachment a = watched.get(i);
            // A `ringwarden run` attachment's notifications are received by the program's
            // supervisor (docs/transparent.md): watch only for the hang-up, which poll reports
            // unasked. A container's are the daemon's own (docs/containers.md).
            set(i + 1, a.listener().fd(), a.daemonReceives() ? Poll.POLLIN : 0);
        }
        return n;
    }

    private void set(int i, int fd, int events) {
        pollfds.set(JAVA_INT, i * POLLFD_SIZE, fd);
        pollfds.set(JAVA_SHORT, i * POLLFD_SIZE + 4, (short) events);
        pollfds.set(JAVA_SHORT, i * POLLFD_SIZE + 6, (short) 0);
    }

    private int revents(int i) {
        return Short.toUnsignedInt(pollfds.get(JAVA_SHORT, i * POLLFD_SIZE + 6));
    }

    /** Stops the thread, closes every watched listener and the eventfd. */
    @Override
    public void close() {
        synchronized (lifecycle) {
            stopping = true;
            if (!exited) {
                wake();
            }
        }
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        synchronized (lifecycle) {
            if (!arenaClosed) {
                arenaClosed = true;
                Descriptors.closeQuietly(wakeFd);
                arena.close();
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
