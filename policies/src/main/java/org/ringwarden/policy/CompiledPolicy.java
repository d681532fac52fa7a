package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.util.List;

import org.ringwarden.linux.uring.Restriction;

/**
 * A policy ready for the daemon: everything it needs to build, lock down and hand over a ring.
 *
 * <pre>
 * RingSpec r = policy.ring();
 * CreatedRing ring = IoUringCalls.create(r.sqEntries(), r.cqEntries(), r.creationFlags());
 * IoUringCalls.registerRestrictions(ring.fd(), policy.restrictions());
 * // open policy.files() with openat2, register them and the client's fds, register buffers
 * if (r.enabler() == Enabler.DAEMON) IoUringCalls.enableRings(ring.fd());
 * </pre>
 *
 * @param name         unique in its set
 * @param description  one line for people ({@code policies} answer)
 * @param source       where it was loaded from (a path, or {@code bundled:NAME.json})
 * @param acquirers    who may acquire it
 * @param ring         the ring of a ticketed grant
 * @param files        fixed files the daemon opens, at indexes 0..n-1
 * @param maxClientFds how many of its own descriptors a client may add after them (0: none)
 * @param buffers      registered buffers, at indexes 0..n-1
 * @param limits       per-user quotas
 * @param restrictions the exact {@code io_uring_restriction} entries, in a deterministic order:
 *                     {@code REGISTER_OP} (at least one) by number, {@code SQE_OP} by opcode,
 *                     then {@code SQE_FLAGS_ALLOWED} and {@code SQE_FLAGS_REQUIRED}; in
 *                     {@linkplain PolicyMode#COMPLAIN complain mode} the ceiling: every SQE opcode
 *                     but {@code MSG_RING} (and {@code FIXED_FD_INSTALL}, {@code FILES_UPDATE}
 *                     unless listed), every SQE flag, the listed register opcodes
 * @param allowed      the policy's lists as names, for the grant (in complain mode, what is
 *                     reported when a program goes beyond it)
 * @param transparent  how transparent use is served
 * @param mode         whether the lists are enforced or only reported
 */
public record CompiledPolicy(String name, String description, String source, Acquirers acquirers, RingSpec ring,
                             List<FileSpec> files, int maxClientFds, List<BufferSpec> buffers, Limits limits,
                             List<Restriction> restrictions, Allowed allowed, TransparentSpec transparent,
                             PolicyMode mode) {
    public CompiledPolicy {
        requireNonNull(name, "name");
        requireNonNull(description, "description");
        requireNonNull(source, "source");
        requireNonNull(acquirers, "acquirers");
        requireNonNull(ring, "ring");
        files = List.copyOf(files);
        buffers = List.copyOf(buffers);
        requireNonNull(limits, "limits");
        restrictions = List.copyOf(restrictions);
        requireNonNull(allowed, "allowed");
        requireNonNull(transparent, "transparent");
        requireNonNull(mode, "mode");
    }

    /** Whether operations outside the lists are reported rather than refused. */
    public boolean complains() {
        return mode == PolicyMode.COMPLAIN;
    }

    /** Whether {@code subject} may acquire (or see) this policy. */
    public boolean mayAcquire(Subject subject) {
        return acquirers.admits(requireNonNull(subject, "subject"));
    }

    /**
     * Whether container {@code c} may attach its OCI seccomp listener under this policy: it is
     * one of {@code subjects.containers}, and the policy is for transparent use.
     */
    public boolean mayAttachContainer(ContainerSubject c) {
        return transparent.enabled() && acquirers.admitsContainer(requireNonNull(c, "container"));
    }

    /** The total bytes of registered buffers one lease pins. */
    public long bufferBytesPerLease() {
        long sum = 0;
        for (BufferSpec b : buffers) {
            sum += b.bytes();
        }
        return sum;
    }
}
