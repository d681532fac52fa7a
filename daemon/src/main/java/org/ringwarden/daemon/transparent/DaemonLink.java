package org.ringwarden.daemon.transparent;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.ringwarden.protocol.DaemonChannel;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import org.jspecify.annotations.Nullable;

/**
 * {@code ringwarden run}'s connection to the daemon, with its listener attached under the
 * policy; reconnected and re-attached when the daemon restarts (docs/transparent.md, "Daemon
 * restart"). The daemon's attachment belongs to a connection, so a restarted daemon knows
 * nothing of the program: a new connection sends the same listener again with {@code attach}.
 * Used by one thread at a time (the supervisor's).
 */
final class DaemonLink implements AutoCloseable {
    /** The daemon answered {@code attach} with something else than {@code attached}. */
    static final class AttachRefused extends Exception {
        private static final long serialVersionUID = 1L;

        AttachRefused(String message) {
            super(message);
        }
    }

    private static final long FIRST_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final long MAX_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** The first attach, before the program runs: a daemon that does not answer in this long is not there. */
    private static final long ATTACH_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final Path socket;
    private final String policy;
    /** The seccomp listener the daemon serves; -1 until {@link #completeAttach} gave it. */
    private int listenerFd = -1;
    private @Nullable DaemonChannel channel;
    /** The connection of a first attach between {@link #requestAttach} and {@link #completeAttach}. */
    private @Nullable DaemonChannel pending;

    DaemonLink(Path socket, String policy) {
        this.socket = requireNonNull(socket, "socket");
        this.policy = requireNonNull(policy, "policy");
    }

    Path socket() {
        return socket;
    }

    /**
     * The first attach, first half: connects and asks to attach under the policy, up to the
     * daemon's request for the listener. Needs no listener yet, so {@code ringwarden run} does
     * it while its filter is being installed.
     *
     * @throws IOException    the daemon cannot be reached, or the connection broke meanwhile
     * @throws AttachRefused  the daemon refused the attachment (its error code and message)
     */
    void requestAttach() throws IOException, AttachRefused {
        disconnect();
        pending = ask(System.nanoTime() + ATTACH_TIMEOUT_NANOS);
    }

    /**
     * The first attach, second half: sends the listener and waits until the daemon attached it.
     * From now on the link re-attaches this listener by itself after a daemon restart.
     */
    void completeAttach(int listener) throws IOException, AttachRefused {
        DaemonChannel c = pending;
        if (c == null) {
            throw new IllegalStateException("completeAttach without requestAttach");
        }
        pending = null;
        listenerFd = listener;
        give(c, System.nanoTime() + ATTACH_TIMEOUT_NANOS);
    }

    /** Connects and attaches the listener again (after a restart), giving up on an answer at {@code deadlineNanos}. */
    private void attach(long deadlineNanos) throws IOException, AttachRefused {
        disconnect();
        give(ask(deadlineNanos), deadlineNanos);
    }

    /** Connects, sends {@code attach} and reads the daemon's request for the listener. */
    private DaemonChannel ask(long deadlineNanos) throws IOException, AttachRefused {
        DaemonChannel c = DaemonChannel.connect(socket);
        try {
            // A daemon being restarted under socket activation accepts (systemd holds the
            // socket) but answers only once it runs: wait for it, not longer than the deadline.
            c.setReadTimeout(millisUntil(deadlineNanos));
            Response r = c.call(new Request.Attach(1, policy));
            if (!(r instanceof Response.SendFds)) {
                throw refusal(r);
            }
            return c;
        } catch (IOException | AttachRefused | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Sends the listener on {@code c} and waits for {@code attached}; then {@code c} is the link's connection. */
    private void give(DaemonChannel c, long deadlineNanos) throws IOException, AttachRefused {
        try {
            c.setReadTimeout(millisUntil(deadlineNanos));
            c.sendDescriptors(new int[] {listenerFd});
            Response r = c.receive();
            if (!(r instanceof Response.Attached)) {
                throw refusal(r);
            }
            c.setReadTimeout(0);
        } catch (IOException | AttachRefused | RuntimeException e) {
            c.close();
            throw e;
        }
        channel = c;
    }

    private static AttachRefused refusal(Response r) {
        return new AttachRefused(r instanceof Response.Error e ? e.code() + ": " + e.message() : r.toString());
    }

    /** True while attached on a connection that has not failed yet. */
    boolean isAttached() {
        return channel != null;
    }

    /** The connection's descriptor (to poll for the daemon going away), or -1 when there is none. */
    int fd() {
        DaemonChannel c = channel;
        if (c == null) {
            return -1;
        }
        try {
            return c.fd();
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * Sends {@code request} and returns the answer; when the connection fails, reconnects and
     * re-attaches until {@code deadlineNanos} ({@link System#nanoTime()}) and sends it again.
     *
     * @return the answer; null if the daemon could not be reached again before the deadline
     * @throws AttachRefused the restarted daemon refused the attachment
     */
    @Nullable Response call(Request request, long deadlineNanos) throws AttachRefused {
        long backoff = FIRST_RETRY_NANOS;
        while (true) {
            DaemonChannel c = channel;
            if (c != null) {
                try {
                    // A daemon that answers nothing by the deadline is as good as gone (hung):
                    // the caller must not wait forever.
                    c.setReadTimeout(millisUntil(deadlineNanos));
                    Response r = c.call(request);
                    c.setReadTimeout(0);
                    return r;
                } catch (IOException e) {
                    disconnect(); // the daemon went away (restart, crash): a new connection below
                }
            }
            if (reattachBefore(deadlineNanos, backoff)) {
                continue;
            }
            return null;
        }
    }

    /**
     * Reconnects and re-attaches, retrying until {@code deadlineNanos}.
     *
     * @return true once attached; false if the deadline passed first
     * @throws AttachRefused the daemon is back but refused the attachment
     */
    boolean reattachBefore(long deadlineNanos, long firstBackoffNanos) throws AttachRefused {
        long backoff = firstBackoffNanos;
        while (true) {
            try {
                attach(Math.max(deadlineNanos, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100)));
                return true;
            } catch (IOException e) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                // Not a test's sleep-and-hope: a daemon being restarted is not there yet, and
                // nothing signals its return; back off up to half a second between tries.
                LockSupport.parkNanos(Math.min(backoff, left));
                backoff = Math.min(backoff * 2, MAX_RETRY_NANOS);
            }
        }
    }

    private static int millisUntil(long deadlineNanos) {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        return (int) Math.clamp(ms, 1, Integer.MAX_VALUE);
    }

    /** Forgets the connection (the daemon went away). */
    void disconnect() {
        closeQuietly(channel);
        channel = null;
        closeQuietly(pending);
        pending = null;
    }

    private static void closeQuietly(@Nullable DaemonChannel c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // Closing a broken connection: nothing to report.
            }
        }
    }

    @Override
    public void close() {
        disconnect();
    }
}
