package org.ringwarden.protocol;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.ringwarden.linux.uring.IoUringParams;

/**
 * A message from the daemon to a peer. On the wire {@code {"v":1,"type":NAME,...}}; the records
 * hold only the fields after {@code v} and {@code type} (see {@link ProtocolCodec}).
 */
public sealed interface Response {
    /** The {@code type} this answer travels under. */
    String type();

    /** How many descriptors follow this frame (one single zero byte each). */
    default int descriptorCount() {
        return 0;
    }

    /** {@code send-fds}: the daemon is now reading exactly {@code count} descriptors. */
    record SendFds(int count) implements Response {
        public SendFds {
            if (count < 1 || count > Request.MAX_DESCRIPTORS) {
                throw new IllegalArgumentException("send-fds count must be 1.." + Request.MAX_DESCRIPTORS + ", not " + count);
            }
        }

        @Override
        public String type() {
            return "send-fds";
        }
    }

    /** {@code attached}: the daemon holds the listener; this process's io_uring_setup now reaches it. */
    record Attached() implements Response {
        @Override
        public String type() {
            return "attached";
        }
    }

    /**
     * {@code grant}: a lease on a prepared ring. The buffer memfds follow as {@code fds}
     * descriptors, in the order of the buffers' {@code fd} indexes.
     *
     * @param lease   the lease's id, for {@code release}
     * @param policy  the policy the ring was made under
     * @param ticket  the single-use ticket to pass to the trapped {@code io_uring_setup}
     *                (the daemon issues 1..2^53-1: exact as a double, so that a client whose JSON
     *                parser keeps numbers as doubles sends back the same value; any long is read)
     * @param fds     the number of descriptors after this frame
     * @param ring    what the client needs to map the ring
     * @param files   the fixed files, by index
     * @param buffers the fixed buffers, by index; {@code fd} indexes the descriptors that follow
     * @param allowed the restrictions registered on the ring, by kernel name
     */
    record Grant(String lease, String policy, long ticket, int fds, Ring ring, List<FileSlot> files,
                 List<BufferSlot> buffers, Allowed allowed) implements Response {
        public Grant {
            requireNonNull(lease, "lease");
            requireNonNull(policy, "policy");
            requireNonNull(ring, "ring");
            files = List.copyOf(requireNonNull(files, "files"));
            buffers = List.copyOf(requireNonNull(buffers, "buffers"));
            requireNonNull(allowed, "allowed");
            if (fds < 0 || fds > Request.MAX_DESCRIPTORS) {
                throw new IllegalArgumentException("grant fds must be 0.." + Request.MAX_DESCRIPTORS + ", not " + fds);
            }
            for (BufferSlot b : buffers) {
                if (b.fd() < 0 || b.fd() >= fds) {
                    throw new IllegalArgumentException("buffer " + b.name() + " names descriptor " + b.fd() + " of " + fds);
                }
            }
        }

        @Override
        public String type() {
            return "grant";
        }

        @Override
        public int descriptorCount() {
            return fds;
        }
    }

    /**
     * The ring part of a grant: {@code struct io_uring_params} as the kernel filled it, plus
     * whether the daemon enabled the ring.
     */
    record Ring(int sqEntries, int cqEntries, int setupFlags, int features, boolean enabled,
                IoUringParams.SqOffsets sqOff, IoUringParams.CqOffsets cqOff) {
        public Ring {
            requireNonNull(sqOff, "sqOff");
            requireNonNull(cqOff, "cqOff");
        }

        /** The ring of {@code params}, enabled or not. */
        public static Ring of(IoUringParams params, boolean enabled) {
            return new Ring(params.sqEntries(), params.cqEntries(), params.setupFlags(), params.features(), enabled,
                    params.sqOff(), params.cqOff());
        }

        /** Back to the kernel's structure, for mapping. */
        public IoUringParams params() {
            return new IoUringParams(sqEntries, cqEntries, setupFlags, features, sqOff, cqOff);
        }
    }

    /** A fixed file of a grant. */
    record FileSlot(int index, String name) {
        public FileSlot {
            requireNonNull(name, "name");
        }
    }

    /** A fixed buffer of a grant: a sealed memfd (descriptor {@code fd} after the frame) registered at {@code address}. */
    record BufferSlot(int index, String name, int fd, long length, long address) {
        public BufferSlot {
            requireNonNull(name, "name");
        }
    }

    /** The restrictions of a grant, by kernel name ({@code READ_FIXED}, {@code FIXED_FILE}, {@code PROBE}). */
    record Allowed(List<String> sqeOps, List<String> sqeFlagsAllowed, List<String> sqeFlagsRequired,
                   List<String> registerOps) {
        public Allowed {
            sqeOps = List.copyOf(requireNonNull(sqeOps, "sqeOps"));
            sqeFlagsAllowed = List.copyOf(requireNonNull(sqeFlagsAllowed, "sqeFlagsAllowed"));
            sqeFlagsRequired = List.copyOf(requireNonNull(sqeFlagsRequired, "sqeFlagsRequired"));
            registerOps = List.copyOf(requireNonNull(registerOps, "registerOps"));
        }
    }

    /** {@code policies}: what this peer may acquire, nothing about the others. */
    record Policies(List<PolicySummary> policies) implements Response {
        public Policies {
            policies = List.copyOf(requireNonNull(policies, "policies"));
        }

        @Override
        public String type() {
            return "policies";
        }
    }

    /** One entry of {@link Policies}. */
    record PolicySummary(String name, String description) {
        public PolicySummary {
            requireNonNull(name, "name");
            requireNonNull(description, "description");
        }
    }

    /** {@code released}: the lease has ended and its quota is returned. */
    record Released(String lease) implements Response {
        public Released {
            requireNonNull(lease, "lease");
        }

        @Override
        public String type() {
            return "released";
        }
    }

    /** {@code error}: programs switch on {@code code}; {@code message} is for people. */
    record Error(ErrorCode code, String message) implements Response {
        public Error {
            requireNonNull(code, "code");
            requireNonNull(message, "message");
        }

        @Override
        public String type() {
            return "error";
        }
    }

    /**
     * {@code status} (administrative).
     *
     * @param version       the daemon's version
     * @param uptimeSeconds seconds since the daemon started serving
     * @param kernel        the running kernel's release ({@code uname -r})
     * @param policies      policies in force
     * @param connections   client connections open now
     * @param leases        leases active now
     * @param grants        grants since start
     * @param refusals      refusals since start, by error code
     * @param pinnedBytes   the daemon's pinned memory ({@code VmPin}), in bytes
     */
    record StatusReport(String version, long uptimeSeconds, String kernel, int policies, int connections,
                        int leases, long grants, Map<String, Long> refusals, long pinnedBytes) implements Response {
        public StatusReport {
            requireNonNull(version, "version");
            requireNonNull(kernel, "kernel");
            refusals = Map.copyOf(requireNonNull(refusals, "refusals"));
        }

        @Override
        public String type() {
            return "status";
        }
    }

    /** {@code leases} (administrative): every active lease. */
    record LeaseList(List<LeaseEntry> leases) implements Response {
        public LeaseList {
            leases = List.copyOf(requireNonNull(leases, "leases"));
        }

        @Override
        public String type() {
            return "leases";
        }
    }

    /**
     * One lease in {@link LeaseList}.
     *
     * @param lease       its id
     * @param policy      the policy it was granted under
     * @param pid         the holder's pid
     * @param uid         the holder's uid
     * @param exe         the holder's executable at connect time
     * @param since       when it was granted (ISO-8601 instant)
     * @param bufferBytes bytes of registered buffers it holds
     * @param collected   whether the client has collected the ring
     */
    record LeaseEntry(String lease, String policy, int pid, int uid, String exe, String since, long bufferBytes,
                      boolean collected) {
        public LeaseEntry {
            requireNonNull(lease, "lease");
            requireNonNull(policy, "policy");
            requireNonNull(exe, "exe");
            requireNonNull(since, "since");
        }
    }

    /** Answer to {@code report-refusals}: how many were audited (the others were on rings the daemon did not make, or their process is gone). */
    record RefusalsRecorded(int recorded) implements Response {
        @Override
        public String type() {
            return "refusals-recorded";
        }
    }

    /**
     * Answer to {@code complain-targets}: the tasks (thread ids) of the processes holding or
     * using a ring of a complain-mode policy, the program's and its descendants' for a
     * transparent one. Thread ids, because a tracer filters by task, and the daemon can list a
     * process's tasks where the tracer's sandbox cannot.
     *
     * @param tids at most {@value #MAX_TIDS}, each positive
     */
    record ComplainTargets(List<Integer> tids) implements Response {
        /** The most tasks one answer carries; beyond them a watcher sees only the first. */
        public static final int MAX_TIDS = 4096;

        public ComplainTargets {
            tids = List.copyOf(requireNonNull(tids, "complain-targets needs tids"));
            if (tids.size() > MAX_TIDS) {
                throw new IllegalArgumentException("complain-targets: at most " + MAX_TIDS + " tids, not " + tids.size());
            }
            for (int tid : tids) {
                if (tid <= 0) {
                    throw new IllegalArgumentException("complain-targets: a tid must be positive, not " + tid);
                }
            }
        }

        @Override
        public String type() {
            return "complain-targets";
        }
    }

    /**
     * {@code reloaded} (administrative): {@code ok} if the new set is in force; otherwise the
     * running set stays and {@code problems} says why.
     */
    record Reloaded(boolean ok, int policies, List<String> problems) implements Response {
        public Reloaded {
            problems = List.copyOf(requireNonNull(problems, "problems"));
        }

        @Override
        public String type() {
            return "reloaded";
        }
    }

    /**
     * {@code revoked} (administrative): the answer to {@code revoke}, every lease the daemon let
     * go of (none when no live lease matched).
     */
    record Revoked(List<LeaseEntry> leases) implements Response {
        public Revoked {
            leases = List.copyOf(requireNonNull(leases, "leases"));
        }

        @Override
        public String type() {
            return "revoked";
        }
    }

    /**
     * {@code transparent-ring} (docs/protocol.md, "Transparent setup"): the answer to
     * {@code transparent-setup}. With {@code errno} 0 the ring is installed in the caller as
     * descriptor {@code fd} and {@code ring} is what to write back into its
     * {@code io_uring_params}; then the supervisor answers the trapped call with {@code fd}.
     * Otherwise the call is to fail with {@code errno} ({@code EPERM}: the policy refused) and
     * {@code fd} and {@code ring} are absent.
     *
     * @param errno   0, or the errno the trapped call is to fail with
     * @param fd      the ring's descriptor number in the caller
     * @param ring    the params to write back; null on refusal
     * @param message why, for people
     */
    record TransparentRing(int errno, int fd, @Nullable Ring ring, String message) implements Response {
        public TransparentRing {
            if (errno < 0 || errno > 4095) {
                throw new IllegalArgumentException("transparent-ring: errno must be 0..4095, not " + errno);
            }
            if (errno == 0 && (ring == null || fd < 0)) {
                throw new IllegalArgumentException("transparent-ring: a ring and its fd, or an errno");
            }
            requireNonNull(message, "message");
        }

        @Override
        public String type() {
            return "transparent-ring";
        }
    }
}
