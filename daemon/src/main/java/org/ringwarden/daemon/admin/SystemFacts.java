package org.ringwarden.daemon.admin;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/** Facts about this host and process read from {@code /proc}, for {@code status} and {@code doctor}. */
public final class SystemFacts {
    private SystemFacts() {
    }

    /** This build's version, as the build stamped it in {@code version.properties} ({@code "unknown"} if absent). */
    public static String ringwardenVersion() {
        try (InputStream in = SystemFacts.class.getResourceAsStream("/org/ringwarden/daemon/version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The kernel release ({@code uname -r}). */
    public static String kernelRelease() {
        return readLine(Path.of("/proc/sys/kernel/osrelease")).orElse(System.getProperty("os.version"));
    }

    /** The first line of a small procfs/sysfs file, trimmed. */
    public static Optional<String> readLine(Path p) {
        try {
            List<String> lines = Files.readAllLines(p);
            return lines.isEmpty() ? Optional.of("") : Optional.of(lines.get(0).trim());
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }

    /** The value after {@code field} in {@code /proc/PID/status} (e.g. {@code VmPin:}), or empty. */
    public static Optional<String> statusField(String pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
                if (line.startsWith(field)) {
                    return Optional.of(line.substring(field.length()).trim());
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** This process's pinned memory ({@code VmPin}, which counts registered buffers and rings) in bytes; -1 if unknown. */
    public static long pinnedBytes() {
        return statusField("self", "VmPin:").map(SystemFacts::kilobytes).orElse(-1L);
    }

    private static long kilobytes(String v) {
        String[] parts = v.split("\\s+");
        try {
            return Long.parseLong(parts[0]) * 1024L;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The gid of group {@code nameOrNumber} (a name from {@code /etc/group}, or a number), or empty. */
    public static Optional<Integer> groupId(String nameOrNumber) {
        if (nameOrNumber.chars().allMatch(Character::isDigit)) {
            return Optional.of(Integer.parseInt(nameOrNumber));
        }
        try {
            for (String line : Files.readAllLines(Path.of("/etc/group"))) {
                String[] f = line.split(":", -1);
                if (f.length >= 3 && f[0].equals(nameOrNumber)) {
                    return Optional.of(Integer.parseInt(f[2]));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
