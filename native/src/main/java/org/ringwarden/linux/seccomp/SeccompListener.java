package org.ringwarden.linux.seccomp;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.Syscall;

/**
 * A seccomp user-notification listener fd: the supervisor's side of a filter that returned
 * {@code SECCOMP_RET_USER_NOTIF}. A trapped thread sleeps in its system call until the
 * listener answers it, and the answer is that call's return value.
 *
 * <pre>{@code
 * try (SeccompListener l = SeccompListener.adopt(fdFromClient)) {
 *     while (l.poll(-1) == SeccompListener.Event.NOTIFICATION) {
 *         SeccompNotification n = l.receive();
 *         if (n == null) continue;                  // the caller died or was interrupted meanwhile
 *         int remote = l.addFd(n.id(), ringFd, true); // install first...
 *         l.respond(n.id(), remote);               // ...then answer: the call returns `remote`
 *     }
 * }
 * }</pre>
 *
 * <p>Every method may be called from any thread; each thread keeps its own native buffers, so
 * nothing is allocated per call except the returned {@link SeccompNotification}. A listener
 * must not be used after (or concurrently with) {@link #close()}: its fd number could belong to
 * something else by then.
 */
public final class SeccompListener implements AutoCloseable {
    /** What {@link #poll} saw. */
    public enum Event {
        /** A notification is waiting: {@link #receive()} will not block (but may return null). */
        NOTIFICATION,
        /** No task is left under the filter: no notification will ever come. */
        HANGUP,
        /** Neither within the timeout. */
        TIMEOUT
    }

    private static final long NOTIF_SIZE;
    private static final long RESP_SIZE;

    static {
        SeccompNotifSizes k = Seccomp.notifSizes();
        // The kernel's structs may have grown; it reads and writes its own size, so the buffers
        // are the larger of the two (the kernel also insists on a zeroed RECV buffer).
        NOTIF_SIZE = align8(Math.max(k.notif(), SeccompLayout.NOTIF.byteSize()));
        RESP_SIZE = align8(Math.max(k.notifResp(), SeccompLayout.NOTIF_RESP.byteSize()));
    }

    private static final long ADDFD_SIZE = SeccompLayout.NOTIF_ADDFD.byteSize();

    /** One thread's buffers: the RECV buffer, the SEND/ADDFD/ID_VALID argument, errno capture. */
    private record Scratch(MemorySegment notif, MemorySegment arg, MemorySegment capture) {
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(() -> {
        Arena arena = Arena.ofAuto();
        return new Scratch(arena.allocate(NOTIF_SIZE, 8), arena.allocate(Math.max(RESP_SIZE, ADDFD_SIZE), 8),
                Syscall.newCaptureState());
    });

    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SeccompListener(int fd) {
        this.fd = fd;
    }

    /** What {@code readlink /proc/self/fd/N} shows for a listener: the kernel names its anonymous inode. */
    static final String ANON_INODE_NAME = "anon_inode:seccomp notify";

    /**
     * Takes ownership of a listener fd this process installed (no check). For an fd a client
     * sent, use {@link #adoptVerified}.
     */
    public static SeccompListener adopt(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        return new SeccompListener(fd);
    }

    /**
     * Takes ownership of an fd received from someone else after checking that it really is a
     * seccomp listener, so that the seccomp ioctls are never sent to a device or file a hostile
     * client chose. On refusal the fd is left open: the caller still owns it.
     *
     * @throws IllegalArgumentException if {@code fd} is not a seccomp listener
     */
    public static SeccompListener adoptVerified(int fd) {
        if (!isListener(fd)) {
            throw new IllegalArgumentException("fd " + fd + " is not a seccomp listener");
        }
        return adopt(fd);
    }

    /**
     * True if {@code fd} is a seccomp user-notification listener: its {@code /proc/self/fd}
     * link is the kernel-set anonymous inode name, which no file path can imitate (paths
     * start with {@code /}).
     */
    public static boolean isListener(int fd) {
        if (fd < 0) {
            return false;
        }
        try {
            return ANON_INODE_NAME.equals(java.nio.file.Files.readSymbolicLink(
                    java.nio.file.Path.of("/proc/self/fd/" + fd)).toString());
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** The listener fd, for an event loop to watch (readable: a notification; hang-up: no task left). */
    public int fd() {
        return fd;
    }

    /**
     * Waits up to {@code timeoutMs} (negative: forever) for a notification or for the last task
     * under the filter to go; retries {@code EINTR}.
     */
    public Event poll(long timeoutMs) {
        ensureOpen();
        int revents = Poll.poll(fd, Poll.POLLIN, timeoutMs);
        if (Poll.has(revents, Poll.POLLIN)) {
            return Event.NOTIFICATION;
        }
        if (Poll.has(revents, Poll.POLLHUP)) {
            return Event.HANGUP;
        }
        if (Poll.has(revents, Poll.POLLNVAL | Poll.POLLERR)) {
            throw new IllegalStateException("poll on seccomp listener fd " + fd + " reported 0x" + Integer.toHexString(revents));
        }
        return Event.TIMEOUT;
    }

    /**
     * {@code SECCOMP_IOCTL_NOTIF_RECV}: the next trapped call, blocking until there is one.
     * Retries {@code EINTR}.
     *
     * @return the notification; null if the call it announced is gone ({@code ENOENT}: the
     *         caller died or was interrupted between {@link #poll} and now): nothing to do
     */
    public @Nullable SeccompNotification receive() {
        ensureOpen();
        Scratch s = SCRATCH.get();
        MemorySegment n = s.notif;
        while (true) {
            n.fill((byte) 0); // the kernel refuses a buffer that is not zeroed (EINVAL)
            long r = Syscall.raw(s.capture, Syscall.SYS_IOCTL, fd, SeccompLayout.IOCTL_NOTIF_RECV, n.address(), 0, 0, 0);
            if (r == -Errno.EINTR.number()) {
                continue;
            }
            if (r == -Errno.ENOENT.number()) {
                return null;
            }
            if (r < 0) {
                throw new KernelException("ioctl(SECCOMP_IOCTL_NOTIF_RECV)", (int) -r);
            }
            long a = SeccompLayout.NOTIF_ARGS;
            return new SeccompNotification(n.get(JAVA_LONG, SeccompLayout.NOTIF_ID), n.get(JAVA_INT, SeccompLayout.NOTIF_PID),
                    n.get(JAVA_INT, SeccompLayout.NOTIF_NR), n.get(JAVA_INT, SeccompLayout.NOTIF_ARCH),
                    n.get(JAVA_LONG, SeccompLayout.NOTIF_IP),
                    new long[] {n.get(JAVA_LONG, a), n.get(JAVA_LONG, a + 8), n.get(JAVA_LONG, a + 16),
                            n.get(JAVA_LONG, a + 24), n.get(JAVA_LONG, a + 32), n.get(JAVA_LONG, a + 40)});
        }
    }

    /**
     * {@code SECCOMP_IOCTL_NOTIF_ID_VALID}: true while the caller of notification {@code id}
     * still waits for an answer. Check it after reading anything from the caller (its pid, its
     * memory): a false here means the pid may already belong to someone else.
     */
    public boolean isValid(long id) {
        ensureOpen();
        Scratch s = SCRATCH.get();
        s.arg.set(JAVA_LONG, 0, id);
        long r = Syscall.rawRetrying(s.capture, Syscall.SYS_IOCTL, fd, SeccompLayout.IOCTL_NOTIF_ID_VALID, s.arg.address(), 0, 0, 0);
        if (r == 0) {
            return true;
        }
        if (r == -Errno.ENOENT.number()) {
            return false;
        }
        throw new KernelException("ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID)", (int) -r);
    }

    /**
     * {@code SECCOMP_IOCTL_NOTIF_ADDFD} without flags: installs a duplicate of our
     * {@code srcFd} in the caller of notification {@code id}, at the lowest free number there,
     * {@code O_CLOEXEC} if {@code cloexec}. The caller keeps waiting; answer it with
     * {@link #respond}{@code (id, theReturnedNumber)}. ({@code SECCOMP_ADDFD_FLAG_SEND}, which
     * does both at once, is never used: see security.md.) An interrupted wait ({@code EINTR})
     * is retried: the kernel withdraws an unprocessed request before it reports the interruption.
     *
     * @return the fd number in the caller
     * @throws KernelException {@code ENOENT} if the caller is gone, {@code EINPROGRESS} if the
     *                         notification was not received yet, {@code EMFILE} if the caller
     *                         has no free fd
     */
    public int addFd(long id, int srcFd, boolean cloexec) {
        ensureOpen();
        Scratch s = SCRATCH.get();
        MemorySegment a = s.arg;
        a.fill((byte) 0);
        a.set(JAVA_LONG, SeccompLayout.ADDFD_ID, id);
        a.set(JAVA_INT, SeccompLayout.ADDFD_FLAGS, 0);
        a.set(JAVA_INT, SeccompLayout.ADDFD_SRCFD, srcFd);
        a.set(JAVA_INT, SeccompLayout.ADDFD_NEWFD, 0);
        a.set(JAVA_INT, SeccompLayout.ADDFD_NEWFD_FLAGS, cloexec ? Descriptors.O_CLOEXEC : 0);
        long r = Syscall.rawRetrying(s.capture, Syscall.SYS_IOCTL, fd, SeccompLayout.IOCTL_NOTIF_ADDFD, a.address(), 0, 0, 0);
        if (r < 0) {
            throw new KernelException("ioctl(SECCOMP_IOCTL_NOTIF_ADDFD)", (int) -r);
        }
        return (int) r;
    }

    /**
     * {@code SECCOMP_IOCTL_NOTIF_SEND} with {@code val}: the trapped call returns {@code val}.
     *
     * @return true if answered, false if the caller is gone ({@code ENOENT})
     */
    public boolean respond(long id, long val) {
        return send(id, val, 0);
    }

    /**
     * {@code SECCOMP_IOCTL_NOTIF_SEND} with {@code error = -errno}: the trapped call fails with
     * {@code errno}.
     *
     * @return true if answered, false if the caller is gone ({@code ENOENT})
     */
    public boolean fail(long id, int errno) {
        if (errno <= 0 || errno > 4095) {
            throw new IllegalArgumentException("errno out of range: " + errno);
        }
        return send(id, 0, -errno);
    }

    /** {@link #fail(long, int)} with {@code errno}. */
    public boolean fail(long id, Errno errno) {
        return fail(id, errno.number());
    }

    private boolean send(long id, long val, int error) {
        ensureOpen();
        Scratch s = SCRATCH.get();
        MemorySegment r = s.arg;
        r.fill((byte) 0);
        r.set(JAVA_LONG, SeccompLayout.RESP_ID, id);
        r.set(JAVA_LONG, SeccompLayout.RESP_VAL, val);
        r.set(JAVA_INT, SeccompLayout.RESP_ERROR, error);
        r.set(JAVA_INT, SeccompLayout.RESP_FLAGS, 0);
        long rc = Syscall.rawRetrying(s.capture, Syscall.SYS_IOCTL, fd, SeccompLayout.IOCTL_NOTIF_SEND, r.address(), 0, 0, 0);
        if (rc == 0) {
            return true;
        }
        if (rc == -Errno.ENOENT.number()) {
            return false;
        }
        throw new KernelException("ioctl(SECCOMP_IOCTL_NOTIF_SEND)", (int) -rc);
    }

    /**
     * Closes the listener fd. Calls still trapped, and every later trapped call, fail with
     * {@code ENOSYS} once no listener fd is left open.
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Descriptors.close(fd);
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("seccomp listener fd " + fd + " is closed");
        }
    }

    private static long align8(long n) {
        return (n + 7) & ~7L;
    }

    @Override
    public String toString() {
        return "SeccompListener[fd=" + fd + (closed.get() ? ", closed" : "") + "]";
    }
}
