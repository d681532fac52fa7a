package org.ringwarden.daemon.transparent;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.ProcessMemory;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.linux.seccomp.SeccompNotification;
import org.ringwarden.linux.uring.IoUringLayout;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.ringwarden.protocol.Tickets;

import org.jspecify.annotations.Nullable;

/**
 * The supervisor half of {@code ringwarden run} (docs/transparent.md): a thread of the
 * {@code ringwarden run} process, which is the parent of the program and the subreaper of
 * everything the program starts, so it is an ancestor of every process that can make a trapped
 * call (what Yama's {@code ptrace_scope=1} demands of the process reading their memory). For
 * each trapped {@code io_uring_setup} it reads the caller's {@code io_uring_params}
 * ({@code process_vm_readv}: same uid, so no privilege), asks the daemon for a ring
 * ({@code transparent-setup}; the daemon installs it into the caller), writes the resulting
 * params back ({@code process_vm_writev}) and only then answers the call with the fd.
 *
 * <p>When the daemon goes away (a restart) it reconnects and re-attaches the listener; a call
 * trapped while the daemon is away waits for it up to {@code daemonWait}, then fails with
 * {@code EAGAIN} and a line on stderr.
 */
final class TransparentSupervisor {
    private static final int PARAMS_SIZE = (int) IoUringLayout.PARAMS.byteSize();
    /** Between background attempts to reach a daemon that went away: from 200 ms, doubling up to 5 s. */
    private static final long FIRST_RETRY_MS = 200;
    private static final long MAX_RETRY_MS = 5_000;

    private final SeccompListener listener;
    private final DaemonLink daemon;
    private final long daemonWaitNanos;
    private final PrintStream err;
    private final MemorySegment params;
    private final MemorySegment pollfds;
    private final MemorySegment capture;

    TransparentSupervisor(SeccompListener listener, DaemonLink daemon, long daemonWaitNanos, PrintStream err,
                          Arena arena) {
        this.listener = requireNonNull(listener, "listener");
        this.daemon = requireNonNull(daemon, "daemon");
        this.daemonWaitNanos = daemonWaitNanos;
        this.err = requireNonNull(err, "err");
        this.params = arena.allocate(IoUringLayout.PARAMS);
        this.pollfds = arena.allocate(16, 8); // two struct pollfd
        this.capture = Syscall.newCaptureState(arena);
    }

    /**
     * Serves until no process is left under the filter (the listener hangs up). Between calls it
     * watches the daemon connection too: a daemon that went away is reconnected to at once, so
     * that the next call does not wait for it.
     */
    void serve() {
        long nextRetry = System.nanoTime();
        long retryMs = FIRST_RETRY_MS;
        while (true) {
            int daemonFd = daemon.fd();
            long timeout = daemonFd >= 0 ? -1 : Math.max(0, TimeUnit.NANOSECONDS.toMillis(nextRetry - System.nanoTime()));
            pollfds.set(JAVA_INT, 0, listener.fd());
            pollfds.set(JAVA_SHORT, 4, (short) Poll.POLLIN);
            pollfds.set(JAVA_SHORT, 6, (short) 0);
            pollfds.set(JAVA_INT, 8, daemonFd); // a negative fd is skipped by poll(2)
            pollfds.set(JAVA_SHORT, 12, (short) (Poll.POLLIN | Poll.POLLRDHUP));
            pollfds.set(JAVA_SHORT, 14, (short) 0);
            long r = Syscall.raw(capture, Syscall.SYS_POLL, pollfds.address(), 2, timeout, 0, 0, 0);
            if (r == -Errno.EINTR.number()) {
                continue;
            }
            if (r < 0) {
                throw new KernelException("poll(seccomp listener, daemon)", (int) -r);
            }
            int lre = Short.toUnsignedInt(pollfds.get(JAVA_SHORT, 6));
            int dre = Short.toUnsignedInt(pollfds.get(JAVA_SHORT, 14));
            if (dre != 0) {
                // The daemon never speaks first: a readable connection is its end (or garbage).
                daemon.disconnect();
            }
            if (Poll.has(lre, Poll.POLLIN)) {
                SeccompNotification n = listener.receive();
                if (n != null) {
                    try {
                        answer(n);
                    } catch (RuntimeException ex) {
                        listener.fail(n.id(), Errno.EPERM); // never leave a thread trapped
                        err.println("ringwarden run: " + ex);
                    }
                }
                continue;
            }
            if (Poll.has(lre, Poll.POLLHUP)) {
                return;
            }
            if (Poll.has(lre, Poll.POLLNVAL | Poll.POLLERR)) {
                throw new IllegalStateException("poll on the seccomp listener reported 0x" + Integer.toHexString(lre));
            }
            if (!daemon.isAttached() && System.nanoTime() - nextRetry >= 0) {
                boolean attached = false;
                try {
                    attached = daemon.reattachBefore(System.nanoTime(), 0); // one try: the loop retries
                } catch (DaemonLink.AttachRefused e) {
                    // Reported when a call needs the attachment; keep trying meanwhile (a daemon
                    // that refuses now may have its policy back after a reload), less and less often.
                }
                retryMs = attached ? FIRST_RETRY_MS : Math.min(retryMs * 2, MAX_RETRY_MS);
                nextRetry = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(retryMs);
            }
        }
    }

    private void answer(SeccompNotification n) {
        if (!n.isX86_64(Syscall.SYS_IO_URING_SETUP)) {
            listener.fail(n.id(), Errno.ENOSYS);
            return;
        }
        if ((n.arg(2) & 0xFFFF_FFFFL) == Tickets.MAGIC) {
            listener.fail(n.id(), Errno.EPERM); // ticketed rings need their own attachment, not run's
            return;
        }
        long entries = n.arg(0) & 0xFFFF_FFFFL;
        long address = n.arg(1);
        params.fill((byte) 0);
        try {
            if (ProcessMemory.read(n.pid(), address, params) != PARAMS_SIZE) {
                listener.fail(n.id(), Errno.EFAULT);
                return;
            }
        } catch (KernelException e) {
            // EFAULT: a bad pointer, as the kernel would say; EPERM/ESRCH: no access or gone.
            listener.fail(n.id(), e.errno());
            return;
        }
        // The pid could have been reused between RECV and the read: only trust what was read
        // if the call is still pending (seccomp_unotify(2)).
        if (!listener.isValid(n.id())) {
            return;
        }
        long flags = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringLayout.PARAMS_FLAGS));
        long cq = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringLayout.PARAMS_CQ_ENTRIES));
        Response r;
        try {
            r = daemon.call(new Request.TransparentSetup(n.id(), n.pid(), entries, flags, cq, exe(n.pid())),
                    System.nanoTime() + daemonWaitNanos);
        } catch (DaemonLink.AttachRefused e) {
            err.println("ringwarden run: the daemon at " + daemon.socket() + " came back but refused the attachment ("
                    + e.getMessage() + "): io_uring_setup of pid " + n.pid() + " fails with EPERM");
            listener.fail(n.id(), Errno.EPERM);
            return;
        }
        if (r == null) {
            err.println("ringwarden run: the daemon at " + daemon.socket() + " is unreachable and did not come back within "
                    + TimeUnit.NANOSECONDS.toMillis(daemonWaitNanos) + " ms: io_uring_setup of pid " + n.pid()
                    + " fails with EAGAIN");
            listener.fail(n.id(), Errno.EAGAIN);
            return;
        }
        if (!(r instanceof Response.TransparentRing ring)) {
            String why = r instanceof Response.Error e ? e.code() + ": " + e.message() : r.toString();
            err.println("ringwarden run: the daemon refused transparent-setup: " + why);
            listener.fail(n.id(), Errno.EPERM);
            return;
        }
        if (ring.errno() != 0) {
            if (ring.errno() != Errno.ENOENT.number()) {
                listener.fail(n.id(), ring.errno());
            }
            return;
        }
        // Write back what the kernel filled in for the daemon, over the caller's own struct
        // (sq_thread_cpu, sq_thread_idle, wq_fd and the reserved words stay as they were).
        requireNonNull(ring.ring(), "errno 0 comes with a ring (TransparentRing)").params().writeTo(params);
        try {
            if (ProcessMemory.write(n.pid(), address, params) != PARAMS_SIZE) {
                listener.fail(n.id(), Errno.EFAULT);
                return;
            }
        } catch (KernelException e) {
            listener.fail(n.id(), e.errno());
            return;
        }
        listener.respond(n.id(), ring.fd());
    }

    private static @Nullable String exe(int tid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/" + tid + "/exe")).toString();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
