package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.util.function.Consumer;

import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.seccomp.SeccompNotification;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Tickets;

import org.jspecify.annotations.Nullable;

/**
 * Answers each trapped call on an attached listener (runs on the {@link ListenerPoller} thread).
 *
 * <p>A ticketed {@code io_uring_setup(entries, params, MAGIC, ticket)} from the attaching
 * peer's process tree gets its ring: {@code NOTIF_ID_VALID}, then {@code NOTIF_ADDFD}
 * ({@code O_CLOEXEC}), then {@code NOTIF_SEND} with the new fd as the call's return value.
 * Never {@code SECCOMP_ADDFD_FLAG_SEND} (security.md: it loses about 1 answer in 2,000 when the
 * daemon is interrupted). Everything else is answered {@code EPERM} at once: a trapped thread
 * sleeps until the daemon answers.
 *
 * <p>The checks, in order, and why that order: the call and magic (cheap); the ancestry
 * (before the ticket is touched, so that a process outside the tree cannot burn someone's
 * ticket); {@code NOTIF_ID_VALID} after reading {@code /proc} (proves the TID we read about
 * was still the trapped caller); then the ticket is claimed, which makes it unusable forever.
 */
final class RingDelivery implements ListenerPoller.Handler {

    private final LeaseRegistry registry;
    private final Consumer<AuditEvent> audit;
    private final GrantCounters counters;
    private final Clock clock;
    private final Consumer<Lease> endUndelivered;
    private final Consumer<Attachment> detached;
    /** Serves a container's trapped call (docs/containers.md); quick: it hands the work on. */
    private final java.util.function.BiConsumer<Attachment, SeccompNotification> containerCalls;

    /**
     * @param endUndelivered lets go of a lease whose claimed ring could not be delivered
     *                       (closes the daemon's copies; the lease lasts while any process has the ring)
     * @param detached       told when an attachment hung up (no process left under its filter)
     */
    RingDelivery(LeaseRegistry registry, Consumer<AuditEvent> audit, GrantCounters counters, Clock clock,
                 Consumer<Lease> endUndelivered, Consumer<Attachment> detached) {
        this(registry, audit, counters, clock, endUndelivered, detached, (a, n) -> {
            throw new IllegalStateException("this service serves no container");
        });
    }

    /** @param containerCalls serves the trapped calls of a container's attachment (quick: it hands them on) */
    RingDelivery(LeaseRegistry registry, Consumer<AuditEvent> audit, GrantCounters counters, Clock clock,
                 Consumer<Lease> endUndelivered, Consumer<Attachment> detached,
                 java.util.function.BiConsumer<Attachment, SeccompNotification> containerCalls) {
        this.containerCalls = requireNonNull(containerCalls, "containerCalls");
        this.registry = requireNonNull(registry, "registry");
        this.audit = requireNonNull(audit, "audit");
        this.counters = requireNonNull(counters, "counters");
        this.clock = requireNonNull(clock, "clock");
        this.endUndelivered = requireNonNull(endUndelivered, "endUndelivered");
        this.detached = requireNonNull(detached, "detached");
    }

    @Override
    public void notified(Attachment a) {
        SeccompNotification n = a.listener().receive();
        if (n == null) {
            return; // the caller died or was interrupted between poll and receive
        }
        try {
            answer(a, n);
        } catch (RuntimeException e) {
            // Never leave a thread trapped: whatever failed, the call fails (if it is still unanswered).
            try {
                refuse(a, n, null, "answering failed: " + e.getMessage());
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    private void answer(Attachment a, SeccompNotification n) {
        if (a.container() != null) {
            containerCalls.accept(a, n);
            return;
        }
        if (!n.isX86_64(Syscall.SYS_IO_URING_SETUP)) {
            refuse(a, n, null, "trapped call " + n.nr() + " (arch 0x" + Integer.toHexString(n.arch())
                    + ") is not an x86_64 io_uring_setup");
            return;
        }
        if ((n.arg(2) & 0xFFFF_FFFFL) != Tickets.MAGIC) {
            if (a.transparent() != null) {
                // Not reached: the poller does not ask a transparent listener for POLLIN; the
                // program's supervisor receives its calls (docs/transparent.md). A safety net.
                refuse(a, n, a.transparent().name(),
                        "un-ticketed io_uring_setup reached the daemon: transparent calls are the supervisor's");
            } else {
                refuse(a, n, null, "io_uring_setup without a ticket: rings come only from the daemon");
            }
            return;
        }
        long ticket = n.arg(3);
        if (!ProcessTree.contains(a.peer().pid(), a.pidfd(), n.pid())) {
            refuse(a, n, null, "caller tid " + n.pid() + " is not in the process tree of peer pid " + a.peer().pid()
                    + " (or the peer is gone)");
            return;
        }
        if (!a.listener().isValid(n.id())) {
            return; // the caller is gone: nobody to answer, and the ticket stays collectable
        }
        Lease lease = registry.claim(a.peer().connectionId(), ticket);
        if (lease == null) {
            refuse(a, n, null, "unknown, used, expired or foreign ticket");
            return;
        }
        int remote;
        try {
            remote = requireNonNull(lease.ring, "a claimed (PENDING) lease has its ring").installInto(a.listener(), n.id());
        } catch (KernelException e) {
            // EMFILE in the caller, or the caller died (ENOENT). The ticket is spent either way.
            failedDelivery(a, n, lease, "installing the ring failed: " + e.getMessage());
            if (!e.is(Errno.ENOENT)) {
                a.listener().fail(n.id(), e.errno());
            }
            return;
        } catch (IllegalStateException e) {
            failedDelivery(a, n, lease, "the lease ended while its ring was being delivered");
            a.listener().fail(n.id(), Errno.EPERM);
            return;
        }
        if (!a.listener().respond(n.id(), remote)) {
            // ADDFD put the ring into a caller that died before the answer: nobody holds it usefully.
            failedDelivery(a, n, lease, "the caller died before the answer");
            return;
        }
        counters.delivered.increment();
        audit.accept(new AuditEvent(AuditEvent.Kind.DELIVER, clock.instant(), a.peer(), lease.policy, lease.id, null,
                "ring delivered to tid " + n.pid() + " as fd " + remote));
    }

    private void failedDelivery(Attachment a, SeccompNotification n, Lease lease, String why) {
        // The ring may be in the caller already (it died before the answer): let go of it like a
        // release, so that the lease lasts until no process has it.
        endUndelivered.accept(lease);
        counters.deliveryRefused.increment();
        audit.accept(new AuditEvent(AuditEvent.Kind.DELIVERY_REFUSED, clock.instant(), a.peer(), lease.policy,
                lease.id, ErrorCode.INTERNAL, "tid " + n.pid() + ": " + why + "; lease let go"));
    }

    private void refuse(Attachment a, SeccompNotification n, @Nullable String policy, String why) {
        // Counted and audited before the answer: whoever sees the EPERM can find its reason logged.
        counters.deliveryRefused.increment();
        audit.accept(new AuditEvent(AuditEvent.Kind.DELIVERY_REFUSED, clock.instant(), a.peer(), policy, null,
                ErrorCode.NOT_PERMITTED, "tid " + n.pid() + ": " + why + ": EPERM"));
        a.listener().fail(n.id(), Errno.EPERM);
    }

    @Override
    public void hungUp(Attachment a) {
        detached.accept(a);
    }
}
