package org.ringwarden.daemon.grant;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * What this JVM holds that the grant side could leak: io_uring fds, ringwarden memfds (as fds
 * and as mappings), seccomp listeners, pidfds, and fds on files under a test directory. Counting these kinds, rather than
 * every fd, keeps the check exact while the JVM opens and closes its own files.
 */
record ResourceSnapshot(int ringFds, int memfdFds, int memfdMappings, int filesUnder, int listenerFds, int pidfds) {

    static ResourceSnapshot take(Path dir) {
        int rings = 0;
        int memfds = 0;
        int files = 0;
        int listeners = 0;
        int pidfds = 0;
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    continue; // the directory's own fd, closed by now
                }
                if (target.equals("anon_inode:[io_uring]")) {
                    rings++;
                } else if (target.startsWith("/memfd:" + RingFactory.MEMFD_PREFIX)) {
                    memfds++;
                } else if (target.equals("anon_inode:seccomp notify")) {
                    listeners++;
                } else if (target.equals("anon_inode:[pidfd]")) {
                    pidfds++;
                } else if (dir != null && target.startsWith(dir.toString())) {
                    files++;
                }
            }
        } catch (IOException e) {
            throw new AssertionError("cannot list /proc/self/fd", e);
        }
        int maps;
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/maps"));
            maps = (int) lines.stream().filter(l -> l.contains("/memfd:" + RingFactory.MEMFD_PREFIX)).count();
        } catch (IOException e) {
            throw new AssertionError("cannot read /proc/self/maps", e);
        }
        return new ResourceSnapshot(rings, memfds, maps, files, listeners, pidfds);
    }
}
