package org.ringwarden.daemon.oci;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.UnixSockets;

/**
 * The service manager's side of {@code NOTIFY_SOCKET} for tests (PID 1 is not systemd here),
 * with a file descriptor store: {@code FDSTORE=1}/{@code FDNAME=} keeps the descriptors that
 * came with the datagram under that name, {@code FDSTOREREMOVE=1} closes and forgets them.
 */
final class FdNotifyReceiver implements AutoCloseable {
    private static final long SYS_BIND = 49;
    private final int fd;
    private final String name;
    /** The store, by FDNAME, in the order stored. */
    final Map<String, Integer> store = new LinkedHashMap<>();
    final List<String> messages = new ArrayList<>();

    FdNotifyReceiver(String abstractName) {
        this.name = abstractName;
        fd = (int) Syscall.checked("socket", Syscall.SYS_SOCKET, UnixSockets.AF_UNIX,
                UnixSockets.SOCK_DGRAM | UnixSockets.SOCK_CLOEXEC, 0);
        try (Arena arena = Arena.ofConfined()) {
            byte[] n = abstractName.getBytes(UTF_8);
            MemorySegment addr = arena.allocate(110, 8);
            addr.set(JAVA_SHORT, 0, (short) UnixSockets.AF_UNIX);
            MemorySegment.copy(n, 0, addr, JAVA_BYTE, 3, n.length); // sun_path[0] = 0: abstract
            Syscall.checked("bind(@" + abstractName + ")", SYS_BIND, fd, addr.address(), 2 + 1 + n.length);
        } catch (RuntimeException e) {
            Descriptors.closeQuietly(fd);
            throw e;
        }
    }

    String notifySocket() {
        return "@" + name;
    }

    /** Handles datagrams until one contains {@code text} (returns true) or {@code timeoutMs} passes. */
    boolean await(String text, long timeoutMs) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0 || Poll.poll(fd, Poll.POLLIN, left) == 0) {
                return false;
            }
            byte[] buf = new byte[4096];
            UnixRights.Received r = UnixRights.recvFds(fd, buf, 16);
            String m = new String(buf, 0, r.bytes(), UTF_8);
            messages.add(m);
            handle(m, r.fds());
            if (m.contains(text)) {
                return true;
            }
        }
    }

    private void handle(String m, int[] fds) {
        String fdName = null;
        for (String line : m.split("\n")) {
            if (line.startsWith("FDNAME=")) {
                fdName = line.substring(7);
            }
        }
        if (m.contains("FDSTORE=1") && fdName != null && fds.length == 1) {
            Integer old = store.put(fdName, fds[0]);
            if (old != null) {
                Descriptors.closeQuietly(old);
            }
            return;
        }
        for (int f : fds) {
            Descriptors.closeQuietly(f);
        }
        if (m.contains("FDSTOREREMOVE=1") && fdName != null) {
            Integer old = store.remove(fdName);
            if (old != null) {
                Descriptors.closeQuietly(old);
            }
        }
    }

    @Override
    public void close() {
        store.values().forEach(Descriptors::closeQuietly);
        store.clear();
        Descriptors.closeQuietly(fd);
    }
}
