package org.ringwarden.daemon.admin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.PeerCredentials;
import org.ringwarden.linux.UnixSockets;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;

import org.jspecify.annotations.Nullable;

/**
 * What {@code ringwarden doctor} checks: can this kernel and host, with this process's
 * credentials and limits, run the daemon? Each finding says what to do about it.
 */
public final class HostChecks {
    /** How bad a finding is. */
    public enum Status { OK, WARN, FAIL }

    /**
     * One finding.
     *
     * @param check  what was checked
     * @param status how it went
     * @param detail what was seen
     * @param fix    what to do; null when nothing needs doing
     */
    public record Finding(String check, Status status, String detail, @Nullable String fix) {
    }

    private static final int CAP_SYS_ADMIN = 21;
    private static final int CAP_SETUID = 7;
    private static final int CAP_IPC_LOCK = 14;

    private HostChecks() {
    }

    /** Runs every check, in order. */
    public static List<Finding> run() {
        List<Finding> out = new ArrayList<>();
        out.add(new Finding("kernel", Status.OK, "Linux " + SystemFacts.kernelRelease(), null));
        out.add(ioUringSysctl());
        out.add(ringCreation());
        out.add(seccompUserNotification());
        out.add(peerPidfd());
        out.add(memlock());
        out.add(capabilities());
        return out;
    }

    static Finding ioUringSysctl() {
        Optional<String> disabled = SystemFacts.readLine(Path.of("/proc/sys/kernel/io_uring_disabled"));
        if (disabled.isEmpty()) {
            return new Finding("kernel.io_uring_disabled", Status.OK,
                    "not present (kernel before 6.6): everyone may create rings", null);
        }
        String group = SystemFacts.readLine(Path.of("/proc/sys/kernel/io_uring_group")).orElse("-1");
        return switch (disabled.get()) {
            case "0" -> new Finding("kernel.io_uring_disabled", Status.WARN,
                    "0: every process may create its own unrestricted ring, so restrictions bind only brokered rings",
                    "sysctl -w kernel.io_uring_disabled=1 kernel.io_uring_group=<the daemon's group> "
                            + "(and persist it in /etc/sysctl.d/)");
            case "1" -> inGroup(Integer.parseInt(group)) || hasCap(CAP_SYS_ADMIN)
                    ? new Finding("kernel.io_uring_disabled", Status.OK,
                    "1: only kernel.io_uring_group=" + group + " and CAP_SYS_ADMIN create rings; this process may", null)
                    : new Finding("kernel.io_uring_disabled", Status.FAIL,
                    "1 and this process is not in kernel.io_uring_group=" + group,
                    "run the daemon with its group as kernel.io_uring_group (sysctl -w kernel.io_uring_group=<gid>)");
            default -> new Finding("kernel.io_uring_disabled", Status.FAIL,
                    disabled.get() + ": nobody may create rings", "sysctl -w kernel.io_uring_disabled=1 "
                    + "kernel.io_uring_group=<the daemon's group>");
        };
    }

    static Finding ringCreation() {
        int fd = -1;
        try {
            fd = IoUringCalls.create(4, 0, SetupFlag.R_DISABLED.abi()).fd();
            IoUringCalls.registerRestrictions(fd, List.of(Restriction.registerOp(RegisterOp.REGISTER_PROBE)));
            return new Finding("io_uring restrictions", Status.OK,
                    "created a disabled ring and registered restrictions on it", null);
        } catch (KernelException e) {
            String fix = switch (e.errnoName()) {
                case "ENOSYS" -> "this kernel has no io_uring (CONFIG_IO_URING); use a kernel 5.10 or newer that has it";
                case "EPERM" -> "io_uring is disabled for this process: see kernel.io_uring_disabled above, or a "
                        + "seccomp filter / container runtime that denies io_uring_setup";
                case "EINVAL" -> "this kernel lacks IORING_SETUP_R_DISABLED or restrictions (5.10+ needed)";
                default -> "see the error";
            };
            return new Finding("io_uring restrictions", Status.FAIL, String.valueOf(e.getMessage()), fix);
        } finally {
            Descriptors.closeQuietly(fd);
        }
    }

    static Finding seccompUserNotification() {
        String actions = SystemFacts.readLine(Path.of("/proc/sys/kernel/seccomp/actions_avail")).orElse("");
        return actions.contains("user_notif")
                ? new Finding("seccomp user notification", Status.OK, "actions_avail has user_notif", null)
                : new Finding("seccomp user notification", Status.FAIL,
                "actions_avail is \"" + actions + "\": rings cannot be delivered",
                "use a kernel with CONFIG_SECCOMP_FILTER and user notification (5.0+; 5.9+ for ADDFD)");
    }

    static Finding peerPidfd() {
        int @Nullable [] pair = null;
        try {
            pair = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
            int pidfd = PeerCredentials.peerPidfd(pair[0]);
            if (pidfd >= 0) {
                Descriptors.closeQuietly(pidfd);
                return new Finding("SO_PEERPIDFD", Status.OK, "peers are pinned by the kernel at connect", null);
            }
            return new Finding("SO_PEERPIDFD", Status.WARN,
                    "not available (kernel before 6.5): peers are pinned with pidfd_open right after accept",
                    "a 6.5+ kernel closes the small pid-reuse window at accept");
        } catch (KernelException e) {
            return new Finding("SO_PEERPIDFD", Status.WARN, String.valueOf(e.getMessage()), null);
        } finally {
            if (pair != null) {
                Descriptors.closeQuietly(pair[0]);
                Descriptors.closeQuietly(pair[1]);
            }
        }
    }

    static Finding memlock() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max locked memory")) {
                    String[] f = line.substring("Max locked memory".length()).trim().split("\\s+");
                    String soft = f[0];
                    if ("unlimited".equals(soft)) {
                        return new Finding("RLIMIT_MEMLOCK", Status.WARN, "unlimited: clients' buffers are bounded "
                                + "only by the daemon's quotas", "set LimitMEMLOCK= in the unit from the policies' worst case");
                    }
                    long bytes = Long.parseLong(soft);
                    Status s = bytes < (8L << 20) ? Status.WARN : Status.OK;
                    return new Finding("RLIMIT_MEMLOCK", s, (bytes >> 10) + " KiB: each user's rings and registered"
                            + " buffers are charged against it", s == Status.OK ? null
                            : "raise LimitMEMLOCK= to at least bufferBytesPerUid plus leasesPerUid rings (docs/install.md)");
                }
            }
        } catch (IOException | RuntimeException e) {
            return new Finding("RLIMIT_MEMLOCK", Status.WARN, "cannot read /proc/self/limits: " + e.getMessage(), null);
        }
        return new Finding("RLIMIT_MEMLOCK", Status.WARN, "not listed in /proc/self/limits", null);
    }

    static Finding capabilities() {
        // docs/security.md, "Who pays for pinned memory": with CAP_SETUID each ring is made under
        // its client's accounting uid, without CAP_IPC_LOCK, so every user has a budget of its own.
        if (hasCap(CAP_SETUID)) {
            return new Finding("capabilities", Status.OK, "CAP_SETUID: each ring's pinned memory is charged to its"
                    + " client's own accounting uid (CAP_IPC_LOCK is dropped for the call)", null);
        }
        return new Finding("capabilities", Status.WARN, "no CAP_SETUID: every ring's pinned memory is charged to the"
                + " daemon's own user" + (hasCap(CAP_IPC_LOCK) ? ", and with CAP_IPC_LOCK not accounted at all" : "")
                + ", so one user can use up what all may pin",
                "give the daemon CAP_SETUID and nothing else (CapabilityBoundingSet=CAP_SETUID and"
                        + " AmbientCapabilities=CAP_SETUID in the unit)");
    }

    /** True if this process's effective capability set has {@code cap}. */
    static boolean hasCap(int cap) {
        return SystemFacts.statusField("self", "CapEff:")
                .map(hex -> (Long.parseUnsignedLong(hex, 16) & (1L << cap)) != 0).orElse(false);
    }

    private static boolean inGroup(int gid) {
        if (gid < 0) {
            return false;
        }
        Optional<String> g = SystemFacts.statusField("self", "Gid:");
        if (g.isPresent() && g.get().split("\\s+")[1].equals(Integer.toString(gid))) {
            return true;
        }
        return SystemFacts.statusField("self", "Groups:").map(s -> List.of(s.split("\\s+")).contains(Integer.toString(gid)))
                .orElse(false);
    }
}
