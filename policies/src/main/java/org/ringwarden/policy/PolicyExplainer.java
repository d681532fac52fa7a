package org.ringwarden.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelConstant;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;

/**
 * Says in plain words what a client of a compiled policy can and cannot do, then lists the
 * exact restriction entries with their numbers ({@code ringwarden policy explain NAME}).
 */
public final class PolicyExplainer {
    private PolicyExplainer() {
    }

    /**
     * @param can          what a client may do, one sentence each
     * @param cannot       what it may not, one sentence each
     * @param restrictions one line per {@code io_uring_restriction} entry, in registration order
     */
    public record Explanation(List<String> can, List<String> cannot, List<String> restrictions) {
        public Explanation {
            can = List.copyOf(can);
            cannot = List.copyOf(cannot);
            restrictions = List.copyOf(restrictions);
        }
    }

    public static Explanation explain(CompiledPolicy p) {
        List<String> can = new ArrayList<>();
        List<String> cannot = new ArrayList<>();
        Allowed a = p.allowed();
        boolean fixedRequired = a.sqeFlagsRequired().contains(SqeFlag.FIXED_FILE);

        can.add("Acquire it: " + who(p.acquirers()) + ".");
        if (p.complains()) {
            can.add("Complain mode: the kernel enforces only the ceiling (every SQE opcode but MSG_RING, and "
                    + "FIXED_FD_INSTALL and FILES_UPDATE unless listed; every SQE flag). What the lists below leave out "
                    + "runs, and ringwarden watch-refusals reports it (event sqe-complained); set \"mode\": \"enforce\" "
                    + "(or remove it) to enforce them.");
        }
        RingSpec r = p.ring();
        can.add("Get a ring of " + r.sqEntries() + " SQ and " + r.cqEntries() + " CQ entries, setup flags "
                + list(names(r.setupFlags())) + (r.enabler() == Enabler.DAEMON
                ? ", enabled by the daemon before delivery."
                : ", delivered disabled: the client enables it and becomes its single issuer."));
        if (a.sqeOps().isEmpty()) {
            cannot.add("Submit any SQE: the policy allows no opcode.");
        } else {
            can.add("Submit " + list(a.sqeOpNames()) + ".");
        }
        if (!a.sqeFlagsRequired().isEmpty()) {
            can.add("Every SQE must carry " + list(a.sqeFlagsRequiredNames()) + "; one without completes with -EACCES.");
        }
        can.add(a.sqeFlagsAllowed().isEmpty() ? "Set no other SQE flag." : "Also set the SQE flags " + list(a.sqeFlagsAllowedNames()) + ".");
        for (int i = 0; i < p.files().size(); i++) {
            FileSpec f = p.files().get(i);
            can.add("Use fixed file " + i + " `" + f.name() + "`: " + f.path()
                    + (f.type() == org.ringwarden.linux.FileType.REGULAR ? "" : " (" + f.type().description() + ")")
                    + ", opened " + f.describeOpenFlags()
                    + " by the daemon with its rights" + ((f.resolveFlags() & Descriptors.RESOLVE_NO_SYMLINKS) != 0
                    ? ", no symbolic link allowed on the path" : "") + ".");
            if (!f.writable()) {
                cannot.add("Write to `" + f.name() + "`: it is open read-only.");
            } else if ((f.openFlags() & Descriptors.O_APPEND) != 0) {
                cannot.add("Overwrite `" + f.name() + "`: it is open append-only.");
            }
            if (!f.readable()) {
                cannot.add("Read `" + f.name() + "`: it is open write-only.");
            }
        }
        if (p.maxClientFds() > 0) {
            can.add("Register up to " + p.maxClientFds() + " of its own descriptors as fixed files, after the policy's.");
        }
        for (int i = 0; i < p.buffers().size(); i++) {
            BufferSpec b = p.buffers().get(i);
            can.add("Use registered buffer " + i + " `" + b.name() + "` of " + ByteSize.format(b.bytes())
                    + " (a sealed memfd it maps itself).");
        }
        can.add("Call io_uring_register for " + list(a.registerOpNames()) + " only; any other register opcode fails with EACCES.");
        can.add("Hold " + p.limits().leasesPerUser() + " lease(s) and " + ByteSize.format(p.limits().bufferBytesPerUser())
                + " of registered buffers per user at once.");
        TransparentSpec t = p.transparent();
        if (t.enabled()) {
            can.add("Serve transparent use: an unmodified program's own io_uring_setup gets a ring under this policy, "
                    + "up to " + t.maxSqEntries() + " SQ and " + t.maxCqEntries() + " CQ entries; setup flags honoured "
                    + list(flagsWith(t, FlagDisposition.HONOUR)) + ", dropped " + list(flagsWith(t, FlagDisposition.DROP))
                    + ", any other refused.");
        } else {
            cannot.add("Serve transparent use: an unmodified program's io_uring_setup is refused.");
        }

        if (fixedRequired) {
            cannot.add("Name a descriptor of its own in an SQE, or a path (OPENAT and OPENAT2 reject FIXED_FILE): "
                    + "only the registered fixed files are reachable.");
        } else if (!a.sqeOps().isEmpty()) {
            can.add("Name descriptors from its own table in SQEs (FIXED_FILE is not required), with its own rights.");
        }
        int other = IoUringOp.values().length - a.sqeOps().size();
        cannot.add("Submit any of the " + other + " other opcodes this build knows; the kernel completes them with -EACCES.");
        if (!a.sqeOps().contains(IoUringOp.MSG_RING)) {
            cannot.add("Pass a fixed file to another ring (MSG_RING is never allowed).");
        }
        cannot.add("Use an SQ poll thread (SQPOLL is never allowed), a personality, or lift the restrictions "
                + "(RESTRICTIONS, PERSONALITY and ENABLE_RINGS are never allowed).");
        if (r.enabler() == Enabler.CLIENT) {
            can.add("Before it enables the ring, make register calls with its own rights (restrictions start at enabling).");
        }

        List<String> rs = new ArrayList<>();
        for (int i = 0; i < p.restrictions().size(); i++) {
            rs.add(entry(i, p.restrictions().get(i)));
        }
        return new Explanation(can, cannot, rs);
    }

    /** {@code #1  SQE_OP (1)  value 22  READ}. */
    static String entry(int i, Restriction r) {
        String meaning = switch (r.type()) {
            case REGISTER_OP -> nameOr(org.ringwarden.linux.uring.RegisterOp.of(r.value()));
            case SQE_OP -> nameOr(IoUringOp.of(r.value()));
            case SQE_FLAGS_ALLOWED, SQE_FLAGS_REQUIRED -> String.format("0x%02x ", r.value()) + PolicyCompiler.flagNames(r.value());
        };
        return String.format("#%-2d %-18s (%d)  value %3d  %s", i, r.type().kernelName(), r.type().abi(), r.value(), meaning);
    }

    private static String nameOr(@Nullable KernelConstant c) {
        return c == null ? "?" : c.kernelName();
    }

    private static String who(Acquirers a) {
        if (a.everyone()) {
            return "any local user";
        }
        if (a.everyone() && !a.containers().isEmpty()) {
            return "any local user; containers with " + a.containers().stream().map(ContainerMatch::toString)
                    .reduce((x, y) -> x + " or " + y).orElse("");
        }
        if (a.isNobody()) {
            return "nobody (no subject named)";
        }
        StringJoiner j = new StringJoiner("; ");
        if (!a.uids().isEmpty()) {
            j.add("uid " + a.uids().stream().map(String::valueOf).reduce((x, y) -> x + ", " + y).orElse(""));
        }
        if (!a.gids().isEmpty()) {
            j.add("members of gid " + a.gids().stream().map(String::valueOf).reduce((x, y) -> x + ", " + y).orElse(""));
        }
        for (ContainerMatch c : a.containers()) {
            j.add("containers with " + c);
        }
        return j.toString();
    }

    private static List<String> names(Iterable<? extends KernelConstant> cs) {
        List<String> out = new ArrayList<>();
        cs.forEach(c -> out.add(c.kernelName()));
        return out;
    }

    private static List<String> flagsWith(TransparentSpec t, FlagDisposition d) {
        List<String> out = new ArrayList<>();
        for (SetupFlag f : SetupFlag.values()) {
            if (t.disposition(f) == d) {
                out.add(f.kernelName());
            }
        }
        return out;
    }

    private static String list(List<String> xs) {
        return xs.isEmpty() ? "(none)" : String.join(", ", xs);
    }
}
