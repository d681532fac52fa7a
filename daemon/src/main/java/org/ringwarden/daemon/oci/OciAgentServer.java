package org.ringwarden.daemon.oci;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.util.Objects.requireNonNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;

import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.audit.AuditRecord;
import org.ringwarden.daemon.grant.ContainerRef;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.PeerCredentials;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.UnixSockets;
import org.ringwarden.policy.ContainerSubject;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.RefusedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.jspecify.annotations.Nullable;

/**
 * The OCI seccomp agent socket (docs/containers.md). A runtime (runc, crun) connects before
 * the container's process starts and sends one message: the container state as JSON and the
 * seccomp listener as {@code SCM_RIGHTS} ({@link AgentMessage}). The agent reads it (bounded:
 * {@link AgentMessage#MAX_BYTES}, {@link #READ_TIMEOUT_MS}), takes the policy from the
 * profile's {@code listenerMetadata}, the pod from the bundle's annotations, and hands the
 * listener to the {@link ContainerAttacher}, which checks that the container may use the
 * policy. Every outcome is audited ({@code container-attach}, ok or refused), naming the
 * container. Nothing is answered on the socket: runtimes do not read an answer; a refused
 * listener is closed, and the container's {@code io_uring_setup} then fails {@code ENOSYS}.
 *
 * <p>Only root may send (the socket is 0600 and the peer's {@code SO_PEERCRED} uid must be
 * 0): the message names the process and bundle the daemon will trust. One thread accepts and
 * reads connections one at a time.
 */
public final class OciAgentServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OciAgentServer.class);
    /** How long a runtime may take to send its message. */
    static final long READ_TIMEOUT_MS = 5_000;
    private static final long SYS_EVENTFD2 = 290;

    private final int listenFd;
    private final @Nullable Path ownedPath;
    private final ContainerAttacher attacher;
    private final AuditLog audit;
    private final ContainerFdStore store;
    private final int wakeFd;
    private final Thread thread;
    private volatile boolean stopping;

    private OciAgentServer(int listenFd, @Nullable Path ownedPath, ContainerAttacher attacher, AuditLog audit,
                           ContainerFdStore store) {
        this.store = requireNonNull(store, "store");
        this.listenFd = listenFd;
        this.ownedPath = ownedPath;
        this.attacher = requireNonNull(attacher, "attacher");
        this.audit = requireNonNull(audit, "audit");
        this.wakeFd = (int) Syscall.checked("eventfd2", SYS_EVENTFD2, 0, Descriptors.O_CLOEXEC);
        this.thread = Thread.ofPlatform().daemon().name("ringwarden-oci-agent").unstarted(this::run);
    }

    /**
     * Serves the listening socket {@code listenFd} (owned from here on; closed by
     * {@link #close()}); {@code ownedPath}, if not null, is the socket file to remove at close
     * (null for a socket systemd passed, which stays).
     */
    public static OciAgentServer start(int listenFd, @Nullable Path ownedPath, ContainerAttacher attacher, AuditLog audit,
                                       ContainerFdStore store) {
        OciAgentServer s = new OciAgentServer(listenFd, ownedPath, attacher, audit, store);
        s.thread.start();
        return s;
    }

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(16, 8);
            MemorySegment capture = Syscall.newCaptureState(arena);
            while (!stopping) {
                fds.set(JAVA_INT, 0, listenFd);
                fds.set(JAVA_SHORT, 4, (short) Poll.POLLIN);
                fds.set(JAVA_SHORT, 6, (short) 0);
                fds.set(JAVA_INT, 8, wakeFd);
                fds.set(JAVA_SHORT, 12, (short) Poll.POLLIN);
                fds.set(JAVA_SHORT, 14, (short) 0);
                long r = Syscall.rawRetrying(capture, Syscall.SYS_POLL, fds.address(), 2, -1, 0, 0, 0);
                if (r < 0) {
                    throw new KernelException("poll(agent socket)", (int) -r);
                }
                if (stopping || (fds.get(JAVA_SHORT, 14) & Poll.POLLIN) != 0) {
                    break;
                }
                if ((fds.get(JAVA_SHORT, 6) & Poll.POLLIN) == 0) {
                    continue;
                }
                int conn = UnixSockets.accept(listenFd);
                if (conn < 0) {
                    continue; // the runtime gave up meanwhile (ECONNABORTED), or EAGAIN
                }
                try {
                    serve(conn);
                } catch (RuntimeException e) {
                    LOG.error("serving an OCI runtime on the agent socket failed", e);
                } finally {
                    Descriptors.closeQuietly(conn);
                }
            }
        } catch (RuntimeException | Error e) {
            LOG.error("the OCI agent socket stopped serving; containers' listeners are refused until restart", e);
        }
    }

    /** Reads one runtime's message from {@code conn} and attaches (or refuses) its listener. */
    void serve(int conn) {
        PeerCredentials peer;
        try {
            peer = PeerCredentials.of(conn);
        } catch (KernelException e) {
            return; // gone already
        }
        int[] received = new int[0];
        byte[] buf = new byte[AgentMessage.MAX_BYTES + 1];
        int length = 0;
        try {
            if (peer.uid() != 0) {
                refuse(peer, null, null, "only root (an OCI runtime) may send listeners; uid " + peer.uid() + " connected");
                return;
            }
            UnixSockets.setTimeouts(conn, READ_TIMEOUT_MS);
            // The descriptors come with the first bytes; the message ends where its JSON value does
            // (runc keeps the connection open while it runs the container).
            while (true) {
                byte[] chunk = new byte[buf.length - length];
                UnixRights.Received got;
                try {
                    got = UnixRights.recvFds(conn, chunk, received.length == 0 ? 8 : 0);
                } catch (KernelException e) {
                    refuse(peer, null, null, "reading the runtime's message failed after " + length + " bytes: "
                            + e.getMessage());
                    return;
                }
                if (got.fds().length > 0) {
                    int old = received.length;
                    received = Arrays.copyOf(received, old + got.fds().length);
                    System.arraycopy(got.fds(), 0, received, old, got.fds().length);
                }
                if (got.controlTruncated()) {
                    refuse(peer, null, null, "the runtime sent more than 8 descriptors");
                    return;
                }
                System.arraycopy(chunk, 0, buf, length, got.bytes());
                length += got.bytes();
                if (length > AgentMessage.MAX_BYTES) {
                    refuse(peer, null, null, "the message is longer than " + AgentMessage.MAX_BYTES + " bytes");
                    return;
                }
                if (AgentMessage.complete(buf, length)) {
                    break;
                }
                if (got.bytes() == 0) {
                    refuse(peer, null, null, "the connection ended after " + length + " bytes, inside the message");
                    return;
                }
            }
            AgentMessage m = AgentMessage.parse(buf, length);
            if (m.fds().size() != received.length) {
                refuse(peer, null, null, "the message names " + m.fds().size() + " descriptors (" + m.fds()
                        + ") but " + received.length + " came with it");
                return;
            }
            BundleAnnotations pod = BundleAnnotations.read(Path.of(m.bundle()));
            ContainerRef container = new ContainerRef(new ContainerSubject(m.id(), pod.podNamespace(), pod.podName()),
                    m.bundle(), m.metadata());
            String policy;
            try {
                policy = ListenerMetadata.parse(m.metadata()).policy();
            } catch (AgentMessage.Malformed e) {
                refuse(peer, container, null, String.valueOf(e.getMessage()));
                return;
            }
            int listener = received[m.seccompFdIndex()];
            // In systemd's store before the attachment exists: the hook that removes it can then
            // never run first. Refused: removed again.
            String key = store.store(container, policy, m.pid(), listener);
            received[m.seccompFdIndex()] = -1; // the attacher owns it from the call on
            try {
                attacher.attach(container, policy, m.pid(), listener, () -> {
                    if (key != null) {
                        store.remove(key);
                    }
                });
            } catch (RefusedException e) {
                if (key != null) {
                    store.remove(key);
                }
                refuse(peer, container, policy, e.code(), e.getMessage() + (pod.note().isEmpty() ? "" : "; " + pod.note()));
                return;
            }
            audit.record(new AuditRecord(Instant.now(), "container-attach", peer.pid(), peer.uid(), peer.gid(),
                    exe(peer.pid()), policy, null, "ok", null, container.describe() + " pid " + m.pid()
                            + ": io_uring_setup in the container is served under policy " + policy
                            + (pod.note().isEmpty() ? "" : "; " + pod.note())
                            + (key == null ? "" : "; kept in systemd's fd store as oci-" + key)));
        } catch (AgentMessage.Malformed e) {
            refuse(peer, null, null, "malformed message: " + e.getMessage());
        } finally {
            for (int fd : received) {
                Descriptors.closeQuietly(fd);
            }
        }
    }

    /**
     * Attaches the listeners the daemon stored before a restart ({@link ContainerFdStore}),
     * under the policies in force now; one that no longer may is closed (its container's
     * calls fail {@code ENOSYS}) and dropped from the store. Each outcome is audited as
     * {@code container-reattach}. Takes every fd in {@code stored}.
     */
    public void reattach(java.util.Map<String, Integer> stored) {
        for (var e : ContainerFdStore.pairs(stored).entrySet()) {
            String key = e.getKey();
            int listener = e.getValue()[0];
            int meta = e.getValue()[1];
            ContainerFdStore.Stored s = null;
            String outcome = "ok";
            ErrorCode code = null;
            String why;
            try {
                if (listener < 0 || meta < 0) {
                    throw new AgentMessage.Malformed("oci-" + key + " and ocimeta-" + key + " come in pairs; one is missing");
                }
                s = ContainerFdStore.read(meta);
                ContainerFdStore.Stored st = s;
                attacher.attach(st.container(), st.policy(), st.pid(), listener, () -> store.remove(key));
                listener = -1;
                why = st.container().describe() + " pid " + st.pid() + ": listener taken back from systemd's fd store"
                        + " (oci-" + key + "); io_uring_setup in the container is served under policy " + st.policy();
            } catch (AgentMessage.Malformed | RefusedException ex) {
                if (ex instanceof RefusedException) {
                    listener = -1; // the attacher closed it
                }
                store.remove(key);
                outcome = "refused";
                code = ex instanceof RefusedException r ? r.code() : ErrorCode.BAD_REQUEST;
                why = (s == null ? "oci-" + key : s.container().describe()) + ": stored listener dropped (the container's"
                        + " io_uring_setup fails ENOSYS): " + ex.getMessage();
                LOG.warn("OCI agent: {}", why);
            } finally {
                Descriptors.closeQuietly(meta);
            }
            Descriptors.closeQuietly(listener);
            audit.record(new AuditRecord(Instant.now(), "container-reattach", 0, -1, -1, null,
                    s == null ? null : s.policy(), null, outcome, code, why));
        }
    }

    private void refuse(PeerCredentials peer, @Nullable ContainerRef c, @Nullable String policy, String why) {
        refuse(peer, c, policy, ErrorCode.BAD_REQUEST, why);
    }

    private void refuse(PeerCredentials peer, @Nullable ContainerRef c, @Nullable String policy, ErrorCode code,
                        String why) {
        String detail = (c == null ? "" : c.describe() + ": ") + "listener refused (the container's io_uring_setup"
                + " fails ENOSYS): " + why;
        LOG.warn("OCI agent: {}", detail);
        audit.record(new AuditRecord(Instant.now(), "container-attach", peer.pid(), peer.uid(), peer.gid(),
                exe(peer.pid()), policy, null, "refused", code, detail));
    }

    private static @Nullable String exe(int pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "exe")).toString();
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    /** Stops accepting (a connection being read is finished first), closes the socket, removes a file it bound. */
    @Override
    public void close() {
        stopping = true;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(JAVA_LONG);
            one.set(JAVA_LONG, 0, 1L);
            Syscall.rawOnThisThread(Syscall.SYS_WRITE, wakeFd, one.address(), 8, 0, 0, 0);
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        Descriptors.closeQuietly(listenFd);
        Descriptors.closeQuietly(wakeFd);
        if (ownedPath != null) {
            try {
                Files.deleteIfExists(ownedPath);
            } catch (java.io.IOException e) {
                LOG.warn("could not remove the agent socket {}: {}", ownedPath, e.getMessage());
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
