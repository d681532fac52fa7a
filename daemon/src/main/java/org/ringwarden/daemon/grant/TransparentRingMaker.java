package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.util.function.Consumer;

import org.ringwarden.daemon.transparent.TransparentPlan;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.OpenFileWatch;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringParams;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

/**
 * The daemon's half of a transparent {@code io_uring_setup} (docs/transparent.md): decide the
 * flags under the policy, create the ring disabled, register the policy's restrictions, enable
 * it unless the program asked for {@code R_DISABLED}, install it into the trapped caller with
 * {@code SECCOMP_IOCTL_NOTIF_ADDFD}, and forget it. The daemon keeps no copy: the program's
 * descriptor is the ring's only holder, so the ring ends with the program. The ring is made
 * charged to the program's user ({@link MemlockCharge}) and put on the daemon's
 * {@link OpenFileWatch} before it is handed over, so that its lease counts against the
 * policy's per-user limits exactly as long as the program keeps it.
 *
 * <p>It does <em>not</em> answer the trapped call. The program's supervisor, which read the
 * caller's {@code io_uring_params} and asked for this, must first write the params back (only
 * it may write the caller's memory) and then answer {@code NOTIF_SEND} with the fd; a call
 * answered before its params are written would let liburing map the ring with garbage offsets.
 *
 * <p>Every decision is audited as the program that trapped ({@link TrappedProgram}: its pid,
 * uid and executable), with the supervisor's pid, the policy, the flags asked and given.
 */
final class TransparentRingMaker {
    private final Consumer<AuditEvent> audit;
    private final Clock clock;
    private final MemlockCharge charge;
    private final OpenFileWatch watch;
    private final ComplainFollowing following;

    TransparentRingMaker(Consumer<AuditEvent> audit, Clock clock, MemlockCharge charge, OpenFileWatch watch,
                         ComplainFollowing following) {
        this.following = requireNonNull(following, "following");
        this.audit = requireNonNull(audit, "audit");
        this.clock = requireNonNull(clock, "clock");
        this.charge = requireNonNull(charge, "charge");
        this.watch = requireNonNull(watch, "watch");
    }

    /**
     * Serves {@code setup} through {@code listener} (the attachment's copy) under {@code policy}.
     * The caller holds the attachment's lock, so the listener stays open throughout, and runs
     * this on a ring-builder thread (it creates a ring).
     *
     * @param key the ring's lease key on the watch
     * @return the ring's fd in the caller and its params, or the errno the call is to fail with
     */
    public Response.TransparentRing make(Peer peer, SeccompListener listener, CompiledPolicy policy,
                                         Request.TransparentSetup setup, long key) {
        return make(peer, peer, listener, policy, setup, key);
    }

    /**
     * As {@link #make(Peer, SeccompListener, CompiledPolicy, Request.TransparentSetup, long)},
     * audited as {@code subject} (the program that trapped) rather than the connection's
     * {@code peer}.
     */
    public Response.TransparentRing make(Peer peer, Peer subject, SeccompListener listener, CompiledPolicy policy,
                                         Request.TransparentSetup setup, long key) {
        requireNonNull(peer, "peer");
        requireNonNull(subject, "subject");
        requireNonNull(listener, "listener");
        requireNonNull(policy, "policy");
        requireNonNull(setup, "setup");
        String who = who(subject, peer, setup);
        TransparentPlan plan = TransparentPlan.decide(policy.transparent(), policy.name(), setup.entries(),
                setup.flags(), setup.cqEntries());
        if (!plan.granted()) {
            return refuse(subject, policy, who, plan.errno(), plan.reason());
        }
        // The notification must still be pending on this listener: the supervisor cannot make
        // the daemon install a ring anywhere else than into a caller under this filter.
        if (!listener.isValid(setup.notif())) {
            return refuse(subject, policy, who, Errno.ENOENT.number(), "notification " + setup.notif()
                    + " is not pending on this attachment's listener (the caller is gone, or it never was)");
        }
        IoUringCalls.CreatedRing ring;
        try {
            ring = charge.retryWhileFreed(() -> charge.charged(peer.uid(),
                    () -> IoUringCalls.create(plan.sqEntries(), plan.cqEntries(), plan.creationFlags())));
        } catch (KernelException e) {
            // The program would have seen the same from its own call (EINVAL for a bad size...).
            return refuse(subject, policy, who, e.errno(), "io_uring_setup in the daemon failed: " + e.getMessage());
        }
        try {
            IoUringCalls.registerRestrictions(ring.fd(), policy.restrictions());
            if (!plan.programEnables()) {
                IoUringCalls.enableRings(ring.fd());
            }
            if (policy.complains()) {
                awaitFollowed();
            }
            // On the watch before it leaves: from here on the lease lasts exactly as long as the ring.
            watch.watch(ring.fd(), key);
            int remote = listener.addFd(setup.notif(), ring.fd(), true); // io_uring fds are always O_CLOEXEC
            IoUringParams p = ring.params();
            // The program is told the flags it has, not the daemon's R_DISABLED (unless it asked for it).
            IoUringParams given = new IoUringParams(p.sqEntries(), p.cqEntries(), (int) plan.givenFlags(),
                    p.features(), p.sqOff(), p.cqOff());
            audit.accept(new AuditEvent(AuditEvent.Kind.DELIVER, clock.instant(), subject, policy.name(), null, null,
                    who + "; given entries " + p.sqEntries() + "/" + p.cqEntries() + " flags "
                            + TransparentPlan.names(plan.givenFlags())
                            + (plan.programEnables() ? " (disabled: the program enables)" : "")
                            + (plan.reason().isEmpty() ? "" : "; " + plan.reason()) + "; fd " + remote
                            + "; restrictions: ops " + policy.allowed().sqeOpNames() + ", register "
                            + policy.allowed().registerOpNames() + " (other SQEs complete with EACCES)"));
            return new Response.TransparentRing(0, remote, Response.Ring.of(given, !plan.programEnables()),
                    "ring installed as fd " + remote);
        } catch (KernelException e) {
            return refuse(subject, policy, who, e.errno(), "preparing or installing the ring failed: " + e.getMessage());
        } finally {
            // The caller holds it now (or nobody does, and it is destroyed here).
            Descriptors.closeQuietly(ring.fd());
        }
    }

    private void awaitFollowed() {
        try {
            following.awaitFollowed(); // the program is trapped meanwhile: it submits nothing untraced
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // shutting down: hand the ring over untraced
        }
    }

    private Response.TransparentRing refuse(Peer peer, CompiledPolicy policy, String who, int errno, String why) {
        return refuse(peer, policy, who, errno, errno == Errno.EPERM.number() ? ErrorCode.NOT_PERMITTED
                : errno == Errno.ENOMEM.number() ? ErrorCode.BUSY : ErrorCode.BAD_REQUEST, why);
    }

    /** Refuses {@code setup} without making a ring: audited as {@code peer}, answered with {@code errno}. */
    public Response.TransparentRing refuse(Peer peer, CompiledPolicy policy, Request.TransparentSetup setup, int errno,
                                           ErrorCode code, String why) {
        return refuse(peer, peer, policy, setup, errno, code, why);
    }

    /**
     * Refuses {@code setup} without making a ring: audited as {@code subject} (the program, or
     * the connection's {@code peer} where the program is not known), answered with {@code errno}.
     */
    public Response.TransparentRing refuse(Peer subject, Peer peer, CompiledPolicy policy,
                                           Request.TransparentSetup setup, int errno, ErrorCode code, String why) {
        return refuse(subject, policy, who(subject, peer, setup), errno, code, why);
    }

    private Response.TransparentRing refuse(Peer peer, CompiledPolicy policy, String who, int errno, ErrorCode code,
                                            String why) {
        audit.accept(new AuditEvent(AuditEvent.Kind.DELIVERY_REFUSED, clock.instant(), peer, policy.name(), null,
                code, who + "; refused " + Errno.nameOf(errno) + ": " + why));
        return new Response.TransparentRing(errno, -1, null, why + ": " + Errno.nameOf(errno));
    }

    /**
     * The detail's opening: the program (as the daemon knows it: {@code subject}; else as the
     * supervisor reported it), the trapped thread, and the supervisor it came through.
     */
    private static String who(Peer subject, Peer peer, Request.TransparentSetup setup) {
        String asked = " asked entries " + setup.entries() + " flags " + TransparentPlan.names(setup.flags());
        if (subject == peer) { // the program is not known apart from the peer
            return "transparent: program " + (setup.program() == null ? "?" : printable(setup.program())) + " tid "
                    + setup.pid() + " uid " + peer.uid() + asked;
        }
        return "transparent: program " + subject.exe() + " pid " + subject.pid() + " tid " + setup.pid() + " uid "
                + subject.uid() + " via pid " + peer.pid() + asked;
    }

    private static String printable(String s) {
        String t = s.length() > 256 ? s.substring(0, 256) + "…" : s;
        return t.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }
}
