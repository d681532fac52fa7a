package org.ringwarden.client;

import static java.util.Objects.requireNonNull;

import java.io.FileDescriptor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.jspecify.annotations.Nullable;
import org.newsclub.net.unix.FileDescriptorCast;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.protocol.DaemonChannel;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

/**
 * A connection to the ringwarden daemon, through which this process acquires io_uring rings
 * that the daemon creates and restricts under an administrator's policy.
 *
 * <pre>{@code
 * try (RingwardenClient client = RingwardenClient.connect()) {
 *     for (PolicyInfo p : client.policies()) {
 *         System.out.println(p.name() + ": " + p.description());
 *     }
 *     try (BrokeredRing ring = client.acquire("reader")) {
 *         ...                                   // see BrokeredRing
 *     }
 * }
 * }</pre>
 *
 * <h2>What connecting does to the process</h2>
 * {@link #connect} installs the ringwarden seccomp filter on every thread of the process and
 * hands its listener to the daemon ({@link SandboxFilter} says exactly what that changes:
 * no-new-privs for good, and every later {@code io_uring_setup} in the process goes to the
 * daemon). It refuses with {@link DeliveryUnavailableException} where that cannot work.
 *
 * <h2>One connection per process at a time</h2>
 * The kernel gives a process one seccomp listener, and the daemon delivers a connection's rings
 * through the listener that connection attached; so a process has at most one open client.
 * It is thread-safe: share it between threads (requests are serialised). After {@link #close()},
 * a new {@link #connect} attaches again.
 *
 * <h2>Errors</h2>
 * Every protocol {@code error} arrives as the {@link DaemonErrorException} subclass of its code,
 * with the daemon's message; a broken connection as an {@link IOException}.
 */
public final class RingwardenClient implements AutoCloseable {
    /** The daemon's default socket (protocol.md, "Transport"). */
    public static final Path DEFAULT_SOCKET = Path.of("/run/ringwarden/ringwarden.sock");
    /** The environment variable that overrides {@link #DEFAULT_SOCKET} for {@link #connect()}. */
    public static final String SOCKET_ENV = "RINGWARDEN_SOCKET";

    private static final AtomicReference<@Nullable RingwardenClient> OPEN = new AtomicReference<>();

    private final DaemonChannel channel;
    /** For {@link SandboxFilter#collect}, under this client's lock (acquire is synchronized). */
    private final SandboxFilter.CollectScratch collectScratch = SandboxFilter.CollectScratch.allocate();
    private boolean closed; // guarded by this

    private RingwardenClient(DaemonChannel channel) {
        this.channel = channel;
    }

    /** Connects to the daemon at {@code $RINGWARDEN_SOCKET}, or {@link #DEFAULT_SOCKET}. */
    public static RingwardenClient connect() throws IOException {
        String env = System.getenv(SOCKET_ENV);
        return connect(env == null || env.isEmpty() ? DEFAULT_SOCKET : Path.of(env));
    }

    /**
     * Connects to the daemon at {@code socket}, installs the process's ring-delivery filter and
     * attaches it (protocol.md, step 1).
     *
     * @throws DeliveryUnavailableException if this process cannot receive rings (and why)
     * @throws DaemonErrorException         if the daemon refuses the attachment
     * @throws IllegalStateException        if this process already has an open client
     * @throws IOException                  if the daemon cannot be reached
     */
    public static RingwardenClient connect(Path socket) throws IOException {
        requireNonNull(socket, "socket");
        RingwardenClient current = OPEN.get();
        if (current != null && !current.isClosed()) {
            throw new IllegalStateException("this process already has an open RingwardenClient (" + current.channel.path()
                    + "): the kernel gives a process one seccomp listener; share that client between threads");
        }
        DaemonChannel channel;
        try {
            channel = DaemonChannel.connect(socket);
        } catch (IOException e) {
            throw new IOException("cannot connect to the ringwarden daemon at " + socket + ": " + e.getMessage(), e);
        }
        RingwardenClient client = new RingwardenClient(channel);
        try {
            client.attach();
        } catch (IOException | RuntimeException | Error e) {
            closeQuietly(channel);
            throw e;
        }
        if (!OPEN.compareAndSet(current, client)) {
            closeQuietly(channel);
            throw new IllegalStateException("another RingwardenClient was connected meanwhile in this process");
        }
        return client;
    }

    private void attach() throws IOException {
        int listener = SandboxFilter.install();
        try {
            channel.send(new Request.Attach(1, null));
            Response r = channel.receive();
            if (r instanceof Response.SendFds s) {
                if (s.count() != 1) {
                    throw unexpected("attach", r);
                }
                channel.sendDescriptors(new int[] {listener});
                r = channel.receive();
            }
            if (r instanceof Response.Error e) {
                throw DaemonErrorException.of(e.code(), "attach", e.message());
            }
            if (!(r instanceof Response.Attached)) {
                throw unexpected("attach", r);
            }
        } finally {
            // The daemon holds the listener now (or nobody should): once its copy closes, the
            // kernel answers io_uring_setup with ENOSYS instead of leaving callers waiting.
            Descriptors.closeQuietly(listener);
        }
    }

    /** The policies this process may acquire; never anything about the others. */
    public synchronized List<PolicyInfo> policies() throws IOException {
        ensureOpen();
        channel.send(new Request.ListPolicies());
        Response r = channel.receive();
        if (r instanceof Response.Error e) {
            throw DaemonErrorException.of(e.code(), "policies", e.message());
        }
        if (!(r instanceof Response.Policies p)) {
            throw unexpected("policies", r);
        }
        List<PolicyInfo> out = new ArrayList<>(p.policies().size());
        for (Response.PolicySummary s : p.policies()) {
            out.add(new PolicyInfo(s.name(), s.description()));
        }
        return List.copyOf(out);
    }

    /** Acquires a ring under {@code policy} (protocol.md, steps 2 and 3). */
    public BrokeredRing acquire(String policy) throws IOException {
        return acquire(policy, new int[0]);
    }

    /**
     * Acquires a ring under {@code policy}, with this process's own descriptors registered as
     * fixed files after the policy's ({@link BrokeredRing#clientFile(int)}); the policy bounds
     * how many. The descriptors stay open here: the daemon registers copies.
     */
    public BrokeredRing acquire(String policy, FileDescriptor... clientFds) throws IOException {
        int[] fds = new int[clientFds.length];
        for (int i = 0; i < fds.length; i++) {
            fds[i] = FileDescriptorCast.using(requireNonNull(clientFds[i], "clientFds")).as(Integer.class);
        }
        return acquire(policy, fds);
    }

    /**
     * As {@link #acquire(String, FileDescriptor...)}, with descriptor numbers.
     *
     * @throws DaemonErrorException    the daemon's refusal ({@code NOT_PERMITTED} for a policy this
     *                                 process may not use or that does not exist, {@code QUOTA_EXCEEDED}...)
     * @throws RingCollectionException if the granted ring could not be collected or mapped
     */
    public synchronized BrokeredRing acquire(String policy, int... clientFds) throws IOException {
        requireNonNull(policy, "policy");
        requireNonNull(clientFds, "clientFds");
        ensureOpen();
        Response.Grant grant;
        int[] memfds;
        try {
            channel.send(new Request.Acquire(policy, clientFds.length));
            Response r = channel.receive();
            if (r instanceof Response.SendFds s) {
                if (s.count() != clientFds.length) {
                    throw unexpected(what(policy), r);
                }
                channel.sendDescriptors(clientFds);
                r = channel.receive();
            }
            if (r instanceof Response.Error e) {
                throw DaemonErrorException.of(e.code(), what(policy), e.message());
            }
            if (!(r instanceof Response.Grant g)) {
                throw unexpected(what(policy), r);
            }
            grant = g;
            memfds = grant.fds() == 0 ? new int[0] : channel.receiveDescriptors(grant.fds());
        } catch (DaemonErrorException e) {
            throw e; // an answer: the connection is in step
        } catch (IOException | RuntimeException e) {
            // Half an exchange: nothing later on this connection could be trusted.
            closeLocked();
            throw e;
        }
        long fd = SandboxFilter.collect(grant.ring().sqEntries(), grant.ticket(), collectScratch);
        if (fd < 0) {
            closeAll(memfds);
            releaseQuietly(grant.lease());
            int errno = (int) -fd;
            throw new RingCollectionException(what(policy) + ": the ticketed io_uring_setup failed with " + Errno.nameOf(errno)
                    + collectHint(errno), errno);
        }
        try {
            return BrokeredRing.map(this, grant, (int) fd, memfds, clientFds.length);
        } catch (RuntimeException e) {
            closeAll(memfds);
            releaseQuietly(grant.lease());
            throw new RingCollectionException(what(policy) + ": the delivered ring could not be mapped: " + e.getMessage(), 0, e);
        }
    }

    /** How an acquire names itself in exceptions (built only on their paths). */
    private static String what(String policy) {
        return "acquire '" + policy + "'";
    }

    private static String collectHint(int errno) {
        if (errno == Errno.EPERM.number()) {
            return " (the daemon refused the ticket: expired, or the caller is outside the connected process; its"
                    + " audit log says why)";
        }
        if (errno == Errno.ENOSYS.number()) {
            return " (nobody holds this process's seccomp listener: the daemon closed the connection or died)";
        }
        if (errno == Errno.EMFILE.number()) {
            return " (this process has no descriptor free for the ring)";
        }
        return "";
    }

    /** Called by {@link BrokeredRing#close()}: ends the lease if the connection is still open. */
    void released(BrokeredRing ring) {
        releaseQuietly(ring.lease());
    }

    /**
     * Sends {@code release} and waits for the answer. Not pipelined: until the daemon has closed
     * its copy of the ring, the ring lives on, and so do operations still in flight on it (a
     * pending RECV would still take the next bytes of its socket); a program that closed a ring
     * must be able to rely on that being over (ClientEndToEndTest's in-flight scenario).
     */
    private synchronized void releaseQuietly(String lease) {
        if (closed) {
            return; // the lease ended with the connection
        }
        try {
            channel.send(new Request.Release(lease));
            Response r = channel.receive();
            if (!(r instanceof Response.Released) && !(r instanceof Response.Error)) {
                // Out of step with the daemon: nothing later on this connection can be trusted.
                closeLocked();
            }
        } catch (IOException | RuntimeException e) {
            closeLocked();
        }
    }

    private static IOException unexpected(String what, Response r) {
        return new IOException(what + ": the daemon answered '" + r.type() + "', which this client did not expect");
    }

    private static void closeAll(int[] fds) {
        for (int fd : fds) {
            Descriptors.closeQuietly(fd);
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("this RingwardenClient is closed");
        }
    }

    /** True once closed (by {@link #close()}, or because the connection broke). */
    public synchronized boolean isClosed() {
        return closed;
    }

    /**
     * Closes the connection: the daemon ends its leases and drops this process's listener, after
     * which (as soon as the daemon has processed the close, normally within milliseconds)
     * {@code io_uring_setup} in this process fails with {@code ENOSYS}. Rings already
     * collected stay usable until closed (the kernel cannot revoke them). Idempotent.
     */
    @Override
    public synchronized void close() {
        closeLocked();
    }

    private void closeLocked() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(channel);
        OPEN.compareAndSet(this, null);
    }

    private static void closeQuietly(DaemonChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Closing a Unix socket does not fail in a way anyone could act on.
        }
    }
}
