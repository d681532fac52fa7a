package org.ringwarden.daemon.server;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

import org.ringwarden.daemon.config.SocketSettings;

/** Preparing a socket path before bind, and setting its mode and group after. */
final class SocketFiles {
    private SocketFiles() {
    }

    /**
     * Makes {@code path} free to bind: creates the directory (0755) if missing; removes a stale
     * socket file (one nobody accepts on: connect is refused); refuses to touch a live socket
     * (another daemon is serving there) or anything that is not a socket.
     */
    static void prepare(Path path) throws IOException {
        Path dir = path.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        }
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        PosixFileAttributes attrs = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!attrs.isOther()) {
            throw new FileAlreadyExistsException(path.toString(), null,
                    "exists and is not a socket; refusing to replace it");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new FileAlreadyExistsException(path.toString(), null,
                    "another process is accepting connections on it (is a ringwarden daemon already running?)");
        } catch (ConnectException stale) {
            // ECONNREFUSED: a socket file left by a daemon that died; safe to replace.
            Files.deleteIfExists(path);
        }
    }

    /** Gives the bound socket its configured mode and group. */
    static void applyOwnership(SocketSettings s) throws IOException {
        // chown/chmod by path (a socket cannot be opened for fchmod: ENXIO); the path is the
        // socket we just bound in a directory prepare() checked, not a link someone planted.
        if (s.group() != null) {
            GroupPrincipal g = s.path().getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(s.group());
            Files.getFileAttributeView(s.path(), PosixFileAttributeView.class).setGroup(g);
        }
        Files.setPosixFilePermissions(s.path(), s.permissions());
    }
}
