package org.ringwarden.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
    /** About 40 watched files' lines; doubled whenever the list does not fit. */
    private static final int FIRST_BUFFER = 4096;

    private final int epfd;
    /**
     * {@code /proc/self/fdinfo/EPFD}, open for the watch's life: each look is one {@code pread}
     * at offset 0 (the seq_file starts over), not an open, a read and a close (the daemon looks
     * once per release).
     */
    private final int fdinfo;
    /** Where {@link #liveKeys} reads the list; guarded by this. */
    private MemorySegment buffer;
    private boolean closed;

    /** A new, empty watch (one epoll descriptor, and its fdinfo file). */
    public OpenFileWatch() {
        this.epfd = (int) Syscall.checked("epoll_create1", SYS_EPOLL_CREATE1, EPOLL_CLOEXEC);
        try {
            this.fdinfo = Descriptors.open("/proc/self/fdinfo/" + epfd, Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0);
        } catch (RuntimeException e) {
            Descriptors.closeQuietly(epfd);
            throw e;
        }
        this.buffer = Arena.ofAuto().allocate(FIRST_BUFFER);
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
        long n;
        while (true) {
            n = Syscall.checked("pread(/proc/self/fdinfo/" + epfd + ")", Syscall.SYS_PREAD64, fdinfo,
                    buffer.address(), buffer.byteSize(), 0);
            // The kernel writes the whole list into its own buffer, then copies as much as fits:
            // a short read is the whole list.
            if (n < buffer.byteSize()) {
                break;
            }
            buffer = Arena.ofAuto().allocate(buffer.byteSize() * 2);
        }
        return keys(buffer, n);
    }

    /** The {@code data:} of every {@code tfd:} line of an epoll fdinfo text, in hex. */
    private static Set<Long> keys(MemorySegment text, long length) {
        Set<Long> keys = new HashSet<>();
        long i = 0;
        while (i < length) {
            long end = i;
            while (end < length && text.get(ValueLayout.JAVA_BYTE, end) != '\n') {
                end++;
            }
            if (startsWith(text, i, end, "tfd:")) {
                long at = indexOf(text, i, end, "data:");
                if (at >= 0) {
                    long p = at + 5;
                    while (p < end && text.get(ValueLayout.JAVA_BYTE, p) == ' ') {
                        p++;
                    }
                    long key = 0;
                    int digits = 0;
                    for (int d; p < end && (d = Character.digit(text.get(ValueLayout.JAVA_BYTE, p), 16)) >= 0; p++) {
                        key = key << 4 | d;
                        digits++;
                    }
                    if (digits > 0) {
                        keys.add(key);
                    }
                }
            }
            i = end + 1;
        }
        return keys;
    }

    private static boolean startsWith(MemorySegment text, long from, long end, String prefix) {
        if (end - from < prefix.length()) {
            return false;
        }
        for (int k = 0; k < prefix.length(); k++) {
            if (text.get(ValueLayout.JAVA_BYTE, from + k) != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static long indexOf(MemorySegment text, long from, long end, String word) {
        for (long at = from; at + word.length() <= end; at++) {
            if (startsWith(text, at, end, word)) {
                return at;
            }
        }
        return -1;
    }

    /** Stops watching everything (the watched files are unaffected). Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Descriptors.closeQuietly(fdinfo);
            Descriptors.closeQuietly(epfd);
        }
    }
}
