package org.ringwarden.linux;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A pidfd ({@code pidfd_open(2)}, 5.3+): a handle on one process that cannot come to mean
 * another one when its pid is reused. It becomes readable when the process exits.
 */
public final class Pidfd implements AutoCloseable {
    /** {@code PIDFD_NONBLOCK} (= {@code O_NONBLOCK}). */
    public static final int PIDFD_NONBLOCK = Descriptors.O_NONBLOCK;

    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Pidfd(int fd) {
        this.fd = fd;
    }

    /**
     * {@code pidfd_open(pid, 0)}: the fd is close-on-exec.
     *
     * @throws KernelException {@code ESRCH} if there is no such process; if {@code pid} names a
     *                         thread that is not a thread-group leader (a seccomp notification's
     *                         pid, say), {@code ENOENT} on 6.18 ({@code EINVAL} on older kernels):
     *                         map a TID to its process with {@link ProcessInfo#threadGroupOf} first
     */
    public static Pidfd open(int pid) {
        return new Pidfd((int) Syscall.checked("pidfd_open(" + pid + ")", Syscall.SYS_PIDFD_OPEN, pid, 0));
    }

    /** Takes ownership of a pidfd obtained elsewhere (e.g. {@link PeerCredentials#peerPidfd}). */
    public static Pidfd adopt(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        return new Pidfd(fd);
    }

    public int fd() {
        return fd;
    }

    /** True until the process has exited (it may not have been reaped yet). Does not block. */
    public boolean isAlive() {
        return !awaitExit(0);
    }

    /** Waits up to {@code timeoutMs} (negative: forever) for the process to exit; true if it has. */
    public boolean awaitExit(long timeoutMs) {
        ensureOpen();
        return Poll.has(Poll.poll(fd, Poll.POLLIN, timeoutMs), Poll.POLLIN);
    }

    /** {@code pidfd_send_signal(fd, signal, NULL, 0)}. */
    public void sendSignal(int signal) {
        ensureOpen();
        Syscall.checked("pidfd_send_signal(" + signal + ")", Syscall.SYS_PIDFD_SEND_SIGNAL, fd, signal, 0, 0);
    }

    /**
     * {@code pidfd_getfd(fd, targetFd, 0)}: a duplicate (close-on-exec) of the process's fd
     * {@code targetFd}. Needs ptrace rights over the process ({@code PTRACE_MODE_ATTACH_REALCREDS}).
     */
    public int getFd(int targetFd) {
        ensureOpen();
        return (int) Syscall.checked("pidfd_getfd(" + targetFd + ")", Syscall.SYS_PIDFD_GETFD, fd, targetFd, 0);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Descriptors.close(fd);
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("pidfd " + fd + " is closed");
        }
    }

    @Override
    public String toString() {
        return "Pidfd[fd=" + fd + (closed.get() ? ", closed" : "") + "]";
    }
}
