package org.ringwarden.daemon.admin;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.ringwarden.daemon.admin.HostChecks.Finding;
import org.ringwarden.daemon.admin.HostChecks.Status;
import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.daemon.config.Limits;
import org.ringwarden.daemon.config.SocketSettings;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.LoadResult;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.policy.PolicyProblem;

import org.jspecify.annotations.Nullable;

/**
 * What {@code ringwarden doctor} checks of a deployment, as docs/install.md describes it, on
 * top of {@link HostChecks}: the sockets are there with the configured modes and groups, the
 * policy directory loads, the service's {@code LimitMEMLOCK} covers the configured per-user
 * quotas, and {@code kernel.io_uring_group} is the daemon's group. Every finding that is not
 * OK says what to do.
 */
public final class DeploymentChecks {
    /** The daemon's user and group, as systemd-sysusers creates them (systemd/sysusers.d). */
    public static final String DAEMON_GROUP = "ringwarden";

    /** Where systemd looks for the unit and its drop-ins, lowest precedence first. */
    public static final List<Path> UNIT_FILES = List.of(Path.of("/lib/systemd/system/ringwarden.service"),
            Path.of("/usr/lib/systemd/system/ringwarden.service"), Path.of("/etc/systemd/system/ringwarden.service"));

    private static final long PAGE = 4096;
    private static final Pattern MEMLOCK = Pattern.compile("^\\s*LimitMEMLOCK\\s*=\\s*(\\S*)\\s*$", Pattern.MULTILINE);

    private DeploymentChecks() {
    }

    /**
     * Every deployment check for {@code config} (read from {@code configSource}, for the
     * findings' words), with the service's unit files {@code units} (lowest precedence first,
     * drop-ins after their unit; none found is a warning).
     */
    public static List<Finding> run(DaemonConfig config, String configSource, List<Path> units) {
        List<Finding> out = new ArrayList<>();
        out.add(new Finding("configuration", Status.OK, configSource, null));
        out.add(socket("client socket", config.socket(), "ringwarden.socket"));
        out.add(socket("admin socket", config.adminSocket(), "ringwarden-admin.socket"));
        LoadResult policies = config.policies() == null ? PolicyLoader.withDefaults().loadBundled()
                : PolicyLoader.withDefaults().loadDirectory(config.policies());
        out.add(policies(config.policies(), policies));
        out.add(memlock(config.limits(), policies, units));
        out.add(ioUringGroup(SystemFacts.readLine(Path.of("/proc/sys/kernel/io_uring_disabled")),
                SystemFacts.readLine(Path.of("/proc/sys/kernel/io_uring_group")), SystemFacts.groupId(DAEMON_GROUP)));
        return out;
    }

    /** The unit and its drop-ins that exist, in the order systemd applies them. */
    public static List<Path> installedUnitFiles() {
        List<Path> out = new ArrayList<>();
        for (Path unit : UNIT_FILES) {
            if (Files.isRegularFile(unit)) {
                out.add(unit);
            }
        }
        for (Path dir : List.of(Path.of("/usr/lib/systemd/system/ringwarden.service.d"),
                Path.of("/etc/systemd/system/ringwarden.service.d"))) {
            try (var files = Files.list(dir)) {
                files.filter(f -> f.toString().endsWith(".conf")).sorted().forEach(out::add);
            } catch (IOException e) {
                // no drop-ins there
            }
        }
        return out;
    }

    static Finding socket(String check, SocketSettings s, String unit) {
        Path p = s.path();
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(p, PosixFileAttributes.class, NOFOLLOW_LINKS);
        } catch (IOException e) {
            return new Finding(check, Status.WARN, p + " is not there: the daemon is not running and no socket unit holds it",
                    "systemctl enable --now " + unit + " (docs/install.md), or start ringwarden daemon");
        }
        if (!a.isOther()) {
            return new Finding(check, Status.FAIL, p + " is not a socket", "remove it (rm " + p + "); the socket unit, or "
                    + "the daemon, makes the socket there");
        }
        int mode = mode(a);
        String group = a.group().getName();
        List<String> wrong = new ArrayList<>();
        List<String> fix = new ArrayList<>();
        if (mode != s.mode()) {
            wrong.add("mode " + octal(mode) + ", not the configured " + octal(s.mode()));
            fix.add("SocketMode=" + octal(s.mode()));
        }
        if (s.group() != null && !s.group().equals(group)) {
            wrong.add("group " + group + ", not the configured " + s.group());
            fix.add("SocketGroup=" + s.group());
        }
        if (wrong.isEmpty()) {
            return new Finding(check, Status.OK, p + ": a socket, mode " + octal(mode) + ", group " + group, null);
        }
        return new Finding(check, Status.FAIL, p + ": " + String.join(", ", wrong),
                "systemctl edit " + unit + ": [Socket] " + String.join(" ", fix)
                        + " (or, for a daemon that binds it itself, the configuration's socket settings)");
    }

    private static int mode(PosixFileAttributes a) {
        int mode = 0;
        for (PosixFilePermission p : a.permissions()) {
            mode |= 1 << (8 - p.ordinal());
        }
        return mode;
    }

    private static String octal(int mode) {
        return String.format("0%03o", mode);
    }

    static Finding policies(@Nullable Path dir, LoadResult r) {
        String where = dir == null ? "the bundled policies (no policy directory configured)" : dir.toString();
        if (!r.ok()) {
            List<String> first = r.errors().stream().limit(3).map(PolicyProblem::format).toList();
            return new Finding("policies", Status.FAIL, where + " does not load: " + r.errors().size() + " error"
                    + (r.errors().size() == 1 ? "" : "s") + ", e.g. " + String.join("; ", first),
                    "ringwarden policy validate --policies " + where + " lists every error with its file, line and column");
        }
        int n = r.policies().map(s -> s.all().size()).orElse(0);
        int warnings = r.warnings().size();
        return new Finding("policies", Status.OK, where + (dir == null ? " load: " : " loads: ") + Counted.of(n, "policy", "policies")
                + (warnings == 0 ? "" : ", " + Counted.of(warnings, "warning", "warnings")
                + " (ringwarden policy validate shows them)"), null);
    }

    /** The bytes one ring of {@code sq}/{@code cq} entries pins (docs/install.md, the unit's comment). */
    static long ringBytes(int sq, int cq) {
        return roundUp(320 + 16L * cq + 4L * sq) + roundUp(64L * sq);
    }

    private static long roundUp(long bytes) {
        return (bytes + PAGE - 1) / PAGE * PAGE;
    }

    static Finding memlock(Limits limits, LoadResult policies, List<Path> units) {
        Optional<String> value = Optional.empty();
        Path from = null;
        for (Path unit : units) {
            try {
                Matcher m = MEMLOCK.matcher(Files.readString(unit));
                while (m.find()) {
                    value = Optional.of(m.group(1));
                    from = unit;
                }
            } catch (IOException e) {
                return new Finding("LimitMEMLOCK", Status.WARN, "cannot read " + unit + ": " + e.getMessage(), null);
            }
        }
        if (from == null) {
            return new Finding("LimitMEMLOCK", Status.WARN, units.isEmpty() ? "no ringwarden.service installed: not checked"
                    : "no LimitMEMLOCK= in " + units + ": the system's default applies",
                    "install the unit (make install, docs/install.md), which sets LimitMEMLOCK");
        }
        // The largest ring a policy may make, or 4096/8192 entries when no policy says.
        long ring = policies.policies().map(s -> s.all().stream().mapToLong(DeploymentChecks::ringBytesOf).max()
                .orElse(ringBytes(4096, 8192))).orElse(ringBytes(4096, 8192));
        long needed = limits.bufferBytesPerUid() + (long) limits.leasesPerUid() * ring;
        String formula = "bufferBytesPerUid " + mib(limits.bufferBytesPerUid()) + " + leasesPerUid "
                + limits.leasesPerUid() + " x " + (ring / 1024) + " KiB (the largest ring the policies make) = "
                + mib(needed);
        OptionalLong limit = bytes(value.get());
        if (limit.isEmpty()) {
            return new Finding("LimitMEMLOCK", Status.WARN, "LimitMEMLOCK=" + value.get() + " in " + from
                    + ": unbounded or unreadable, so only the daemon's quotas bound what a user may pin",
                    "set LimitMEMLOCK= to at least " + formula + " (docs/install.md)");
        }
        if (limit.getAsLong() < needed) {
            return new Finding("LimitMEMLOCK", Status.FAIL, "LimitMEMLOCK=" + value.get() + " in " + from + " ("
                    + mib(limit.getAsLong()) + ") is below " + formula + ": a user's rings fail with ENOMEM before "
                    + "the daemon's quotas trip", "systemctl edit ringwarden: [Service] LimitMEMLOCK="
                    + ((needed + (1L << 20) - 1) >> 20) + "M, or lower limits.bufferBytesPerUid or leasesPerUid "
                    + "(docs/install.md, \"Pinned memory\")");
        }
        return new Finding("LimitMEMLOCK", Status.OK, "LimitMEMLOCK=" + value.get() + " in " + from + " covers " + formula,
                null);
    }

    private static long ringBytesOf(CompiledPolicy p) {
        return ringBytes(p.ring().sqEntries(), p.ring().cqEntries());
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    /** A systemd resource value in bytes (K, M, G, T are powers of 1024); empty for infinity or what cannot be read. */
    static OptionalLong bytes(String value) {
        String v = value.contains(":") ? value.substring(0, value.indexOf(':')) : value; // soft:hard
        Matcher m = Pattern.compile("(\\d+)([KMGT]?)").matcher(v.trim());
        if (!m.matches()) {
            return OptionalLong.empty();
        }
        int shift = switch (m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        return OptionalLong.of(Long.parseLong(m.group(1)) << shift);
    }

    /**
     * Under {@code kernel.io_uring_disabled=1} only {@code kernel.io_uring_group} (and
     * CAP_SYS_ADMIN, which the service does not have) may create rings: it must be the daemon's
     * group, as docs/install.md sets it.
     */
    static Finding ioUringGroup(Optional<String> disabled, Optional<String> group, Optional<Integer> daemonGid) {
        if (disabled.isEmpty()) {
            return new Finding("kernel.io_uring_group", Status.OK, "not present (kernel before 6.6)", null);
        }
        if (!disabled.get().equals("1")) {
            return new Finding("kernel.io_uring_group", Status.OK, "not consulted with kernel.io_uring_disabled="
                    + disabled.get(), null);
        }
        if (daemonGid.isEmpty()) {
            return new Finding("kernel.io_uring_group", Status.WARN, "there is no group " + DAEMON_GROUP
                    + " yet, so the daemon's group cannot be checked against kernel.io_uring_group="
                    + group.orElse("?"), "systemd-sysusers /usr/lib/sysusers.d/ringwarden.conf (docs/install.md)");
        }
        String gid = Integer.toString(daemonGid.get());
        if (group.isPresent() && group.get().equals(gid)) {
            return new Finding("kernel.io_uring_group", Status.OK, gid + ", the daemon's group " + DAEMON_GROUP
                    + ": only the broker creates rings", null);
        }
        return new Finding("kernel.io_uring_group", Status.FAIL, group.orElse("?") + ", not the daemon's group "
                + DAEMON_GROUP + " (gid " + gid + "): with kernel.io_uring_disabled=1 the daemon cannot create rings",
                "sysctl -w kernel.io_uring_group=" + gid + ", and persist it: /etc/sysctl.d/60-ringwarden.conf "
                        + "(docs/install.md, \"Restricting io_uring to the broker\")");
    }
}
