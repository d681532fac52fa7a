package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.policy.CompiledPolicy;

import org.jspecify.annotations.Nullable;

/**
 * A connection's seccomp listener, through which its process tree's {@code io_uring_setup}
 * calls reach the daemon. Holds its own pidfd of the attaching peer (a duplicate of the
 * server's, or one opened at attach), so that the ancestry check never depends on a
 * descriptor the server may close meanwhile.
 *
 * <p>Closed only by the {@link ListenerPoller} thread (or after it stopped).
 */
final class Attachment {
    private final Peer peer;
    private final SeccompListener listener;
    private final int pidfd;
    private final @Nullable CompiledPolicy transparent;
    /** The container whose runtime sent the listener to the OCI agent socket; null for a client's own. */
    private final @Nullable ContainerRef container;
    /** Transparent notification ids answered with a ring while they may still be pending. */
    private final java.util.Set<Long> served = new java.util.HashSet<>();
    private boolean closed;

    /**
     * @param transparent the policy for un-ticketed {@code io_uring_setup} calls; null for ticketed use only
     *                    (docs/transparent.md)
     */
    Attachment(Peer peer, SeccompListener listener, int pidfd, @Nullable CompiledPolicy transparent) {
        this(peer, listener, pidfd, transparent, null);
    }

    /**
     * @param container the container whose listener this is (the daemon itself then receives
     *                  its calls and does the memory work, docs/containers.md); it comes with a
     *                  transparent policy
     */
    Attachment(Peer peer, SeccompListener listener, int pidfd, @Nullable CompiledPolicy transparent,
               @Nullable ContainerRef container) {
        this.peer = requireNonNull(peer, "peer");
        this.listener = requireNonNull(listener, "listener");
        this.pidfd = pidfd;
        if (container != null && transparent == null) {
            throw new IllegalArgumentException("a container's attachment is served under a transparent policy");
        }
        this.transparent = transparent;
        this.container = container;
    }

    /** The container, for an attachment the OCI agent socket made; null otherwise. */
    @Nullable ContainerRef container() {
        return container;
    }

    /**
     * Whether the daemon's poller receives this listener's notifications: a client's ticketed
     * listener and a container's; not a {@code ringwarden run} listener, whose supervisor receives.
     */
    boolean daemonReceives() {
        return transparent == null || container != null;
    }

    Peer peer() {
        return peer;
    }

    SeccompListener listener() {
        return listener;
    }

    /** The daemon's own pidfd of {@link #peer()}'s process. */
    int pidfd() {
        return pidfd;
    }

    /** The transparent policy; null for ticketed use only. */
    @Nullable CompiledPolicy transparent() {
        return transparent;
    }

    /**
     * Claims transparent notification {@code id} for one answer: false if it was claimed
     * before (a supervisor asking twice for one trapped call would get a second ring). Ids the
     * kernel no longer holds pending are forgotten, so the set stays as small as the number of
     * calls trapped at once.
     */
    synchronized boolean serveOnce(long id) {
        if (served.contains(id)) {
            return false;
        }
        if (served.size() >= 16) {
            served.removeIf(old -> !listener.isValid(old));
        }
        served.add(id);
        return true;
    }

    /** Closes the listener and the pidfd. Idempotent. */
    synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            listener.close();
        } catch (RuntimeException e) {
            // close(2) of our own fd does not fail usefully; the pidfd must still go.
        }
        Descriptors.closeQuietly(pidfd);
    }

    synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "attachment[" + peer + ", listener fd " + listener.fd()
                + (transparent == null ? "" : ", transparent " + transparent.name())
                + (container == null ? "" : ", " + container.describe()) + "]";
    }
}
