package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.MemorySegment;
import java.util.List;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.linux.uring.IoUringParams;

/**
 * A ring {@link RingFactory} built, with everything the daemon still holds for it: the ring
 * fd and, per registered buffer, its memfd and the daemon's mapping. The fixed files' own
 * descriptors are already closed (the ring's file table holds them).
 *
 * <p>{@link #close()} gives all of it back; it is idempotent and never throws, because it runs
 * on rollback and teardown paths where the first failure must not hide the rest.
 */
public final class PreparedRing implements AutoCloseable {
    private final int ringFd;
    private final IoUringParams params;
    private final boolean enabled;
    private final List<FileSlot> files;
    private final List<Buffer> buffers;
    private boolean closed;

    PreparedRing(int ringFd, IoUringParams params, boolean enabled, List<FileSlot> files, List<Buffer> buffers) {
        this.ringFd = ringFd;
        this.params = requireNonNull(params, "params");
        this.enabled = enabled;
        this.files = List.copyOf(files);
        this.buffers = List.copyOf(buffers);
    }

    /** The daemon's descriptor of the ring. */
    public int ringFd() {
        return ringFd;
    }

    /** What {@code io_uring_setup} returned: the grant carries it to the client. */
    public IoUringParams params() {
        return params;
    }

    /** True if the daemon enabled the ring; false if the client must. */
    public boolean enabled() {
        return enabled;
    }

    /** The registered fixed files, in slot order. */
    public List<FileSlot> files() {
        return files;
    }

    /** The registered buffers, in index order. */
    public List<Buffer> buffers() {
        return buffers;
    }

    /** Registered-buffer bytes. */
    public long bufferBytes() {
        long sum = 0;
        for (Buffer b : buffers) {
            sum += b.mapping().byteSize();
        }
        return sum;
    }

    /**
     * Installs a duplicate of the ring fd in the caller of notification {@code id}
     * ({@code SECCOMP_IOCTL_NOTIF_ADDFD}, {@code O_CLOEXEC}) and returns its number there.
     * Under this ring's lock, so that a concurrent {@link #close()} cannot free the fd number
     * (and let it be reused) while the kernel duplicates it.
     *
     * @throws IllegalStateException if the ring was closed (its lease ended)
     * @throws org.ringwarden.linux.KernelException if the kernel refuses
     */
    public synchronized int installInto(SeccompListener listener, long id) {
        if (closed) {
            throw new IllegalStateException("the ring's lease has ended");
        }
        return listener.addFd(id, ringFd, true);
    }

    /**
     * Puts the ring on {@code watch} under {@code key}, then {@link #close()}s it: from then on
     * the watch tells whether a copy still lives anywhere. False if it was closed already or
     * the kernel would not watch it (it is closed all the same).
     */
    public synchronized boolean closeWatched(org.ringwarden.linux.OpenFileWatch watch, long key) {
        if (closed) {
            return false;
        }
        boolean watched;
        try {
            watch.watch(ringFd, key);
            watched = true;
        } catch (RuntimeException e) {
            watched = false;
        }
        close();
        return watched;
    }

    /** Closes the ring fd and every memfd, unmaps every buffer. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Buffer b : buffers) {
            b.release();
        }
        Descriptors.closeQuietly(ringFd);
    }

    /** True once {@link #close()} ran. */
    public synchronized boolean isClosed() {
        return closed;
    }

    /**
     * One registered buffer: its sealed memfd and the daemon's shared mapping of it, at whose
     * address the kernel registered it.
     */
    public record Buffer(int index, String name, int memfd, MemorySegment mapping) {
        /** What the grant tells the client about it. */
        public BufferGrant toGrant() {
            return new BufferGrant(index, name, memfd, mapping.byteSize(), mapping.address());
        }

        void release() {
            try {
                Memory.unmap(mapping);
            } catch (RuntimeException e) {
                // munmap of a range we mapped cannot fail short of a bug; keep closing the rest.
            }
            Descriptors.closeQuietly(memfd);
        }
    }
}
