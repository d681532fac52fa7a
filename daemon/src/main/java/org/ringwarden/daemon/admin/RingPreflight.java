package org.ringwarden.daemon.admin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;

import org.jspecify.annotations.Nullable;

/**
 * The daemon's start-up check: before it tells anyone it is ready, it makes one small
 * ring the way every grant does (created with {@code R_DISABLED}, restricted, enabled) and
 * closes it. A daemon that cannot make rings (a user that {@code kernel.io_uring_disabled} shuts
 * out, a memlock limit too small for one ring, a kernel without io_uring) would otherwise say
 * ready and then refuse every acquire with {@code INTERNAL}; instead it exits, saying why in
 * plain words ({@link #explain}, a pure function of the errno and the host's facts).
 */
public final class RingPreflight {
    private static final int CAP_SYS_ADMIN = 21;

    private RingPreflight() {
    }

    /** This process cannot make io_uring rings; the message says why and what to change. */
    public static final class CannotMakeRings extends IOException {
        private static final long serialVersionUID = 1L;

        CannotMakeRings(String explanation, KernelException cause) {
            super("cannot make io_uring rings, so it will not serve: " + explanation, cause);
        }
    }

    /**
     * What the explanation depends on.
     *
     * @param ioUringDisabled {@code kernel.io_uring_disabled} as read; null where the kernel lacks it (before 6.6)
     * @param ioUringGroup    {@code kernel.io_uring_group} as read; null where the kernel lacks it
     * @param uid             this process's effective uid
     * @param gid             its effective gid
     * @param groups          its supplementary groups
     * @param capSysAdmin     whether it has {@code CAP_SYS_ADMIN} (which {@code io_uring_disabled=1} lets through)
     * @param memlock         its {@code RLIMIT_MEMLOCK} in words ("65536 bytes, hard limit 65536 bytes"); null if it cannot be read
     */
    public record Facts(@Nullable String ioUringDisabled, @Nullable String ioUringGroup, int uid, int gid,
                        List<Integer> groups, boolean capSysAdmin, @Nullable String memlock) {
        public Facts {
            groups = List.copyOf(groups);
        }

        /** This process's facts, from {@code /proc}. */
        public static Facts ofThisProcess() {
            String[] ids = SystemFacts.statusField("self", "Uid:").orElse("-1 -1").split("\\s+");
            String[] gids = SystemFacts.statusField("self", "Gid:").orElse("-1 -1").split("\\s+");
            List<Integer> groups = new ArrayList<>();
            for (String g : SystemFacts.statusField("self", "Groups:").orElse("").split("\\s+")) {
                if (!g.isEmpty()) {
                    groups.add(Integer.parseInt(g));
                }
            }
            return new Facts(SystemFacts.readLine(Path.of("/proc/sys/kernel/io_uring_disabled")).orElse(null),
                    SystemFacts.readLine(Path.of("/proc/sys/kernel/io_uring_group")).orElse(null),
                    Integer.parseInt(ids[1]), Integer.parseInt(gids[1]), groups, HostChecks.hasCap(CAP_SYS_ADMIN),
                    memlockLimit());
        }
    }

    /**
     * Makes, restricts, enables and closes one ring, on a thread of its own (tearing a ring down
     * later interrupts the thread that created it: security.md).
     *
     * @throws CannotMakeRings if any step fails, with the explanation
     */
    public static void check() throws CannotMakeRings {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("ringwarden-preflight").start(() -> {
            try {
                makeOneRing();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking that rings can be made", e);
        }
        switch (failure.get()) {
            case null -> { }
            case KernelException e -> throw new CannotMakeRings(explain(e.call(), e.errnoName(), Facts.ofThisProcess()), e);
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            case Throwable e -> throw new IllegalStateException(e);
        }
    }

    /** The steps of every grant, on a one-entry ring with one harmless restriction. */
    static void makeOneRing() {
        int fd = IoUringCalls.create(1, 0, SetupFlag.R_DISABLED.abi()).fd();
        try {
            IoUringCalls.registerRestrictions(fd, List.of(Restriction.registerOp(RegisterOp.REGISTER_PROBE)));
            IoUringCalls.enableRings(fd);
        } finally {
            Descriptors.closeQuietly(fd);
        }
    }

    /**
     * Why {@code call} failed with {@code errno} (a name such as {@code EPERM}), in words, for a
     * process with {@code facts}: {@code "io_uring_setup: EPERM: kernel.io_uring_disabled=1 and
     * this user (uid 65534) is not in kernel.io_uring_group (gid 990); ..."}.
     */
    public static String explain(String call, String errno, Facts facts) {
        String head = call + ": " + errno + ": ";
        boolean setup = call.startsWith("io_uring_setup");
        return head + switch (errno) {
            case "EPERM" -> setup ? notPermitted(facts) : "this process may create rings but not " + call
                    + "; a seccomp filter or a security module refuses it";
            case "ENOMEM" -> "a ring's memory is charged against RLIMIT_MEMLOCK, which is "
                    + (facts.memlock() == null ? "unknown" : facts.memlock()) + " for this process: too little for"
                    + " one ring, or the machine is out of memory; raise the limit (LimitMEMLOCK= in the unit,"
                    + " docs/install.md has the arithmetic)";
            case "ENOSYS" -> "this kernel has no io_uring (built without CONFIG_IO_URING), or a seccomp filter"
                    + " answers io_uring's system calls with ENOSYS; ringwarden needs Linux 5.10 or newer with io_uring";
            case "EINVAL" -> setup ? "this kernel does not know IORING_SETUP_R_DISABLED: ringwarden needs Linux 5.10"
                    + " or newer" : "this kernel cannot restrict rings (IORING_REGISTER_RESTRICTIONS and"
                    + " ENABLE_RINGS came in Linux 5.10)";
            default -> "the daemon could not make, restrict and enable a ring; see the errno";
        };
    }

    private static String notPermitted(Facts f) {
        String user = "this user (uid " + f.uid() + ")";
        String elsewhere = "so something else refuses io_uring_setup: a seccomp filter (the unit's SystemCallFilter=,"
                + " a container runtime's profile) or a security module";
        if (f.ioUringDisabled() == null) {
            return "this kernel has no kernel.io_uring_disabled (before 6.6), " + elsewhere;
        }
        return switch (f.ioUringDisabled()) {
            case "0" -> "kernel.io_uring_disabled=0 lets everyone create rings, " + elsewhere;
            case "2" -> "kernel.io_uring_disabled=2: io_uring is disabled for everyone, this daemon included;"
                    + " set kernel.io_uring_disabled=1 and kernel.io_uring_group to the daemon's group"
                    + " (systemd/sysctl.d/60-ringwarden.conf.example)";
            case "1" -> {
                if (f.capSysAdmin()) {
                    yield "kernel.io_uring_disabled=1 lets this process (CAP_SYS_ADMIN) create rings, " + elsewhere;
                }
                int group = parseGid(f.ioUringGroup());
                if (group >= 0 && (f.gid() == group || f.groups().contains(group))) {
                    yield user + " is in kernel.io_uring_group (gid " + group + "), which kernel.io_uring_disabled=1"
                            + " lets create rings, " + elsewhere;
                }
                yield "kernel.io_uring_disabled=1 and " + user + " is not in kernel.io_uring_group (gid "
                        + (f.ioUringGroup() == null ? "unknown" : f.ioUringGroup())
                        + (group < 0 ? ", which is no group at all" : "") + "); its groups are " + groupsOf(f)
                        + ". Run the daemon in that group, or set kernel.io_uring_group to the daemon's group"
                        + " (systemd/sysctl.d/60-ringwarden.conf.example)";
            }
            default -> "kernel.io_uring_disabled=" + f.ioUringDisabled() + " (unknown value) refuses " + user;
        };
    }

    private static int parseGid(@Nullable String s) {
        try {
            return s == null ? -1 : Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String groupsOf(Facts f) {
        StringBuilder b = new StringBuilder("gid ").append(f.gid());
        for (int g : f.groups()) {
            if (g != f.gid()) {
                b.append(", ").append(g);
            }
        }
        return b.toString();
    }

    /** {@code RLIMIT_MEMLOCK} from {@code /proc/self/limits}, in words; null if it cannot be read. */
    static @Nullable String memlockLimit() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max locked memory")) {
                    String[] f = line.substring("Max locked memory".length()).trim().split("\\s+");
                    String unit = f.length > 2 ? " " + f[2] : "";
                    return f[0] + ("unlimited".equals(f[0]) ? "" : unit) + ", hard limit " + f[1]
                            + ("unlimited".equals(f[1]) ? "" : unit);
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }
}
