package org.ringwarden.daemon.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * Where a listening socket lives and who may connect to it.
 *
 * @param path  the socket file
 * @param mode  its permission bits, octal ({@code 0666}); connecting needs write permission
 * @param group the group that owns it; null for the daemon's own group
 */
public record SocketSettings(Path path, int mode, @Nullable String group) {
    public SocketSettings {
        requireNonNull(path, "path");
        if (!path.isAbsolute()) {
            throw new IllegalArgumentException("socket path must be absolute: " + path);
        }
        if (path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 107) {
            throw new IllegalArgumentException("socket path is longer than the 107 bytes sun_path holds: " + path);
        }
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("socket mode must be within 0777, not 0" + Integer.toOctalString(mode));
        }
    }

    /** The mode as permissions for {@link java.nio.file.Files#setPosixFilePermissions}. */
    public Set<PosixFilePermission> permissions() {
        StringBuilder s = new StringBuilder(9);
        String rwx = "rwx";
        for (int bit = 8; bit >= 0; bit--) {
            s.append((mode & (1 << bit)) != 0 ? rwx.charAt(2 - bit % 3) : '-');
        }
        return PosixFilePermissions.fromString(s.toString());
    }

    /** The same settings at another path. */
    public SocketSettings withPath(Path other) {
        return new SocketSettings(other, mode, group);
    }
}
