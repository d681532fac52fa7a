package org.ringwarden.client;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.Tasks;
import org.ringwarden.linux.uring.CompletionHandler;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.Ring;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.protocol.Response;

/**
 * A ring the daemon made under a policy and delivered to this process, mapped and ready:
 * fixed files by the names the policy gave them, registered buffers as this process's own
 * {@link MemorySegment}s, typed preparation ({@link #prepare()}), batch submission, and
 * completions through a callback ({@link #reap}) or a reusable cursor ({@link #completions()}).
 * Nothing is allocated per operation.
 *
 * <pre>{@code
 * try (RingwardenClient client = RingwardenClient.connect();
 *      BrokeredRing ring = client.acquire("reader")) {
 *     int data = ring.file("data");
 *     RegisteredBuffer io = ring.buffer("io");
 *     ring.prepare().readFixed(data, io, 0, 4096, 0L).userData(1);
 *     ring.submitAndWait(1);
 *     CompletionCursor c = ring.completions();
 *     while (c.next()) {
 *         System.out.println("read " + c.result() + " bytes: " + io.segment().getString(0));
 *     }
 * }
 * }</pre>
 *
 * <h2>The policy check</h2>
 * Before an SQE reaches the kernel the library checks it against the grant's {@code allowed}
 * set and throws {@link PolicyViolationException} naming the opcode or flag and the policy. The
 * kernel enforces the same restrictions whatever the library does (a refused SQE completes with
 * {@code -EACCES}); {@link #checkPolicy(boolean) checkPolicy(false)} turns the library's check off.
 *
 * <h2>Enabling, and the issuer thread</h2>
 * If the policy leaves enabling to the client ({@link #enabledByDaemon()} false), the library
 * enables the ring on first {@link #submit()} (or on {@link #enable()}), from the calling thread.
 * On a {@code SINGLE_ISSUER} ring that thread becomes the only one that may submit, for the life
 * of the ring: {@link #issuer()} says which it is, and a submit from another thread throws
 * {@link IllegalStateException} instead of the kernel's {@code EEXIST}. It must be a platform
 * thread (a virtual thread moves between kernel tasks).
 *
 * <h2>Threads</h2>
 * Not thread-safe (like liburing's {@code struct io_uring}): one thread prepares, submits and
 * reaps at a time. {@link #close()} may be called from any thread once no other is using the ring.
 *
 * <h2>Closing</h2>
 * {@link #close()} unmaps the ring and the buffers, closes every descriptor the library holds
 * for it, and releases the lease. Operations still in flight are cancelled by the kernel when
 * the last reference to the ring goes; until then they may still write into memory they were
 * given (registered buffers stay pinned by the kernel, so only the program's own memory passed
 * to non-fixed operations needs to outlive them).
 */
public final class BrokeredRing implements AutoCloseable {
    private final RingwardenClient client;
    private final Response.Grant grant;
    private final Ring ring;
    /** Owns the buffer mappings; null when the grant has no buffers (see {@link #map}). */
    private final @Nullable Arena bufferArena;
    private final RegisteredBuffer[] buffers;
    private final int[] bufferFds;
    private final List<String> fileNames;
    private final AllowedSet allowed;
    private final SubmissionEntry entry;
    private final CompletionCursor cursor;
    private final boolean singleIssuer;
    private final int clientFdCount;
    private volatile boolean enabled;
    private volatile @Nullable Thread issuer;
    private boolean checkPolicy = true;
    private final int requiredFlags;
    private volatile boolean closed;

    private BrokeredRing(RingwardenClient client, Response.Grant grant, Ring ring, @Nullable Arena bufferArena,
                         RegisteredBuffer[] buffers, int[] bufferFds, int clientFdCount) {
        this.client = client;
        this.clientFdCount = clientFdCount;
        this.grant = grant;
        this.ring = ring;
        this.bufferArena = bufferArena;
        this.buffers = buffers;
        this.bufferFds = bufferFds;
        List<String> names = new ArrayList<>();
        for (Response.FileSlot f : grant.files()) {
            names.add(f.name());
        }
        this.fileNames = names.isEmpty() ? List.of() : List.copyOf(names);
        this.allowed = new AllowedSet(grant.policy(), grant.allowed());
        this.requiredFlags = allowed.requiredFlags();
        this.entry = new SubmissionEntry(this, ring);
        this.cursor = new CompletionCursor(this, ring);
        this.singleIssuer = (grant.ring().setupFlags() & SetupFlag.SINGLE_ISSUER.abi()) != 0;
        this.enabled = grant.ring().enabled();
    }

    /**
     * Maps a collected ring fd and the grant's buffers. On success the ring owns {@code ringFd}
     * and {@code memfds}; on failure {@code ringFd} is closed, {@code memfds} are left to the
     * caller, and nothing stays mapped.
     */
    static BrokeredRing map(RingwardenClient client, Response.Grant grant, int ringFd, int[] memfds) {
        return map(client, grant, ringFd, memfds, 0);
    }

    /** As above, for a grant that registered {@code clientFdCount} of the client's descriptors after the policy's files. */
    static BrokeredRing map(RingwardenClient client, Response.Grant grant, int ringFd, int[] memfds, int clientFdCount) {
        requireNonNull(grant, "grant");
        Ring ring;
        try {
            ring = Ring.map(ringFd, grant.ring().params());
        } catch (RuntimeException | Error e) {
            Descriptors.closeQuietly(ringFd);
            throw e;
        }
        // A shared arena's close() is a handshake with every thread of the JVM (tens of µs, more on
        // a loaded machine). The Ring pays one for its own mappings; a grant without buffers (the
        // common NOP/file-only ring) need not pay a second: it gets no buffer arena at all. Buffers
        // the program can see keep theirs, so a use after close() still throws
        // IllegalStateException instead of touching unmapped memory. On success the BrokeredRing
        // owns the arena.
        @SuppressWarnings("MustBeClosedChecker")
        Arena arena = grant.buffers().isEmpty() ? null : Arena.ofShared();
        try {
            RegisteredBuffer[] buffers = new RegisteredBuffer[grant.buffers().size()];
            for (int i = 0; arena != null && i < buffers.length; i++) { // no arena: no buffers
                Response.BufferSlot b = grant.buffers().get(i);
                MemorySegment m = Memory.mapShared(memfds[b.fd()], 0, b.length(), arena, Memory::unmap);
                buffers[i] = new RegisteredBuffer(b.index(), b.name(), m, b.address());
            }
            return new BrokeredRing(client, grant, ring, arena, buffers, memfds.clone(), clientFdCount);
        } catch (RuntimeException | Error e) {
            if (arena != null) {
                arena.close();
            }
            ring.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------ what the grant gave

    /** The policy this ring was granted under. */
    public String policy() {
        return grant.policy();
    }

    /** The lease id (what the daemon's {@code leases} listing shows). */
    public String lease() {
        return grant.lease();
    }

    /** The fixed-file index of the file the policy named {@code name}. */
    public int file(String name) {
        requireNonNull(name, "name");
        for (Response.FileSlot f : grant.files()) {
            if (f.name().equals(name)) {
                return f.index();
            }
        }
        throw new IllegalArgumentException("policy '" + grant.policy() + "' has no file named '" + name + "'; files: "
                + (fileNames.isEmpty() ? "none" : String.join(", ", fileNames)));
    }

    /**
     * The names of the ring's fixed files, in index order: the policy's, then the client's own
     * descriptors (which the daemon names {@code client-0}, {@code client-1}...).
     */
    public List<String> fileNames() {
        return fileNames;
    }

    /**
     * The fixed-file index of the {@code i}-th descriptor the client handed over with
     * {@link RingwardenClient#acquire(String, int...)}: they follow the policy's files.
     */
    public int clientFile(int i) {
        if (i < 0 || i >= clientFdCount) {
            throw new IndexOutOfBoundsException("client descriptor " + i + " of " + clientFdCount + " handed over");
        }
        return grant.files().size() - clientFdCount + i;
    }

    /** The registered buffer the policy named {@code name}. */
    public RegisteredBuffer buffer(String name) {
        requireNonNull(name, "name");
        for (RegisteredBuffer b : buffers) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        List<String> names = new ArrayList<>();
        for (RegisteredBuffer b : buffers) {
            names.add(b.name());
        }
        throw new IllegalArgumentException("policy '" + grant.policy() + "' has no buffer named '" + name
                + "'; buffers: " + (names.isEmpty() ? "none" : String.join(", ", names)));
    }

    /** Every registered buffer, in index order. */
    public List<RegisteredBuffer> buffers() {
        return List.of(buffers);
    }

    RegisteredBuffer bufferContaining(MemorySegment slice) {
        for (RegisteredBuffer b : buffers) {
            if (b.contains(slice)) {
                return b;
            }
        }
        throw new IllegalArgumentException("the segment at 0x" + Long.toHexString(slice.address()) + " ("
                + slice.byteSize() + " bytes) is not inside a registered buffer of this ring: fixed operations"
                + " need memory from RegisteredBuffer.segment()");
    }

    /** The opcode names the policy allows, as the daemon sent them. */
    public List<String> allowedOperations() {
        return grant.allowed().sqeOps();
    }

    /** SQ entries. */
    public int sqEntries() {
        return ring.sqEntries();
    }

    /** CQ entries. */
    public int cqEntries() {
        return ring.cqEntries();
    }

    // ------------------------------------------------------------------ enabling

    /** True if the daemon enabled the ring; false if the policy leaves it to this process. */
    public boolean enabledByDaemon() {
        return grant.ring().enabled();
    }

    /** True if the ring's setup flags include {@code SINGLE_ISSUER}. */
    public boolean singleIssuer() {
        return singleIssuer;
    }

    /**
     * The thread that enabled the ring (on a {@code SINGLE_ISSUER} ring, the only thread that may
     * submit); null if the daemon enabled it or it is not enabled yet.
     */
    public @Nullable Thread issuer() {
        return issuer;
    }

    /**
     * Enables a ring the policy leaves to the client, from the calling thread, which becomes its
     * issuer. Done automatically by the first {@link #submit()}; a no-op if already enabled.
     *
     * @throws IllegalStateException on a {@code SINGLE_ISSUER} ring from a virtual thread
     */
    public void enable() {
        ensureOpen();
        if (enabled) {
            return;
        }
        Thread t = Thread.currentThread();
        if (singleIssuer && t.isVirtual()) {
            throw new IllegalStateException("ring of policy '" + grant.policy() + "' is SINGLE_ISSUER: enable it from"
                    + " a platform thread (a virtual thread moves between kernel tasks), not " + t);
        }
        IoUringCalls.enableRings(ring.fd());
        issuer = t;
        enabled = true;
    }

    // ------------------------------------------------------------------ submission

    /**
     * Switches the library's policy check on (the default) or off. Off, a disallowed SQE goes to
     * the kernel, which completes it with {@code -EACCES}; or, for a batch, stops there.
     */
    public BrokeredRing checkPolicy(boolean on) {
        this.checkPolicy = on;
        return this;
    }

    /**
     * The reusable entry for the next SQE: call one operation method on it (which checks it
     * against the policy and claims the SQE), then any modifiers.
     *
     * @throws SubmissionQueueFullException (from the operation method) if no SQE is free
     */
    public SubmissionEntry prepare() {
        ensureOpen();
        entry.reset(checkPolicy ? allowed : null, requiredFlags);
        return entry;
    }

    /**
     * Submits every prepared SQE ({@code io_uring_enter}); enables the
     * ring first if that is left to the client.
     *
     * @return how many the kernel consumed (it stops at the first SQE it refuses)
     */
    public int submit() {
        return submitAndWait(0);
    }

    /** As {@link #submit()}, then waits until at least {@code minComplete} completions are ready. */
    public int submitAndWait(int minComplete) {
        ensureOpen();
        if (!enabled) {
            enable();
        } else if (singleIssuer && issuer != null && issuer != Thread.currentThread()) {
            throw wrongIssuer();
        }
        try {
            return minComplete == 0 ? ring.submit() : ring.submitAndWait(minComplete);
        } catch (KernelException e) {
            if (e.is(Errno.EEXIST) && singleIssuer) {
                throw wrongIssuer();
            }
            throw e;
        }
    }

    private IllegalStateException wrongIssuer() {
        Thread t = issuer;
        return new IllegalStateException("ring of policy '" + grant.policy() + "' is SINGLE_ISSUER and its issuer is "
                + (t == null ? "the daemon (it enabled the ring)" : "thread '" + t.getName() + "'")
                + "; thread '" + Thread.currentThread().getName() + "' (tid " + Tasks.gettid() + ") may not submit");
    }

    /** SQEs queued and not yet consumed by the kernel. */
    public int pending() {
        return ring.pending();
    }

    /** SQEs free for {@link #prepare()}. */
    public int sqSpace() {
        return ring.sqSpace();
    }

    // ------------------------------------------------------------------ completion

    /** Waits (without submitting) until at least {@code minComplete} completions are ready. */
    public void awaitCompletions(int minComplete) {
        ensureOpen();
        ring.awaitCompletions(minComplete);
    }

    /** Completions ready now. */
    public int ready() {
        return ring.cqReady();
    }

    /** Hands every ready completion to {@code handler}, as primitives, and frees them. */
    public int reap(CompletionHandler handler) {
        ensureOpen();
        return ring.reap(handler);
    }

    /** As {@link #reap(CompletionHandler)}, at most {@code max}. */
    public int reap(CompletionHandler handler, int max) {
        ensureOpen();
        return ring.reap(handler, max);
    }

    /** The ring's reusable completion cursor. */
    public CompletionCursor completions() {
        return cursor;
    }

    // ------------------------------------------------------------------ closing

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the ring of lease " + grant.lease() + " is closed");
        }
    }

    /** True once {@link #close()} ran. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Unmaps the ring and the buffers, closes the ring fd and the buffer memfds, and releases
     * the lease (if the connection is still open), waiting for the daemon's answer: then the
     * daemon's copy of the ring is closed too, and operations still in flight are being
     * cancelled. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        Throwable failure = null;
        try {
            ring.close();
        } catch (RuntimeException e) {
            failure = e;
        }
        try {
            if (bufferArena != null) {
                bufferArena.close();
            }
        } catch (RuntimeException e) {
            failure = failure == null ? e : failure;
        }
        for (int fd : bufferFds) {
            Descriptors.closeQuietly(fd);
        }
        if (client != null) {
            client.released(this);
        }
        if (failure instanceof RuntimeException r) {
            throw r;
        }
    }

    @Override
    public String toString() {
        return "BrokeredRing[policy=" + grant.policy() + ", lease=" + grant.lease() + ", fd=" + ring.fd() + ", sq="
                + ring.sqEntries() + (closed ? ", closed" : "") + "]";
    }
}
