package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.policy.Allowed;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.RefusedException;

import org.jspecify.annotations.Nullable;

/**
 * The granting half of the daemon: attaches clients' seccomp listeners, builds rings under
 * policies ({@code acquire}), delivers them through the listeners, and keeps the leases and
 * quotas until release or connection close.
 *
 * <pre>{@code
 * GrantService grants = new GrantService(DaemonLimits.defaults(), auditLog::write);
 * grants.attach(peer, listenerFd, null);               // "attach": the fd is now the service's
 * Grant g = grants.acquire(peer, policy, clientFds);  // off the event loop: it opens files
 * // send g as the "grant" message, then g.bufferFds() as SCM_RIGHTS (do not close them)
 * grants.connectionClosed(peer);                      // ends its leases and attachment
 * }</pre>
 *
 * <h2>Threads</h2>
 * Every method is thread-safe. {@link #acquire} blocks (it opens files and builds a ring):
 * call it from a worker, or use {@link #acquireAsync}, never from an event loop. Rings are
 * created only on the service's two ring-builder threads (a ring's creator sees spurious
 * {@code EINTR} whenever that ring is torn down, so the server's threads must not be creators);
 * delivery runs on the service's poller thread, ticket expiry on its timer thread. Every
 * blocking call of this package retries {@code EINTR}.
 *
 * <h2>Ownership</h2>
 * {@link #attach} owns {@code listenerFd} from the call on (closes it on refusal too);
 * {@link #acquire} owns {@code clientFds} likewise. A {@link Grant}'s buffer memfds belong
 * to the lease, which closes them when it ends.
 */
public final class GrantService implements AutoCloseable {
    private static final long DETACH_WAIT_MS = 5_000;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GrantService.class);

    private final DaemonLimits limits;
    private final Consumer<AuditEvent> audit;
    private final Clock clock;
    private final MemlockCharge charge;
    private final RingFactory factory;
    /** Rings the daemon let go of, until every copy is closed (see {@link LeaseRegistry}). */
    private final org.ringwarden.linux.OpenFileWatch watch = new org.ringwarden.linux.OpenFileWatch();
    private final LeaseRegistry registry;
    private final GrantCounters counters = new GrantCounters();
    private final ListenerPoller poller;
    private final ScheduledThreadPoolExecutor expiryTimer;
    private final RingBuilders ringBuilders = new RingBuilders();
    private final Map<Long, Attachment> attachments = new HashMap<>(); // guarded by itself
    private final Map<Integer, Integer> attachmentsPerUid = new HashMap<>(); // guarded by attachments
    private volatile boolean closed;
    private final TransparentRingMaker transparentRings;
    /** Complain-mode rings wait for the watcher to trace their users (ComplainFollowing). */
    private final ComplainFollowing following;

    /**
     * @param limits the daemon's limits
     * @param audit  receives every audited event, synchronously, from any of the service's threads
     */
    public GrantService(DaemonLimits limits, Consumer<AuditEvent> audit) {
        this(limits, audit, Clock.systemUTC(), MemlockCharge.probe());
    }

    /**
     * @param charge who the kernel charges each ring's pinned memory to ({@link MemlockCharge#probe()})
     */
    public GrantService(DaemonLimits limits, Consumer<AuditEvent> audit, MemlockCharge charge) {
        this(limits, audit, Clock.systemUTC(), charge);
    }

    GrantService(DaemonLimits limits, Consumer<AuditEvent> audit, Clock clock, MemlockCharge charge) {
        this(limits, audit, clock, charge, new ComplainFollowing());
    }

    GrantService(DaemonLimits limits, Consumer<AuditEvent> audit, Clock clock, MemlockCharge charge,
                 ComplainFollowing following) {
        this.following = requireNonNull(following, "following");
        this.limits = requireNonNull(limits, "limits");
        this.charge = requireNonNull(charge, "charge");
        this.factory = new RingFactory(charge);
        this.transparentRings = new TransparentRingMaker(this::audit,
                Clock.systemUTC(), charge, watch, following);
        if (charge.perUser()) {
            LOG.info("Pinned memory: {}; {}", charge.why(), charge.ensureBudget(limits));
        } else {
            LOG.warn("Pinned memory: {}", charge.why());
        }
        this.audit = requireNonNull(audit, "audit");
        this.clock = requireNonNull(clock, "clock");
        this.registry = new LeaseRegistry(limits, new TicketIssuer(), clock);
        this.expiryTimer = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().daemon().name("ringwarden-ticket-expiry").factory());
        // One sweep every tenth of the expiry (10 ms..1 s), not a timer per grant: scheduling a
        // task that becomes the queue's head wakes the timer thread, once per acquire, and that
        // wake-up cost more than the rest of the bookkeeping. A ticket lives at most
        // ticketExpiry plus one period.
        long expiryNanos = limits.ticketExpiry().toNanos();
        long period = Math.clamp(expiryNanos / 10, TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(1));
        expiryTimer.scheduleWithFixedDelay(() -> expireDue(expiryNanos), period, period, TimeUnit.NANOSECONDS);
        this.poller = new ListenerPoller(new RingDelivery(registry, this::audit, counters, clock,
                this::letGo, this::hungUp, this::containerCall));
    }

    // ------------------------------------------------------------------ attach

    /**
     * Attaches {@code peer}'s connection to the seccomp listener {@code listenerFd}: from now
     * on the {@code io_uring_setup} calls trapped there are answered by this service. Takes
     * ownership of {@code listenerFd}, also when it refuses.
     *
     * @param transparentOrNull a policy for un-ticketed {@code io_uring_setup} calls
     *                          (docs/transparent.md); null for ticketed use only
     * @throws RefusedException {@code BAD_REQUEST} if the fd is not a seccomp listener or the
     *                        connection is attached already; {@code NOT_PERMITTED} if the policy
     *                        is not for transparent use or the peer is gone;
     *                        {@code QUOTA_EXCEEDED} past the attachment limits; {@code BUSY} when closed
     */
    public void attach(Peer peer, int listenerFd, @Nullable CompiledPolicy transparentOrNull) throws RefusedException {
        requireNonNull(peer, "peer");
        int pidfd = -1;
        try {
            if (closed) {
                throw new RefusedException(ErrorCode.BUSY, "the daemon is shutting down");
            }
            if (transparentOrNull != null && !transparentOrNull.transparent().enabled()) {
                throw new RefusedException(ErrorCode.NOT_PERMITTED,
                        "policy " + transparentOrNull.name() + " is not for transparent use");
            }
            if (!SeccompListener.isListener(listenerFd)) {
                throw new RefusedException(ErrorCode.BAD_REQUEST, "the descriptor sent with attach is not a seccomp"
                        + " user-notification listener");
            }
            pidfd = pidfdOf(peer);
            Attachment a = new Attachment(peer, SeccompListener.adopt(listenerFd), pidfd, transparentOrNull);
            synchronized (attachments) {
                if (attachments.containsKey(peer.connectionId())) {
                    throw new RefusedException(ErrorCode.BAD_REQUEST, "this connection is attached already");
                }
                int mine = attachmentsPerUid.getOrDefault(peer.uid(), 0);
                if (mine >= limits.maxAttachmentsPerUid()) {
                    throw new RefusedException(ErrorCode.QUOTA_EXCEEDED,
                            "would exceed the daemon's " + limits.maxAttachmentsPerUid() + " attachments per user");
                }
                if (attachments.size() >= limits.maxAttachmentsTotal()) {
                    throw new RefusedException(ErrorCode.QUOTA_EXCEEDED,
                            "would exceed the daemon's " + limits.maxAttachmentsTotal() + " attachments in all");
                }
                attachments.put(peer.connectionId(), a);
                attachmentsPerUid.merge(peer.uid(), 1, Integer::sum);
            }
            pidfd = -1; // the attachment owns it now
            listenerFd = -1;
            poll(a);
        } catch (RefusedException e) {
            Descriptors.closeQuietly(listenerFd);
            Descriptors.closeQuietly(pidfd);
            counters.refused.increment();
            throw e;
        }
    }

    /** Hands a new attachment to the poller; if it cannot take it (shutting down), forgets it again. */
    private void poll(Attachment a) throws RefusedException {
        try {
            poller.add(a).get();
        } catch (ExecutionException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            forget(a);
            throw new RefusedException(ErrorCode.BUSY, "the daemon is shutting down");
        }
    }

    /** The service's own pidfd of the peer: a duplicate of the server's, or a new one. */
    private static int pidfdOf(Peer peer) throws RefusedException {
        try {
            if (peer.pidfd() >= 0) {
                return Descriptors.dupCloexec(peer.pidfd());
            }
            // Without SO_PEERPIDFD: the peer is connected, so its pid is still its own (a
            // process that exited would have closed the connection; the server notices later).
            return (int) Syscall.checked("pidfd_open(" + peer.pid() + ")", Syscall.SYS_PIDFD_OPEN, peer.pid(), 0);
        } catch (KernelException e) {
            throw new RefusedException(ErrorCode.NOT_PERMITTED, "the peer process is gone: " + e.getMessage(), e);
        }
    }

    private void hungUp(Attachment a) {
        if (forget(a)) {
            ContainerRef c = a.container();
            Runnable hook = containerDetached.remove(a.peer().connectionId());
            if (hook != null) {
                try {
                    hook.run();
                } catch (RuntimeException e) {
                    LOG.warn("after {} ended: {}", a, e.toString());
                }
            }
            audit(new AuditEvent(AuditEvent.Kind.DETACH, clock.instant(), a.peer(), null, null, null,
                    (c == null ? "" : c.describe() + ": ") + "no process is left under the seccomp filter"));
        }
    }

    /** Removes {@code a} from the table (not from the poller); false if it was not there. */
    private boolean forget(Attachment a) {
        synchronized (attachments) {
            if (!attachments.remove(a.peer().connectionId(), a)) {
                return false;
            }
            if (a.container() == null) { // containers count against the total only (attachContainer)
                attachmentsPerUid.computeIfPresent(a.peer().uid(), (k, v) -> v <= 1 ? null : v - 1);
            }
            return true;
        }
    }

    // ------------------------------------------------------------------ acquire

    /**
     * Builds a ring under {@code policy} for {@code peer} and returns the grant; the ring waits
     * for the ticketed {@code io_uring_setup} (at most {@link DaemonLimits#ticketExpiry()}).
     * Blocks: never call it from an event loop. Takes ownership of {@code clientFds}.
     * The caller has checked that the peer may acquire {@code policy}.
     *
     * @throws RefusedException {@code NOT_ATTACHED} before {@code attach}; {@code NOT_PERMITTED}
     *                        for more client fds than the policy takes; {@code QUOTA_EXCEEDED};
     *                        or the code of a failing step (see {@link RingFactory#create})
     */
    public Grant acquire(Peer peer, CompiledPolicy policy, int[] clientFds) throws RefusedException {
        requireNonNull(peer, "peer");
        requireNonNull(policy, "policy");
        requireNonNull(clientFds, "clientFds");
        boolean fdsOwnedByFactory = false;
        try {
            if (closed) {
                throw new RefusedException(ErrorCode.BUSY, "the daemon is shutting down");
            }
            if (!isAttached(peer)) {
                throw new RefusedException(ErrorCode.NOT_ATTACHED,
                        "attach a seccomp listener before acquiring: the ring is delivered through it");
            }
            if (clientFds.length > policy.maxClientFds()) {
                throw new RefusedException(ErrorCode.NOT_PERMITTED, "policy " + policy.name() + " takes at most "
                        + policy.maxClientFds() + " client descriptors, not " + clientFds.length);
            }
            RingRecipe recipe = RingRecipe.of(policy);
            Lease lease = reserve(peer, policy, recipe.bufferBytes(), false);
            // connectionClosed forgets the attachment before it ends the leases: a lease reserved
            // after that would be missed, so look again now that this one is counted.
            if (!isAttached(peer)) {
                registry.end(lease);
                throw new RefusedException(ErrorCode.NOT_ATTACHED, "the connection closed during acquire");
            }
            PreparedRing ring;
            try {
                fdsOwnedByFactory = true;
                ring = build(recipe, clientFds, peer.uid());
            } catch (RefusedException | RuntimeException e) {
                registry.end(lease);
                throw e;
            }
            if (!registry.activate(lease, ring)) {
                ring.close();
                throw new RefusedException(ErrorCode.NOT_ATTACHED, "the connection closed while its ring was built");
            }
            Grant grant = new Grant(lease.id, policy.name(), lease.ticket, ring.params(), ring.enabled(), ring.files(),
                    ring.buffers().stream().map(PreparedRing.Buffer::toGrant).toList(), policy.allowed());
            if (policy.complains()) {
                awaitFollowed(); // the client cannot collect the ring before it has the ticket
            }
            counters.granted.increment();
            return grant;
        } catch (RefusedException e) {
            if (!fdsOwnedByFactory) {
                for (int fd : clientFds) {
                    Descriptors.closeQuietly(fd);
                }
            }
            counters.refused.increment();
            throw e;
        }
    }

    /**
     * {@link #acquire} on the service's ring-builder threads, for callers on an event loop.
     * The future fails with the {@link RefusedException} (or, after {@link #close()}, a
     * {@code BUSY} one); it owns {@code clientFds} from the call on.
     */
    public CompletableFuture<Grant> acquireAsync(Peer peer, CompiledPolicy policy, int[] clientFds) {
        int[] fds = clientFds.clone();
        CompletableFuture<Grant> f = new CompletableFuture<>();
        try {
            ringBuilders.execute(peer.uid(), () -> {
                try {
                    f.complete(acquire(peer, policy, fds));
                } catch (RefusedException | RuntimeException e) {
                    f.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            for (int fd : fds) {
                Descriptors.closeQuietly(fd);
            }
            f.completeExceptionally(new RefusedException(ErrorCode.BUSY, "the daemon is shutting down"));
        }
        return f;
    }

    /**
     * Runs tasks on the ring-builder threads of {@code uid}'s lane ({@link RingBuilders}), where
     * {@link #acquire} builds its ring without handing it to another thread. For a server that
     * wants its whole acquire request handled there (one thread hop instead of three); the tasks
     * must be that uid's acquires (or as short). Equal for equal uids. Refuses
     * ({@link java.util.concurrent.RejectedExecutionException}) after {@link #close()}.
     */
    public java.util.concurrent.Executor ringBuilderExecutor(int uid) {
        return ringBuilders.forUid(uid);
    }

    /**
     * Builds the ring on a ring-builder thread. The thread that creates a ring gets spurious
     * {@code EINTR} in its blocking calls whenever that ring is torn down (security.md), so
     * rings are created only on threads of this service, never on the server's.
     */
    private PreparedRing build(RingRecipe recipe, int[] clientFds, int uid) throws RefusedException {
        if (RingBuilders.onBuilderThread()) {
            return factory.create(recipe, clientFds, uid);
        }
        CompletableFuture<PreparedRing> f = new CompletableFuture<>();
        try {
            ringBuilders.execute(uid, () -> {
                try {
                    f.complete(factory.create(recipe, clientFds, uid));
                } catch (RefusedException | RuntimeException | Error e) {
                    f.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            for (int fd : clientFds) {
                Descriptors.closeQuietly(fd);
            }
            throw new RefusedException(ErrorCode.BUSY, "the daemon is shutting down");
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            // Nobody will take the ring: close it whenever the build finishes.
            f.thenAccept(PreparedRing::close);
            Thread.currentThread().interrupt();
            throw new RefusedException(ErrorCode.BUSY, "interrupted while the ring was built");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RefusedException g) {
                throw g;
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new RefusedException(ErrorCode.INTERNAL, "building the ring failed: " + c, c);
        }
    }

    private boolean isAttached(Peer peer) {
        synchronized (attachments) {
            return attachments.containsKey(peer.connectionId());
        }
    }

    private void expireDue(long expiryNanos) {
        try {
            List<Lease> due = registry.expireDue(System.nanoTime(), expiryNanos);
            for (Lease lease : due) {
                closeLease(lease);
                counters.expired.increment();
                audit(new AuditEvent(AuditEvent.Kind.EXPIRE, clock.instant(), lease.peer, lease.policy, lease.id, null,
                        "ticket not collected within " + limits.ticketExpiry() + "; ring destroyed"));
            }
            if (!due.isEmpty() || registry.heldCount() > 0) {
                sweep();
            }
        } catch (RuntimeException | Error e) {
            // A periodic task that throws is never run again: that would leave tickets unexpired.
        }
    }

    /**
     * Counts a lease, or refuses {@code QUOTA_EXCEEDED}. A held lease counts until its ring is
     * gone, which the periodic sweep notices: at a limit, look once more right now, so that a
     * client that closed its ring a moment ago is not refused for it.
     */
    private Lease reserve(Peer peer, CompiledPolicy policy, long bufferBytes, boolean transparent)
            throws RefusedException {
        Lease lease;
        try {
            lease = registry.reserve(peer, policy.name(), policy.limits().leasesPerUser(),
                    policy.limits().bufferBytesPerUser(), bufferBytes, transparent);
        } catch (RefusedException e) {
            if (e.code() != ErrorCode.QUOTA_EXCEEDED || registry.heldCount() == 0 || sweep() == 0) {
                throw e;
            }
            lease = registry.reserve(peer, policy.name(), policy.limits().leasesPerUser(),
                    policy.limits().bufferBytesPerUser(), bufferBytes, transparent);
        }
        lease.lists = policy.allowed();
        lease.complains = policy.complains();
        return lease;
    }

    /** Ends the held leases whose rings are gone from every process; returns how many. */
    private int sweep() {
        List<Lease> gone = registry.sweep(watch.liveKeys());
        for (Lease lease : gone) {
            audit(new AuditEvent(AuditEvent.Kind.END, clock.instant(), lease.peer, lease.policy, lease.id, null,
                    (lease.transparent() ? "transparent ring" : "ring") + " closed in every process; quota returned"));
        }
        return gone.size();
    }

    // ------------------------------------------------------------------ transparent

    /**
     * Makes a ring for a trapped {@code io_uring_setup} of a transparent attachment and installs
     * it into the caller; the supervisor that asked writes the params back and answers the call
     * (docs/transparent.md). Blocks briefly (ring creation): call it off the event loop.
     *
     * @throws RefusedException {@code NOT_ATTACHED} without an attachment; {@code NOT_PERMITTED}
     *                        if the connection attached without a transparent policy
     */
    public org.ringwarden.protocol.Response.TransparentRing transparentSetup(
            Peer peer, org.ringwarden.protocol.Request.TransparentSetup setup) throws RefusedException {
        requireNonNull(peer, "peer");
        requireNonNull(setup, "setup");
        Attachment a;
        synchronized (attachments) {
            a = attachments.get(peer.connectionId());
        }
        if (a == null) {
            throw new RefusedException(ErrorCode.NOT_ATTACHED, "transparent-setup needs an attachment with a transparent policy");
        }
        if (a.transparent() == null) {
            throw new RefusedException(ErrorCode.NOT_PERMITTED, "this connection attached without a transparent policy");
        }
        CompiledPolicy policy = a.transparent();
        // Audited and listed as the program that trapped (its pid, uid, executable), not as the
        // supervisor's connection; a tid outside the supervisor's own tree is not believed.
        TrappedProgram program = TrappedProgram.of(a, setup.pid(), setup.program());
        Peer subject = program == null ? peer : program.asPeer(peer);
        // At most one answer per trapped call, whatever the supervisor asks.
        if (!a.serveOnce(setup.notif())) {
            counters.refused.increment();
            return transparentRings.refuse(subject, peer, policy, setup, org.ringwarden.linux.Errno.EBUSY.number(),
                    ErrorCode.BAD_REQUEST, "notification " + setup.notif() + " was answered already");
        }
        // Counted like an acquired ring, for as long as the program keeps it (not the supervisor's
        // connection: the ring is the program's).
        Lease lease;
        try {
            lease = reserve(peer, policy, 0, true);
        } catch (RefusedException e) {
            counters.refused.increment();
            return transparentRings.refuse(subject, peer, policy, setup, org.ringwarden.linux.Errno.ENOMEM.number(),
                    e.code(), e.getMessage());
        }
        lease.program = program;
        java.util.concurrent.Callable<org.ringwarden.protocol.Response.TransparentRing> make = () -> {
            synchronized (a) { // Attachment.close() takes this lock: the listener stays open meanwhile
                if (a.isClosed()) {
                    throw new RefusedException(ErrorCode.NOT_ATTACHED, "the attachment ended");
                }
                org.ringwarden.protocol.Response.TransparentRing r =
                        transparentRings.make(a.peer(), subject, a.listener(), policy, setup, lease.key);
                if (r.errno() == 0) {
                    counters.transparent.increment();
                }
                return r;
            }
        };
        try {
            // Made on the user's builder lane, like every ring (the EINTR rule, and one user's
            // slow supervisor never holds up another's): the server sends the request there
            // (ringBuilderExecutor), otherwise it hops there now.
            if (RingBuilders.onBuilderThread()) {
                return make.call();
            }
            CompletableFuture<org.ringwarden.protocol.Response.TransparentRing> f = new CompletableFuture<>();
            ringBuilders.execute(peer.uid(), () -> {
                try {
                    f.complete(make.call());
                } catch (Exception | Error e) {
                    f.completeExceptionally(e);
                }
            });
            return f.get();
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new RefusedException(ErrorCode.BUSY, "the daemon is shutting down");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RefusedException(ErrorCode.BUSY, "interrupted while the ring was made");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RefusedException g) {
                throw g;
            }
            throw new RefusedException(ErrorCode.INTERNAL, "making the ring failed: " + e.getCause(), e.getCause());
        } catch (RefusedException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new RefusedException(ErrorCode.INTERNAL, "making the ring failed: " + e, e);
        } finally {
            // Held from now on: ended by the sweep as soon as no process has the ring (at once if
            // it was never made or never installed).
            registry.letGo(lease);
            sweep();
        }
    }

    // ------------------------------------------------------------------ refusal reports

    /**
     * Audits requests the kernel refused with {@code EACCES} because of a ring's restrictions,
     * as {@code ringwarden watch-refusals} saw them in the {@code io_uring_req_failed}
     * tracepoint: each names the program (its executable, pid and uid), the policy of the ring's
     * holder and the refused opcode and flags. The thread's process (as the watcher recorded it,
     * else from {@code /proc}) holds a lease, live or ended lately (a program often exits at
     * once after a refusal: the lease's record names it then), or is in the process tree of a
     * transparent attachment; a refusal on any other ring (one the program made itself where
     * that is allowed) is not ours to report. For a complain-mode holder the reports are its
     * traced submissions: those its policy's lists leave out are audited as complaints, the rest
     * dropped. Returns how many were audited.
     */
    public int refused(List<org.ringwarden.protocol.Request.RefusedSqe> refusals) {
        requireNonNull(refusals, "refusals");
        List<Attachment> attached;
        synchronized (attachments) {
            attached = List.copyOf(attachments.values());
        }
        int recorded = 0;
        for (org.ringwarden.protocol.Request.RefusedSqe r : refusals) {
            // The watcher names the thread group when the kernel had recorded it (record-tgid); else
            // /proc does while the thread lives; else the thread is taken for its process's main
            // thread, whose tid is the pid (a short program's one thread: its lease names it).
            int pid = r.pid() > 0 ? r.pid() : ProcessTree.field(r.tid(), "Tgid:");
            if (pid <= 0) {
                pid = r.tid();
            }
            String policy = null;
            long connection = -1;
            Allowed lists = null;
            boolean complains = false;
            int uid = -1;
            String exe = null;
            LeaseRegistry.Holder h = registry.holderOf(pid);
            if (h != null) {
                policy = h.info().policy();
                connection = h.info().connectionId();
                lists = h.lists();
                complains = h.complains();
                uid = h.info().uid();
                exe = h.info().exe();
            } else {
                // A process of a transparent program's tree that holds no lease of its own (a child
                // that inherited the ring): only while it runs, /proc tells the tree.
                for (Attachment a : attached) {
                    CompiledPolicy t = a.transparent();
                    if (t != null && ProcessTree.contains(a.peer().pid(), a.pidfd(), r.tid())) {
                        policy = t.name();
                        connection = a.peer().connectionId();
                        lists = t.allowed();
                        complains = t.complains();
                        break;
                    }
                }
            }
            if (policy == null || lists == null) {
                continue; // not a ring of ours
            }
            String beyond = null;
            if (complains && !BOUNDARY_OPS.contains(r.op())) {
                // A complain-mode ring refuses only the boundary opcodes: anything else reported
                // for it was a submission the kernel ran (watch-refusals traces those).
                beyond = beyond(lists, r);
                if (beyond == null) {
                    continue; // within the lists: nothing to report
                }
            }
            try {
                exe = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc", Integer.toString(pid), "exe")).toString();
            } catch (java.io.IOException | RuntimeException e) {
                // exited: the lease's record of it, if any
            }
            int liveUid = ProcessTree.firstOf(pid, "Uid:");
            Peer program = new Peer(Math.max(connection, 0), pid, liveUid >= 0 ? liveUid : uid,
                    ProcessTree.firstOf(pid, "Gid:"), new int[0], -1, exe == null ? "?" : exe);
            String flags = sqeFlagNames(r.sqeFlags());
            if (beyond != null) {
                audit(new AuditEvent(AuditEvent.Kind.SQE_COMPLAINED, clock.instant(), program, policy, null, null,
                        "complain mode: the kernel ran " + r.op() + " (SQE flags " + flags + ") from tid " + r.tid()
                                + "; enforced, the policy would refuse it: " + beyond));
                recorded++;
                continue;
            }
            String why = lists.sqeOps().stream().anyMatch(op -> op.kernelName().equals(r.op()))
                    ? "the policy allows " + r.op() + " but not these SQE flags (allowed " + lists.sqeFlagsAllowedNames()
                            + ", required " + lists.sqeFlagsRequiredNames() + ")"
                    : "the policy does not allow " + r.op();
            audit(new AuditEvent(AuditEvent.Kind.SQE_REFUSED, clock.instant(), program, policy, null, ErrorCode.NOT_PERMITTED,
                    "the kernel refused " + r.op() + " (SQE flags " + flags + ") from tid " + r.tid() + " with EACCES: "
                            + why));
            recorded++;
        }
        return recorded;
    }

    private void awaitFollowed() {
        try {
            following.awaitFollowed();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // shutting down: the grant goes out untraced
        }
    }

    /** The opcodes a complain-mode ring still refuses unless listed (PolicyCompiler's ceiling). */
    private static final Set<String> BOUNDARY_OPS = Set.of("MSG_RING", "FIXED_FD_INSTALL", "FILES_UPDATE");

    /**
     * What of {@code r} the lists leave out, or null if they allow it. {@code ASYNC} is not
     * judged: the kernel sets it on requests it always punts to a worker, and the trace cannot
     * tell that from a program's own.
     */
    static @Nullable String beyond(Allowed lists, org.ringwarden.protocol.Request.RefusedSqe r) {
        if (lists.sqeOps().stream().noneMatch(op -> op.kernelName().equals(r.op()))) {
            return "the policy does not list " + r.op();
        }
        int required = (int) org.ringwarden.linux.uring.KernelConstant.mask(lists.sqeFlagsRequired());
        int allowed = required | (int) org.ringwarden.linux.uring.KernelConstant.mask(lists.sqeFlagsAllowed())
                | (int) org.ringwarden.linux.uring.SqeFlag.ASYNC.abi();
        if ((r.sqeFlags() & required) != required) {
            return "it lacks the required SQE flags " + sqeFlagNames(required & ~r.sqeFlags());
        }
        if ((r.sqeFlags() & ~allowed) != 0) {
            return "the policy does not allow SQE flags " + sqeFlagNames(r.sqeFlags() & ~allowed);
        }
        return null;
    }

    /**
     * The tasks of the processes using rings of complain-mode policies: the holders of their
     * ticketed leases, and each transparent attachment's program with its descendants
     * ({@code complain-targets}). Reads /proc.
     */
    public List<Integer> complainTargets() {
        following.looked();
        Set<Integer> pids = new java.util.TreeSet<>();
        registry.holders().stream().filter(LeaseRegistry.Holder::complains).forEach(h -> pids.add(h.info().pid()));
        List<Attachment> attached;
        synchronized (attachments) {
            attached = List.copyOf(attachments.values());
        }
        for (Attachment a : attached) {
            CompiledPolicy t = a.transparent();
            if (t != null && t.complains() && ProcessTree.isAlive(a.pidfd())) {
                pids.addAll(ProcessTree.withDescendants(a.peer().pid(),
                        org.ringwarden.protocol.Response.ComplainTargets.MAX_TIDS));
            }
        }
        return List.copyOf(ProcessTree.tasksOf(pids, org.ringwarden.protocol.Response.ComplainTargets.MAX_TIDS));
    }

    private static String sqeFlagNames(int flags) {
        java.util.StringJoiner j = new java.util.StringJoiner("|");
        for (org.ringwarden.linux.uring.SqeFlag f : org.ringwarden.linux.uring.SqeFlag.values()) {
            if ((flags & f.abi()) != 0) {
                j.add(f.kernelName());
            }
        }
        return j.length() == 0 ? "none" : j.toString();
    }

    // ------------------------------------------------------------------ containers

    /** Ids for container attachments: negative, so they never meet a server connection's. */
    private final java.util.concurrent.atomic.AtomicLong containerAttachments = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Attaches a container's seccomp listener, which its OCI runtime sent to the agent socket
     * (docs/containers.md): from now on every {@code io_uring_setup} in the container is answered
     * by the daemon itself with a ring made under {@code policy}, as {@code ringwarden run}'s are,
     * the daemon doing the memory work its supervisor does (with the caller's ids as file-system
     * ids, {@link org.ringwarden.linux.ProcessMemoryFile}). Takes ownership of {@code listenerFd},
     * also when it refuses. The caller has checked that the container may use the policy.
     *
     * @param pid the container's process as the runtime named it (in the daemon's pid namespace)
     * @throws RefusedException {@code BAD_REQUEST} if the fd is not a seccomp listener;
     *                          {@code NOT_PERMITTED} if the policy is not for transparent use or the
     *                          process is gone; {@code QUOTA_EXCEEDED} past the attachment limit;
     *                          {@code BUSY} when closed
     */
    public void attachContainer(ContainerRef container, int pid, int listenerFd, CompiledPolicy policy)
            throws RefusedException {
        attachContainer(container, pid, listenerFd, policy, () -> { });
    }

    /** Hooks run once when a container's attachment hangs up, by its peer's connection id. */
    private final Map<Long, Runnable> containerDetached = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * {@link #attachContainer(ContainerRef, int, int, CompiledPolicy)}, with {@code detached}
     * run once no process is left under the container's filter (not when the daemon stops:
     * the listener may then live on in systemd's file descriptor store).
     */
    public void attachContainer(ContainerRef container, int pid, int listenerFd, CompiledPolicy policy, Runnable detached)
            throws RefusedException {
        requireNonNull(detached, "detached");
        requireNonNull(container, "container");
        requireNonNull(policy, "policy");
        int pidfd = -1;
        try {
            if (closed) {
                throw new RefusedException(ErrorCode.BUSY, "the daemon is shutting down");
            }
            if (!policy.transparent().enabled()) {
                throw new RefusedException(ErrorCode.NOT_PERMITTED, "policy " + policy.name() + " is not for transparent use");
            }
            if (!SeccompListener.isListener(listenerFd)) {
                throw new RefusedException(ErrorCode.BAD_REQUEST, "the descriptor the runtime sent is not a seccomp"
                        + " user-notification listener");
            }
            try {
                pidfd = (int) Syscall.checked("pidfd_open(" + pid + ")", Syscall.SYS_PIDFD_OPEN, pid, 0);
            } catch (KernelException e) {
                throw new RefusedException(ErrorCode.NOT_PERMITTED, "the container's process " + pid + " is gone: "
                        + e.getMessage(), e);
            }
            // Who the container's process is now (runc's init, often still root): for the audit
            // trail only; each trapped call is served under its caller's own uid.
            int uid = 0;
            int gid = 0;
            String exe = "?";
            try {
                uid = org.ringwarden.linux.ProcessInfo.uids(pid)[0];
                gid = org.ringwarden.linux.ProcessInfo.gids(pid)[0];
                exe = org.ringwarden.linux.ProcessInfo.exe(pid).toString();
            } catch (RuntimeException e) {
                // Unreadable exe (no ptrace access) or a process gone: the pidfd decides the latter.
            }
            Peer peer = new Peer(-containerAttachments.incrementAndGet(), pid, uid, gid, new int[0], -1, exe);
            Attachment a = new Attachment(peer, SeccompListener.adopt(listenerFd), pidfd, policy, container);
            listenerFd = -1;
            pidfd = -1;
            synchronized (attachments) {
                // Containers count against the total only: their runtimes all connect as root.
                if (attachments.size() >= limits.maxAttachmentsTotal()) {
                    a.close();
                    throw new RefusedException(ErrorCode.QUOTA_EXCEEDED,
                            "would exceed the daemon's " + limits.maxAttachmentsTotal() + " attachments in all");
                }
                attachments.put(peer.connectionId(), a);
                containerDetached.put(peer.connectionId(), detached);
            }
            poll(a);
        } catch (RefusedException e) {
            Descriptors.closeQuietly(listenerFd);
            Descriptors.closeQuietly(pidfd);
            counters.refused.increment();
            throw e;
        }
    }

    /**
     * A container's call was trapped (on the poller thread, which must not block): serve it on
     * the builder lane of the caller's uid. Never leaves the caller trapped.
     */
    private void containerCall(Attachment a, org.ringwarden.linux.seccomp.SeccompNotification n) {
        if (!n.isX86_64(Syscall.SYS_IO_URING_SETUP) || (n.arg(2) & 0xFFFF_FFFFL) == org.ringwarden.protocol.Tickets.MAGIC) {
            // The profile traps io_uring_setup alone; a ticketed call needs a client's own attachment.
            counters.deliveryRefused.increment();
            audit(new AuditEvent(AuditEvent.Kind.DELIVERY_REFUSED, clock.instant(), a.peer(), null, null,
                    ErrorCode.NOT_PERMITTED, requireNonNull(a.container()).describe() + ": tid " + n.pid()
                            + ": trapped call " + n.nr() + " is not an un-ticketed x86_64 io_uring_setup: EPERM"));
            a.listener().fail(n.id(), org.ringwarden.linux.Errno.EPERM);
            return;
        }
        if (n.pid() <= 0) {
            // The kernel reports 0 for a caller outside the daemon's pid namespace (a daemon
            // in a container without the host's pids): nothing of it can be reached.
            refuseContainerCall(a, n, "the caller is not in the daemon's pid namespace (run the daemon with the"
                    + " host's pids)", org.ringwarden.linux.Errno.EPERM);
            return;
        }
        int uid;
        int gid;
        try {
            int[] u = org.ringwarden.linux.ProcessInfo.uids(n.pid());
            int[] g = org.ringwarden.linux.ProcessInfo.gids(n.pid());
            // The kernel's own rule for a tracer of another uid: real, effective and saved ids all
            // equal (ptrace(2), PTRACE_MODE_*CREDS); a caller in the middle of a setuid change is refused.
            if (u[0] != u[1] || u[0] != u[2] || g[0] != g[1] || g[0] != g[2]) {
                refuseContainerCall(a, n, "its real, effective and saved ids differ (uids " + u[0] + "/" + u[1] + "/"
                        + u[2] + ", gids " + g[0] + "/" + g[1] + "/" + g[2] + ")", org.ringwarden.linux.Errno.EPERM);
                return;
            }
            uid = u[0];
            gid = g[0];
        } catch (RuntimeException e) {
            a.listener().fail(n.id(), org.ringwarden.linux.Errno.ENOENT); // gone: nobody reads the answer
            return;
        }
        try {
            ringBuilders.execute(uid, () -> {
                try {
                    serveContainerCall(a, n, uid, gid);
                } catch (RuntimeException | Error e) {
                    a.listener().fail(n.id(), org.ringwarden.linux.Errno.EPERM); // never leave a thread trapped
                    LOG.error("serving a trapped io_uring_setup of {} failed", a, e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            a.listener().fail(n.id(), org.ringwarden.linux.Errno.ENOSYS); // shutting down: as if no agent
        }
    }

    private void refuseContainerCall(Attachment a, org.ringwarden.linux.seccomp.SeccompNotification n, String why,
                                     org.ringwarden.linux.Errno errno) {
        counters.deliveryRefused.increment();
        CompiledPolicy policy = requireNonNull(a.transparent(), "a container's attachment has its policy");
        audit(new AuditEvent(AuditEvent.Kind.DELIVERY_REFUSED, clock.instant(), a.peer(), policy.name(), null,
                ErrorCode.NOT_PERMITTED, requireNonNull(a.container()).describe() + ": tid " + n.pid() + ": " + why
                        + ": " + errno.name()));
        a.listener().fail(n.id(), errno);
    }

    /**
     * The memory work of {@code TransparentSupervisor} and the daemon's half of
     * {@link #transparentSetup}, for one trapped call of a container: open the caller's memory
     * under its own ids, check the call is still pending, read its {@code io_uring_params}, make
     * and install the ring ({@link TransparentRingMaker}: same plan, restrictions, audit), write
     * the params back, answer. On a builder thread of the caller's uid.
     */
    private void serveContainerCall(Attachment a, org.ringwarden.linux.seccomp.SeccompNotification n, int uid, int gid) {
        ContainerRef c = requireNonNull(a.container(), "a container's attachment");
        CompiledPolicy policy = requireNonNull(a.transparent(), "a container's attachment has its policy");
        long address = n.arg(1);
        long entries = n.arg(0) & 0xFFFF_FFFFL;
        org.ringwarden.linux.ProcessMemoryFile memory;
        try {
            memory = org.ringwarden.linux.ProcessMemoryFile.open(n.pid(), uid, gid);
        } catch (KernelException e) {
            if (!a.listener().isValid(n.id())) {
                return; // the caller is gone
            }
            // Not dumpable (PR_SET_DUMPABLE 0), or the daemon lacks CAP_SETUID/CAP_SETGID.
            refuseContainerCall(a, n, "its memory cannot be opened: " + e.getMessage(),
                    e.errno() == org.ringwarden.linux.Errno.ENOENT.number() ? org.ringwarden.linux.Errno.ENOENT
                            : org.ringwarden.linux.Errno.EPERM);
            return;
        }
        try (memory; java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            // The tid could have been reused between RECV and the open: the open file is the
            // caller's only if the call is still pending (seccomp_unotify(2)).
            if (!a.listener().isValid(n.id())) {
                return;
            }
            java.lang.foreign.MemorySegment params = arena.allocate(org.ringwarden.linux.uring.IoUringLayout.PARAMS);
            long size = params.byteSize();
            try {
                if (memory.read(address, params) != size) {
                    a.listener().fail(n.id(), org.ringwarden.linux.Errno.EFAULT);
                    return;
                }
            } catch (KernelException e) {
                a.listener().fail(n.id(), org.ringwarden.linux.Errno.EFAULT); // as the kernel would say
                return;
            }
            long flags = Integer.toUnsignedLong(params.get(java.lang.foreign.ValueLayout.JAVA_INT,
                    org.ringwarden.linux.uring.IoUringLayout.PARAMS_FLAGS));
            long cq = Integer.toUnsignedLong(params.get(java.lang.foreign.ValueLayout.JAVA_INT,
                    org.ringwarden.linux.uring.IoUringLayout.PARAMS_CQ_ENTRIES));
            String exe = null;
            try {
                exe = org.ringwarden.linux.ProcessMemoryFile.exe(n.pid(), uid, gid);
            } catch (KernelException e) {
                // For the audit only.
            }
            org.ringwarden.protocol.Request.TransparentSetup setup = new org.ringwarden.protocol.Request.TransparentSetup(
                    n.id(), n.pid(), entries, flags, cq, exe);
            Peer caller = new Peer(a.peer().connectionId(), n.pid(), uid, gid, new int[0], -1, exe == null ? "?" : exe);
            // The same maker as transparentSetup's, whose audit lines are prefixed with the container.
            TransparentRingMaker maker = new TransparentRingMaker(e -> audit(new AuditEvent(e.kind(), e.at(), e.peer(),
                    e.policy(), e.lease(), e.code(), c.describe() + "; " + e.detail())), clock, charge, watch, following);
            Lease lease;
            try {
                lease = reserve(caller, policy, 0, true);
            } catch (RefusedException e) {
                counters.refused.increment();
                org.ringwarden.protocol.Response.TransparentRing r = maker.refuse(caller, policy, setup,
                        org.ringwarden.linux.Errno.ENOMEM.number(), e.code(), e.getMessage());
                a.listener().fail(n.id(), r.errno());
                return;
            }
            try {
                synchronized (a) { // Attachment.close() takes this lock: the listener stays open meanwhile
                    if (a.isClosed()) {
                        return; // the listener is gone: the caller gets ENOSYS from the kernel
                    }
                    org.ringwarden.protocol.Response.TransparentRing ring = maker.make(caller, a.listener(), policy, setup,
                            lease.key);
                    if (ring.errno() != 0) {
                        if (ring.errno() != org.ringwarden.linux.Errno.ENOENT.number()) {
                            a.listener().fail(n.id(), ring.errno());
                        }
                        counters.deliveryRefused.increment();
                        return;
                    }
                    // What the kernel filled in for the daemon, over the caller's own struct
                    // (sq_thread_cpu, sq_thread_idle, wq_fd and the reserved words stay as written).
                    requireNonNull(ring.ring(), "errno 0 comes with a ring").params().writeTo(params);
                    try {
                        if (memory.write(address, params) != size) {
                            a.listener().fail(n.id(), org.ringwarden.linux.Errno.EFAULT);
                            return;
                        }
                    } catch (KernelException e) {
                        a.listener().fail(n.id(), org.ringwarden.linux.Errno.EFAULT);
                        return;
                    }
                    if (a.listener().respond(n.id(), ring.fd())) {
                        counters.delivered.increment();
                        counters.transparent.increment(); // status counts it as a grant, as the audit log's deliver
                    }
                }
            } finally {
                // Held from now on: ended by the sweep as soon as no process has the ring.
                registry.letGo(lease);
                sweep();
            }
        }
    }

    // ------------------------------------------------------------------ release

    /**
     * Ends a lease of {@code peer}'s connection: the daemon closes its copies of the ring,
     * buffers and memfds, and the quota is returned. The client keeps what it already holds.
     *
     * @throws RefusedException {@code NOT_PERMITTED} for a lease this connection does not hold
     */
    public void release(Peer peer, String leaseId) throws RefusedException {
        requireNonNull(peer, "peer");
        requireNonNull(leaseId, "leaseId");
        Lease lease = registry.letGo(peer.connectionId(), leaseId);
        if (lease == null) {
            throw new RefusedException(ErrorCode.NOT_PERMITTED, "this connection holds no lease " + leaseId);
        }
        closeLease(lease);
        counters.released.increment();
        sweep();
    }

    /**
     * An administrator revokes lease {@code leaseId}, or every lease of {@code uid}: as a
     * {@link #release} by its connection, the daemon closes its copies of the ring, buffers and
     * memfds and the ticket can no longer be collected. A ring already in a process stays there
     * and keeps working (the kernel cannot take it back); the lease stays counted, as held, until
     * that process has closed it. Returns the leases revoked, as they were; none when nothing
     * live matched. Exactly one of the two is given.
     */
    public List<LeaseInfo> revoke(@Nullable String leaseId, @Nullable Integer uid) {
        if ((leaseId == null) == (uid == null)) {
            throw new IllegalArgumentException("revoke one lease or one uid's leases");
        }
        List<Lease> letGo = new ArrayList<>();
        List<LeaseInfo> revoked = registry.revoke(leaseId, uid, letGo);
        for (Lease lease : letGo) {
            closeLease(lease);
            counters.released.increment();
        }
        if (!letGo.isEmpty()) {
            sweep();
        }
        return revoked;
    }

    /**
     * The connection closed: ends every lease it held and its attachment (the listener is
     * closed, so calls still trapped fail with {@code ENOSYS}). Waits (briefly) until the
     * poller has let go of the listener. Idempotent.
     */
    public void connectionClosed(Peer peer) {
        requireNonNull(peer, "peer");
        // The attachment first: an acquire that reserves a lease after this sees it gone.
        Attachment a;
        synchronized (attachments) {
            a = attachments.get(peer.connectionId());
        }
        boolean detached = a != null && forget(a);
        List<Lease> released = registry.letGoConnection(peer.connectionId());
        for (Lease lease : released) {
            closeLease(lease);
            counters.released.increment();
            audit(new AuditEvent(AuditEvent.Kind.RELEASE, clock.instant(), peer, lease.policy, lease.id, null,
                    "connection closed"));
        }
        if (!released.isEmpty()) {
            sweep();
        }
        if (a != null && detached) {
            CompletableFuture<Void> done = poller.remove(a);
            if (!poller.isPollerThread()) {
                try {
                    done.get(DETACH_WAIT_MS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (ExecutionException | TimeoutException e) {
                    // The poller closes it when it gets to it (or died, and closed everything).
                }
            }
            audit(new AuditEvent(AuditEvent.Kind.DETACH, clock.instant(), peer, null, null, null, "connection closed"));
        }
    }

    /**
     * Closes the daemon's copies of a lease's ring and buffers, with the ring on the watch: the
     * lease itself ends when the sweep sees the ring gone from every process. A ring the kernel
     * would not watch cannot be followed; its lease ends now rather than never.
     */
    private void closeLease(Lease lease) {
        if (!lease.closeResources(watch)) {
            registry.end(lease);
        }
    }

    /** A delivery failed after its ticket was claimed: the ring may be in a dying process. */
    private void letGo(Lease lease) {
        if (registry.letGo(lease)) {
            closeLease(lease);
            sweep();
        }
    }

    private void audit(AuditEvent e) {
        ErrorCode code = e.code();
        if (e.kind() == AuditEvent.Kind.DELIVERY_REFUSED && code != null) {
            requireNonNull(counters.deliveryRefusedByCode.get(code), "every code has a counter").increment();
        }
        try {
            audit.accept(e);
        } catch (RuntimeException ex) {
            // An audit sink that throws must not turn a grant into a leak.
        }
    }

    // ------------------------------------------------------------------ admin

    /** Every live lease. */
    public List<LeaseInfo> leases() {
        return registry.infos();
    }

    /** Counters and the daemon's pinned memory. */
    public GrantStats stats() {
        int att;
        synchronized (attachments) {
            att = attachments.size();
        }
        return new GrantStats(registry.size(), registry.pendingTickets(), registry.bufferBytes(), att, vmPinBytes(),
                counters.granted.sum(), counters.refused.sum(), counters.delivered.sum(),
                counters.deliveryRefused.sum(), counters.expired.sum(), counters.released.sum(),
                counters.transparent.sum(), counters.deliveryRefusals());
    }

    /** {@code VmPin} of {@code /proc/self/status} in bytes, or -1. */
    static long vmPinBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmPin:")) {
                    String v = line.substring(6).trim();
                    return Long.parseLong(v.substring(0, v.indexOf(' '))) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** Ends every lease and attachment, stops the poller, timer and ring builders. Idempotent. */
    @Override
    public void close() {
        closed = true;
        ringBuilders.close(DETACH_WAIT_MS);
        poller.close(); // closes every listener it watched
        synchronized (attachments) {
            for (Attachment a : new ArrayList<>(attachments.values())) {
                a.close();
            }
            attachments.clear();
            attachmentsPerUid.clear();
        }
        expiryTimer.shutdownNow();
        for (Lease lease : registry.letGoAll()) {
            closeLease(lease);
            counters.released.increment();
            audit(new AuditEvent(AuditEvent.Kind.RELEASE, clock.instant(), lease.peer, lease.policy, lease.id, null,
                    "daemon shutting down"));
        }
        watch.close();
    }
}
