package org.ringwarden.protocol;

import static java.util.Objects.requireNonNull;

import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * A message from a peer to the daemon (protocol.md, steps 1 and 2, and the administrative
 * requests). On the wire every request is one JSON object {@code {"v":1,"op":NAME,...}}; the
 * records hold only the fields after {@code v} and {@code op}, which {@link ProtocolCodec}
 * writes and checks.
 *
 * <p>The compact constructors enforce what binding alone cannot (a listener is one descriptor,
 * counts are not negative), so a record that exists is a well-formed request.
 */
public sealed interface Request {
    /** The most descriptors a single request may announce; the kernel's {@code SCM_MAX_FD}. */
    int MAX_DESCRIPTORS = 253;

    /** The {@code op} this request travels under. */
    String op();

    /** How many descriptors the peer will send after {@code send-fds}; 0 for most requests. */
    default int descriptorCount() {
        return 0;
    }

    /** True for {@code status}, {@code leases}, {@code reload} and {@code revoke}: admin socket and admin peers only. */
    default boolean administrative() {
        return false;
    }

    /**
     * {@code attach}: hand the daemon this process's seccomp listener.
     *
     * @param fds    the number of descriptors that follow; always 1 (the listener)
     * @param policy a policy marked for transparent use; null (absent on the wire) for ticketed use only
     */
    record Attach(int fds, @Nullable String policy) implements Request {
        public Attach {
            if (fds != 1) {
                throw new IllegalArgumentException("attach carries exactly one descriptor (fds: 1), not " + fds);
            }
            if (policy != null && policy.isEmpty()) {
                throw new IllegalArgumentException("attach: policy, when present, must not be empty");
            }
        }

        @Override
        public String op() {
            return "attach";
        }

        @Override
        public int descriptorCount() {
            return fds;
        }
    }

    /**
     * {@code acquire}: ask for a ring under {@code policy}.
     *
     * @param policy    the policy's name
     * @param clientFds how many of the client's own descriptors follow (registered as fixed
     *                  files after the policy's); 0 for none
     */
    record Acquire(String policy, int clientFds) implements Request {
        public Acquire {
            requireNonNull(policy, "acquire needs a policy");
            if (policy.isEmpty()) {
                throw new IllegalArgumentException("acquire: policy must not be empty");
            }
            if (clientFds < 0 || clientFds > MAX_DESCRIPTORS) {
                throw new IllegalArgumentException("acquire: clientFds must be 0.." + MAX_DESCRIPTORS + ", not " + clientFds);
            }
        }

        @Override
        public String op() {
            return "acquire";
        }

        @Override
        public int descriptorCount() {
            return clientFds;
        }
    }

    /** {@code policies}: the names and descriptions of the policies this peer may acquire. */
    record ListPolicies() implements Request {
        @Override
        public String op() {
            return "policies";
        }
    }

    /** {@code release}: end a lease before the connection closes. */
    record Release(String lease) implements Request {
        public Release {
            requireNonNull(lease, "release needs a lease");
            if (lease.isEmpty()) {
                throw new IllegalArgumentException("release: lease must not be empty");
            }
        }

        @Override
        public String op() {
            return "release";
        }
    }

    /** {@code status} (administrative): the daemon's health and counters. */
    record Status() implements Request {
        @Override
        public String op() {
            return "status";
        }

        @Override
        public boolean administrative() {
            return true;
        }
    }

    /** {@code leases} (administrative): who holds which lease. */
    record Leases() implements Request {
        @Override
        public String op() {
            return "leases";
        }

        @Override
        public boolean administrative() {
            return true;
        }
    }

    /** {@code reload} (administrative): load the policy directory again and swap it in if it is valid. */
    record Reload() implements Request {
        @Override
        public String op() {
            return "reload";
        }

        @Override
        public boolean administrative() {
            return true;
        }
    }

    /**
     * {@code revoke} (administrative; added compatibly after version 1's first requests, see
     * docs/protocol.md, "Revoking leases"): the daemon lets go of one lease, or of every lease of
     * one uid, as if its connection had released it. A ticket not yet collected can no longer be
     * collected; a ring already in a process stays there (the kernel cannot take it back) and the
     * lease stays counted until that process closes it. Exactly one of the fields is present.
     *
     * @param lease the lease id; null (absent on the wire) when {@code uid} is given
     * @param uid   every lease held by this uid; null (absent on the wire) when {@code lease} is given
     */
    record Revoke(@Nullable String lease, @Nullable Integer uid) implements Request {
        public Revoke {
            if ((lease == null) == (uid == null)) {
                throw new IllegalArgumentException("revoke: give exactly one of lease and uid");
            }
            if (lease != null && lease.isEmpty()) {
                throw new IllegalArgumentException("revoke: lease must not be empty");
            }
            if (uid != null && uid < 0) {
                throw new IllegalArgumentException("revoke: uid must not be negative, not " + uid);
            }
        }

        @Override
        public String op() {
            return "revoke";
        }

        @Override
        public boolean administrative() {
            return true;
        }
    }

    /**
     * {@code report-refusals} (administrative, root only): requests the kernel refused with
     * {@code EACCES} because of a ring's restrictions, as {@code ringwarden watch-refusals} saw
     * them in the {@code io_uring_req_failed} tracepoint. The daemon audits each against the
     * policy of the ring's holder (docs/protocol.md, "Refusal reports").
     *
     * @param refusals at most {@value #MAX_REFUSALS} of them
     */
    record ReportRefusals(List<RefusedSqe> refusals) implements Request {
        /** The most refusals one request may carry. */
        public static final int MAX_REFUSALS = 1024;

        public ReportRefusals {
            refusals = List.copyOf(requireNonNull(refusals, "report-refusals needs refusals"));
            if (refusals.size() > MAX_REFUSALS) {
                throw new IllegalArgumentException("report-refusals: at most " + MAX_REFUSALS + " refusals, not " + refusals.size());
            }
        }

        @Override
        public String op() {
            return "report-refusals";
        }

        @Override
        public boolean administrative() {
            return true;
        }
    }

    /**
     * {@code complain-targets} (administrative, root only): which processes hold rings of a
     * complain-mode policy, so that {@code ringwarden watch-refusals} can trace their
     * submissions and report those the policy's lists leave out (docs/protocol.md, "Refusal
     * reports").
     */
    record ComplainTargets() implements Request {
        @Override
        public String op() {
            return "complain-targets";
        }

        @Override
        public boolean administrative() {
            return true;
        }
    }

    /**
     * One refused request.
     *
     * @param tid      the thread that submitted it
     * @param op       its opcode, by the kernel's name ({@code FSYNC})
     * @param sqeFlags its {@code IOSQE_*} flags
     * @param pid      the thread's process (thread group) as the tracer saw it, so that a
     *                 process that has exited since can still be named; 0 (or absent) if the
     *                 tracer does not know it (a compatible addition)
     */
    record RefusedSqe(int tid, String op, int sqeFlags, int pid) {
        public RefusedSqe {
            requireNonNull(op, "op");
            if (tid <= 0) {
                throw new IllegalArgumentException("refusal: tid must be positive, not " + tid);
            }
            if (pid < 0) {
                throw new IllegalArgumentException("refusal: pid must be positive, or 0 when unknown, not " + pid);
            }
            if (op.isEmpty() || op.length() > 32 || !op.chars().allMatch(c -> (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
                throw new IllegalArgumentException("refusal: op must be an opcode name such as FSYNC");
            }
            if (sqeFlags < 0 || sqeFlags > 0xff) {
                throw new IllegalArgumentException("refusal: sqeFlags must be 0..255, not " + sqeFlags);
            }
        }
    }

    /**
     * {@code transparent-setup} (docs/protocol.md, "Transparent setup"): on a connection attached
     * with a transparent policy, the supervisor that received a trapped {@code io_uring_setup}
     * asks for a ring made under that policy for it. The daemon installs the ring into the
     * caller with {@code SECCOMP_IOCTL_NOTIF_ADDFD} but does not answer the call: the supervisor
     * writes the params back into the caller, then answers.
     *
     * @param notif   the notification's id ({@code struct seccomp_notif.id}; its 64 bits as a signed number)
     * @param pid     the caller's thread id as the notification reported it (for audit)
     * @param entries the caller's {@code entries} argument
     * @param flags   the caller's {@code io_uring_params.flags}
     * @param cqEntries the caller's {@code io_uring_params.cq_entries} (meaningful with {@code CQSIZE})
     * @param program the caller's executable as the supervisor read it (for audit); null when absent
     */
    record TransparentSetup(long notif, int pid, long entries, long flags, long cqEntries, @Nullable String program)
            implements Request {
        public TransparentSetup {
            if (pid <= 0) {
                throw new IllegalArgumentException("transparent-setup: pid must be positive, not " + pid);
            }
            if (entries < 0 || entries > 0xFFFF_FFFFL || flags < 0 || flags > 0xFFFF_FFFFL
                    || cqEntries < 0 || cqEntries > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("transparent-setup: entries, flags and cqEntries are 32-bit unsigned");
            }
            if (program != null && program.length() > 4096) {
                throw new IllegalArgumentException("transparent-setup: program is at most 4096 characters");
            }
        }

        @Override
        public String op() {
            return "transparent-setup";
        }
    }
}
