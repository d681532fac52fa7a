package org.ringwarden.linux;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Tells which of the files it watches are still open anywhere, without holding them open.
 *
 * <p>An epoll instance keeps no reference to the files in its interest list: when a file's
 * last reference goes (every descriptor in every process closed, every in-kernel holder gone),
 * the kernel takes it off every epoll list ({@code eventpoll_release}). The list can be read
 * back from {@code /proc/self/fdinfo/EPFD}, one {@code tfd: ... data: KEY} line per file still
 * alive. So the daemon can add a ring it hands out, close its own copy, and learn when the
 * client's last copy is gone: the moment its pinned memory is given back.
 *
 * <p>Nothing ever waits on the epoll instance; it is only a list. Thread-safe.
 */
public final class OpenFileWatch implements AutoCloseable {
    private static final long SYS_EPOLL_CTL = 233;
    private static final long SYS_EPOLL_CREATE1 = 291;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int EPOLL_CLOEXEC = Descriptors.O_CLOEXEC;

    private final int epfd;
    private final Path fdinfo;
    private boolean closed;

    /** A new, empty watch (one epoll descriptor). */
    public OpenFileWatch() {
        this.epfd = (int) Syscall.checked("epoll_create1", SYS_EPOLL_CREATE1, EPOLL_CLOEXEC);
        this.fdinfo = Path.of("/proc/self/fdinfo/" + epfd);
    }

    /**
     * Watches the file behind {@code fd} under {@code key} (keys are the caller's; give each
     * file its own). The caller may close {@code fd} right after: the watch follows the file,
     * not the descriptor.
     *
     * @throws KernelException {@code EPERM} for a file that cannot be polled (regular files)
     */
    public synchronized void watch(int fd, long key) {
        if (closed) {
            throw new IllegalStateException("the watch is closed");
        }
        try (Arena a = Arena.ofConfined()) {
            // struct epoll_event is packed on x86_64: u32 events, u64 data. No events: only the list matters.
            MemorySegment ev = a.allocate(12);
            ev.set(ValueLayout.JAVA_LONG_UNALIGNED, 4, key);
            Syscall.checked("epoll_ctl(ADD)", SYS_EPOLL_CTL, epfd, EPOLL_CTL_ADD, fd, ev.address());
        }
    }

    /** The keys of the watched files that are still open somewhere. */
    public synchronized Set<Long> liveKeys() {
        if (closed) {
            return Set.of();
        }
        String text;
        try {
            text = Files.readString(fdinfo);
        } catch (IOException e) {
            throw new KernelException("read " + fdinfo, Errno.EIO.number());
        }
        Set<Long> keys = new HashSet<>();
        for (String line : text.split("\n")) {
            if (!line.startsWith("tfd:")) {
                continue;
            }
            int at = line.indexOf("data:");
            if (at < 0) {
                continue;
            }
            int start = at + 5;
            while (start < line.length() && line.charAt(start) == ' ') {
                start++;
            }
            int end = start;
            while (end < line.length() && Character.digit(line.charAt(end), 16) >= 0) {
                end++;
            }
            keys.add(Long.parseUnsignedLong(line, start, end, 16));
        }
        return keys;
    }

    /** Stops watching everything (the watched files are unaffected). Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Descriptors.closeQuietly(epfd);
        }
    }
}
