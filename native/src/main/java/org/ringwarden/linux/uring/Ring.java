package org.ringwarden.linux.uring;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.Syscall;

/**
 * An io_uring instance mapped into this process: the SQ ring, the CQ ring and the SQE array
 * of a ring fd, with submission and reaping in the manner of liburing.
 *
 * <p>A Ring is built from a ring fd and the {@link IoUringParams} its creator got back from
 * {@code io_uring_setup}, and nothing else, so it works on a ring this process did not create
 * (a client's ring, created and restricted by the broker). It fills the SQ index array with
 * the identity itself when it maps the ring, since the creator may not have (Debian 12's
 * liburing does not), and then never touches it again.
 *
 * <pre>{@code
 * try (Ring ring = Ring.create(64, 0)) {
 *     long sqe = ring.nextSqe();
 *     Sqe.prepNop(ring.sqes(), sqe);
 *     Sqe.setUserData(ring.sqes(), sqe, 7L);
 *     ring.submitAndWait(1);
 *     ring.reap((userData, res, flags) -> System.out.println(userData + " -> " + res));
 * }
 * }</pre>
 *
 * <h2>Memory ordering</h2>
 * The kernel is the only writer of the SQ head and the CQ tail, this Ring the only writer of
 * the SQ tail and the CQ head. Loads of the kernel's indices are acquire loads (what the
 * kernel wrote before publishing an index is visible); stores of ours are release stores
 * (SQEs are written before the tail that publishes them; a CQE is read before the head that
 * frees its slot). Indices are free-running 32-bit counters; slots are {@code index & mask}.
 *
 * <h2>Submission that stops early</h2>
 * Without {@code IORING_SETUP_SUBMIT_ALL} the kernel stops a batch at the first SQE it
 * refuses (for instance one a restriction forbids: it completes with {@code -EACCES}), and
 * {@code io_uring_enter} reports fewer submitted. The rest stay in the SQ ring, between the
 * kernel's head and the published tail; this Ring never hands their slots out again until the
 * kernel has consumed them, counts them in {@link #pending()}, and submits them with the next
 * {@link #submit()}. Nothing is lost and nothing is submitted twice.
 *
 * <h2>When completions appear</h2>
 * Most operations post their completion by themselves; a NOP does so before {@code submit()}
 * returns. Two cases need this task to enter the kernel: completions the kernel kept in its
 * overflow list because the CQ was full ({@link #SQ_CQ_OVERFLOW}; {@link #reap} and
 * {@link #submit()} flush them), and on a {@code DEFER_TASKRUN} ring every completion of
 * deferred work, which is posted only when the issuer waits ({@link #submitAndWait},
 * {@link #awaitCompletions}) or calls {@link #flush()} (the kernel raises {@link #SQ_TASKRUN}
 * for it only with {@code TASKRUN_FLAG}).
 *
 * <h2>Threads</h2>
 * Not thread-safe, like liburing's {@code struct io_uring}: one thread at a time prepares,
 * submits and reaps (hand-over between threads needs a happens-before edge, as any object
 * does). On a {@code SINGLE_ISSUER} ring it must be the issuer task. One exception, because it
 * is the usual way to stop a thread that waits: {@link #close()} may be called from another
 * thread while one waits in {@link #submitAndWait} or {@link #awaitCompletions}. The mappings
 * and the fd then stay until that wait returns, and the waiter gets
 * {@link IllegalStateException} instead of reading unmapped memory (a wait only returns when a
 * completion arrives: closing does not wake it).
 *
 * <h2>Ownership</h2>
 * A Ring owns the fd it was given once {@link #map} returns: {@link #close()} unmaps the
 * rings and closes the fd. If {@code map} fails, the fd stays the caller's. A use after
 * {@code close()} throws {@link IllegalStateException}. {@link #close()} unmaps the rings
 * there and then ({@code munmap}, as liburing's {@code io_uring_queue_exit} and Netty's io_uring
 * transport do): the segments {@link #sqes()} and {@link #cqes()} return are views of those
 * mappings, valid until {@code close()}, like liburing's {@code sq.sqes} pointer. A caller that
 * keeps one checks that the Ring is open before each use (the client library's
 * {@code SubmissionEntry} and {@code CompletionCursor} do). The mappings are not in a shared
 * arena on purpose: closing one is a handshake with every thread of the JVM, which cost a
 * client about 100 µs per ring closed (bench/README.md, "Acquire cost").
 *
 * <p>Not supported (refused by {@link #map}): {@code SQPOLL} (forbidden in ringwarden: the
 * poller runs SQEs with its creator's credentials), {@code SQE128}, {@code CQE32},
 * {@code CQE_MIXED} and {@code NO_MMAP}.
 */
public final class Ring implements AutoCloseable {
    private static final VarHandle INT = JAVA_INT.varHandle();

    /**
     * {@code syscall(2)} without errno capture, for {@code io_uring_enter} on the hot path. The
     * capturing handle ({@link Syscall#raw}) slices its capture segment on every call, an
     * allocation that only escape analysis removes, and not always (observed: 40 bytes per
     * call once the call site's profile was shaped by other callers). Failures go through
     * {@link #enterSyscall}'s slow path.
     */
    private static final MethodHandle ENTER_NO_ERRNO;

    static {
        Linker linker = Linker.nativeLinker();
        ValueLayout l = ValueLayout.JAVA_LONG;
        ENTER_NO_ERRNO = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(l, l, l, l, l, l, l, l), Linker.Option.firstVariadicArg(1));
    }

    /** {@code IORING_SQ_CQ_OVERFLOW}: completions wait in the kernel's overflow list. */
    public static final int SQ_CQ_OVERFLOW = 1 << 1;
    /** {@code IORING_SQ_TASKRUN}: task work waits for this task to enter the kernel. */
    public static final int SQ_TASKRUN = 1 << 2;
    private static final int NEEDS_FLUSH = SQ_CQ_OVERFLOW | SQ_TASKRUN;

    private static final int ENTER_GETEVENTS = (int) EnterFlag.GETEVENTS.abi();
    private static final int EINTR = Errno.EINTR.number();
    private static final int SQE_SHIFT = 6;
    private static final int CQE_SHIFT = 4;

    private static final int UNSUPPORTED = (int) (SetupFlag.SQPOLL.abi() | SetupFlag.SQE128.abi()
            | SetupFlag.CQE32.abi() | SetupFlag.CQE_MIXED.abi() | SetupFlag.NO_MMAP.abi());

    private final int fd;
    private final IoUringParams params;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final MemorySegment cqes;

    private final long sqHead;
    private final long sqTail;
    private final long sqFlags;
    private final long sqDropped;
    private final long cqHead;
    private final long cqTail;
    private final long cqOverflow;
    private final int sqMask;
    private final int sqEntries;
    private final int cqMask;

    /** The next SQ index to hand out; SQEs below it are prepared (and maybe published). */
    private int sqeTail;
    /** The SQ tail last stored to the ring. */
    private int publishedTail;
    /** The kernel's SQ head at the last look: a lower bound of the real one. */
    private int knownSqHead;
    /** Our CQ head: the next CQE to read; stored to the ring after reading. */
    private int cqHeadLocal;
    /** close() ran: a plain copy of {@link #CLOSED} in {@link #waiters}, for the checks on the hot path. */
    private boolean closed;
    /**
     * Threads inside {@link #submitAndWait} or {@link #awaitCompletions}, plus {@link #CLOSED}
     * once {@link #close()} ran: the last of them out after a close unmaps and closes the fd.
     */
    private final AtomicInteger waiters = new AtomicInteger();
    private static final int CLOSED = Integer.MIN_VALUE;

    private Ring(int fd, IoUringParams params, MemorySegment sqRing, MemorySegment cqRing, MemorySegment sqes) {
        this.fd = fd;
        this.params = params;
        this.sqRing = sqRing;
        this.cqRing = cqRing;
        this.sqes = sqes;
        IoUringParams.SqOffsets so = params.sqOff();
        IoUringParams.CqOffsets co = params.cqOff();
        this.sqHead = so.head();
        this.sqTail = so.tail();
        this.sqFlags = so.flags();
        this.sqDropped = so.dropped();
        this.cqHead = co.head();
        this.cqTail = co.tail();
        this.cqOverflow = co.overflow();
        // The ring memory is the truth; params that disagree with it belong to another ring.
        this.sqMask = sqRing.get(JAVA_INT, so.ringMask());
        this.sqEntries = sqRing.get(JAVA_INT, so.ringEntries());
        this.cqMask = cqRing.get(JAVA_INT, co.ringMask());
        int cqEntries = cqRing.get(JAVA_INT, co.ringEntries());
        if (sqEntries != params.sqEntries() || cqEntries != params.cqEntries()
                || sqMask != sqEntries - 1 || cqMask != cqEntries - 1) {
            throw new IllegalArgumentException("ring fd " + fd + " does not match its parameters: sq "
                    + sqEntries + "/" + params.sqEntries() + " mask " + sqMask + ", cq " + cqEntries + "/"
                    + params.cqEntries() + " mask " + cqMask);
        }
        this.cqes = cqRing.asSlice(co.cqes(), (long) cqEntries << CQE_SHIFT);
        // A ring received from elsewhere may already have been used: continue where it stands.
        this.sqeTail = (int) INT.getAcquire(sqRing, sqTail);
        this.publishedTail = sqeTail;
        this.knownSqHead = (int) INT.getAcquire(sqRing, sqHead);
        this.cqHeadLocal = (int) INT.getAcquire(cqRing, cqHead);
        if (!params.has(SetupFlag.NO_SQARRAY)) {
            long array = so.array();
            for (int i = 0; i < sqEntries; i++) {
                sqRing.set(JAVA_INT, array + 4L * i, i);
            }
        }
    }

    /**
     * Maps the ring {@code fd} described by {@code params} (what {@code io_uring_setup} returned
     * to whoever created it). On success the Ring owns {@code fd}; on failure it is left open
     * and every mapping made so far is undone.
     *
     * @throws IllegalArgumentException if the ring uses a setup flag this class does not support,
     *                                  or the mapped ring does not match {@code params}
     * @throws KernelException          if a mapping fails
     */
    public static Ring map(int fd, IoUringParams params) {
        Objects.requireNonNull(params, "params");
        if ((params.setupFlags() & UNSUPPORTED) != 0) {
            throw new IllegalArgumentException("unsupported io_uring setup flags 0x"
                    + Integer.toHexString(params.setupFlags() & UNSUPPORTED)
                    + " (SQPOLL, SQE128, CQE32, CQE_MIXED, NO_MMAP) on ring fd " + fd);
        }
        if (Integer.bitCount(params.sqEntries()) != 1 || Integer.bitCount(params.cqEntries()) != 1) {
            throw new IllegalArgumentException("ring sizes must be powers of two: sq " + params.sqEntries()
                    + ", cq " + params.cqEntries());
        }
        IoUringParams.SqOffsets so = params.sqOff();
        long sqSize = params.has(SetupFlag.NO_SQARRAY)
                ? 4L + Math.max(Math.max(Math.max(so.head(), so.tail()), Math.max(so.ringMask(), so.ringEntries())),
                        Math.max(so.flags(), so.dropped()))
                : so.array() + 4L * params.sqEntries();
        long cqSize = params.cqOff().cqes() + ((long) params.cqEntries() << CQE_SHIFT);
        // Each mapping is unmapped by close(), or here if a later step fails.
        MemorySegment[] mapped = new MemorySegment[3];
        try {
            MemorySegment sqRing = mapped[0] = Memory.mapShared(fd, IoUringCalls.OFF_SQ_RING,
                    params.singleMmap() ? Math.max(sqSize, cqSize) : sqSize);
            MemorySegment cqRing = params.singleMmap() ? sqRing
                    : (mapped[1] = Memory.mapShared(fd, IoUringCalls.OFF_CQ_RING, cqSize));
            MemorySegment sqes = mapped[2] = Memory.mapShared(fd, IoUringCalls.OFF_SQES,
                    (long) params.sqEntries() << SQE_SHIFT);
            return new Ring(fd, params, sqRing, cqRing, sqes);
        } catch (RuntimeException | Error e) {
            for (MemorySegment m : mapped) {
                if (m != null) {
                    Memory.unmap(m);
                }
            }
            throw e;
        }
    }

    /**
     * Creates a ring ({@link IoUringCalls#create}) and maps it; the Ring owns the new fd.
     *
     * @param entries SQ entries (the CQ gets twice as many)
     * @param flags   {@code IORING_SETUP_*} flags
     */
    public static Ring create(int entries, long flags) {
        IoUringCalls.CreatedRing created = IoUringCalls.create(entries, 0, flags);
        try {
            return map(created.fd(), created.params());
        } catch (RuntimeException | Error e) {
            Descriptors.closeQuietly(created.fd());
            throw e;
        }
    }

    /** The ring fd (owned by this Ring). */
    public int fd() {
        return fd;
    }

    /** The parameters this Ring was mapped with. */
    public IoUringParams params() {
        return params;
    }

    /** The SQE array: {@link #nextSqe()} returns offsets into it, {@link Sqe} writes at them. */
    public MemorySegment sqes() {
        ensureOpen();
        return sqes;
    }

    /** The CQE array: {@link #peekCqe()} returns offsets into it, {@link Cqe} reads at them. */
    public MemorySegment cqes() {
        ensureOpen();
        return cqes;
    }

    // ---------------------------------------------------------------- submission

    /**
     * Claims the next free SQE and returns its byte offset in {@link #sqes()}, or -1 if the SQ
     * is full (every slot prepared, or published and not yet consumed by the kernel). The SQE
     * holds whatever its last use left: prepare it with a {@link Sqe} {@code prep*} method.
     */
    public long nextSqe() {
        ensureOpen();
        int tail = sqeTail;
        if (tail - knownSqHead >= sqEntries) {
            knownSqHead = (int) INT.getAcquire(sqRing, sqHead);
            if (tail - knownSqHead >= sqEntries) {
                return -1;
            }
        }
        sqeTail = tail + 1;
        return (long) (tail & sqMask) << SQE_SHIFT;
    }

    /**
     * Gives back the SQE the last {@link #nextSqe()} handed out, if it is not published yet: for
     * a caller that abandons a preparation half-way (the ringwarden client refusing a flag its
     * policy forbids), so that the slot's half-written contents are never submitted.
     *
     * @return false if there was nothing unpublished to give back
     */
    public boolean unclaimLast() {
        ensureOpen();
        if (sqeTail == publishedTail) {
            return false;
        }
        sqeTail--;
        return true;
    }

    /** The SQEs that {@link #nextSqe()} can still hand out. */
    public int sqSpace() {
        ensureOpen();
        knownSqHead = (int) INT.getAcquire(sqRing, sqHead);
        return sqEntries - (sqeTail - knownSqHead);
    }

    /**
     * SQEs prepared or published but not yet consumed by the kernel: what the next
     * {@link #submit()} offers it (after a batch that stopped early, the rest of the batch).
     */
    public int pending() {
        ensureOpen();
        knownSqHead = (int) INT.getAcquire(sqRing, sqHead);
        return sqeTail - knownSqHead;
    }

    /**
     * Publishes the prepared SQEs and submits every pending one with {@code io_uring_enter}
     * (also flushing overflowed completions and pending task work if the kernel asks for it).
     * Retries on {@code EINTR}. Allocates nothing unless it fails.
     *
     * @return the number the kernel consumed; fewer than {@link #pending()} was before the
     *         call if it stopped at a refused SQE (the rest stay pending)
     * @throws KernelException if {@code io_uring_enter} fails ({@code EBADFD} on a disabled
     *                         ring, {@code EEXIST} from a task that is not the single issuer...)
     */
    public int submit() {
        ensureOpen();
        return enter(0, 0);
    }

    /**
     * As {@link #submit()}, then waits until at least {@code minComplete} completions are
     * ready to reap. If the kernel stopped the batch early it returns without waiting (the
     * kernel's rule); call it again to submit the rest and wait.
     */
    public int submitAndWait(int minComplete) {
        ensureOpen();
        startWait();
        try {
            return enter(minComplete, ENTER_GETEVENTS);
        } finally {
            endWait();
        }
    }

    /** Counts this thread in as a waiter, unless the ring is closed. */
    private void startWait() {
        int w;
        do {
            w = waiters.get();
            if (w < 0) {
                throw closedException();
            }
        } while (!waiters.compareAndSet(w, w + 1));
    }

    /**
     * Counts this thread out; the last waiter out of a ring closed meanwhile lets it go, and
     * the call that waited fails instead of returning what it would have read.
     */
    private void endWait() {
        int w = waiters.decrementAndGet();
        if (w == CLOSED) {
            release();
        }
        if (w < 0) {
            throw new IllegalStateException("ring fd " + fd + " was closed by another thread during the wait");
        }
    }

    private int enter(int minComplete, int flags) {
        int tail = sqeTail;
        if (tail != publishedTail) {
            INT.setRelease(sqRing, sqTail, tail);
            publishedTail = tail;
        }
        int head = (int) INT.getAcquire(sqRing, sqHead);
        knownSqHead = head;
        int toSubmit = tail - head;
        int enterFlags = flags;
        if (((int) INT.getAcquire(sqRing, sqFlags) & NEEDS_FLUSH) != 0) {
            enterFlags |= ENTER_GETEVENTS;
        }
        if (toSubmit == 0 && enterFlags == 0) {
            return 0;
        }
        long r;
        while ((r = enterSyscall(toSubmit, minComplete, enterFlags)) == -EINTR) {
            // Interrupted before anything was submitted (the kernel reports a count otherwise).
            toSubmit = tail - (int) INT.getAcquire(sqRing, sqHead);
        }
        if (r < 0) {
            throw new KernelException("io_uring_enter", (int) -r);
        }
        return (int) r;
    }

    /**
     * {@code io_uring_enter(fd, toSubmit, minComplete, flags, NULL, 0)}: the result, or
     * {@code -errno}. Allocates nothing unless the call fails.
     */
    private long enterSyscall(int toSubmit, int minComplete, int flags) {
        long r;
        try {
            r = (long) ENTER_NO_ERRNO.invokeExact(Syscall.SYS_IO_URING_ENTER, (long) fd, (long) toSubmit,
                    (long) minComplete, (long) flags, 0L, 0L);
        } catch (Throwable t) {
            throw new AssertionError("io_uring_enter downcall failed", t);
        }
        if (r >= 0) {
            return r;
        }
        // Without capture, errno may be gone by now. A failed io_uring_enter consumed no SQE
        // (once the kernel consumes any it returns their count, and a failed wait after a
        // successful submission reports the count too), so repeating the call through the
        // capturing handle is safe: it either fails again and says why, or (EINTR, EAGAIN
        // that passed) does the work, which is what the caller's retry would do.
        return Syscall.raw(Syscall.threadCaptureState(), Syscall.SYS_IO_URING_ENTER, fd, toSubmit, minComplete, flags, 0, 0);
    }

    /**
     * Waits until at least {@code minComplete} completions are ready, without submitting.
     * Retries on {@code EINTR}.
     */
    public void awaitCompletions(int minComplete) {
        ensureOpen();
        startWait();
        try {
            while (cqReady() < minComplete && waiters.get() >= 0) {
                long r = enterSyscall(0, minComplete, ENTER_GETEVENTS);
                if (r < 0 && r != -EINTR) {
                    throw new KernelException("io_uring_enter", (int) -r);
                }
            }
        } finally {
            endWait();
        }
    }

    // ---------------------------------------------------------------- completion

    /** Completions ready to reap in the CQ ring (not counting any in the kernel's overflow list). */
    public int cqReady() {
        ensureOpen();
        return (int) INT.getAcquire(cqRing, cqTail) - cqHeadLocal;
    }

    /**
     * Hands every ready completion to {@code handler}, in order, and frees their slots. When
     * the CQ is empty or has overflowed, and the kernel flags completions in its overflow list
     * or pending task work, it enters the kernel once per round to flush them, so overflowed
     * completions are delivered too. If the handler throws, the completions before it and the
     * one it threw on count as reaped.
     *
     * @return the number of completions handled
     */
    public int reap(CompletionHandler handler) {
        return reap(handler, Integer.MAX_VALUE);
    }

    /** As {@link #reap(CompletionHandler)}, handling at most {@code max} completions. */
    public int reap(CompletionHandler handler, int max) {
        ensureOpen();
        int n = 0;
        boolean flushed = false;
        while (n < max) {
            int head = cqHeadLocal;
            int tail = (int) INT.getAcquire(cqRing, cqTail);
            if (head == tail) {
                // One flush per empty look: a flag that stays set with nothing to deliver must not spin.
                if (flushed || !needsFlush()) {
                    break;
                }
                flush();
                flushed = true;
                continue;
            }
            flushed = false;
            try {
                while (head != tail && n < max) {
                    long cqe = (long) (head & cqMask) << CQE_SHIFT;
                    long userData = cqes.get(JAVA_LONG_UNALIGNED, cqe);
                    int res = cqes.get(JAVA_INT_UNALIGNED, cqe + 8);
                    int flags = cqes.get(JAVA_INT_UNALIGNED, cqe + 12);
                    head++;
                    n++;
                    handler.complete(userData, res, flags);
                }
            } finally {
                cqHeadLocal = head;
                INT.setRelease(cqRing, cqHead, head);
            }
        }
        return n;
    }

    /**
     * The offset in {@link #cqes()} of the next ready completion, or -1 if none is ready; does
     * not free it (see {@link #advanceCq}) and does not flush the overflow list.
     */
    public long peekCqe() {
        ensureOpen();
        int head = cqHeadLocal;
        if ((int) INT.getAcquire(cqRing, cqTail) == head) {
            return -1;
        }
        return (long) (head & cqMask) << CQE_SHIFT;
    }

    /** Frees the next {@code n} completions (after {@link #peekCqe()} and reading them). */
    public void advanceCq(int n) {
        ensureOpen();
        if (n < 0 || n > cqReady()) {
            throw new IllegalArgumentException("cannot advance the CQ by " + n + " with " + cqReady() + " ready");
        }
        cqHeadLocal += n;
        INT.setRelease(cqRing, cqHead, cqHeadLocal);
    }

    /** True if the kernel holds completions in its overflow list or task work for this task. */
    public boolean needsFlush() {
        ensureOpen();
        return ((int) INT.getAcquire(sqRing, sqFlags) & NEEDS_FLUSH) != 0;
    }

    /** Enters the kernel with {@code GETEVENTS} and nothing to submit: moves overflowed completions into the CQ and runs task work. */
    public void flush() {
        ensureOpen();
        long r;
        do {
            r = enterSyscall(0, 0, ENTER_GETEVENTS);
        } while (r == -EINTR);
        if (r < 0) {
            throw new KernelException("io_uring_enter", (int) -r);
        }
    }

    /** The SQ ring's flags word ({@link #SQ_CQ_OVERFLOW}, {@link #SQ_TASKRUN}, {@code IORING_SQ_NEED_WAKEUP}). */
    public int sqFlags() {
        ensureOpen();
        return (int) INT.getAcquire(sqRing, sqFlags);
    }

    /** The kernel's count of completions it dropped because the CQ was full (0 with {@code IORING_FEAT_NODROP} unless it ran out of memory). */
    public int cqOverflowCount() {
        ensureOpen();
        return (int) INT.getAcquire(cqRing, cqOverflow);
    }

    /** The kernel's count of SQEs it skipped because their index was invalid. */
    public int sqDroppedCount() {
        ensureOpen();
        return (int) INT.getAcquire(sqRing, sqDropped);
    }

    /** SQ entries. */
    public int sqEntries() {
        return sqEntries;
    }

    /** CQ entries. */
    public int cqEntries() {
        return cqMask + 1;
    }

    /**
     * Unmaps the rings and closes the fd; idempotent. Every method of this Ring throws
     * {@link IllegalStateException} afterwards; a segment obtained earlier must not be used
     * (see the class comment).
     */
    @Override
    public void close() {
        int w;
        do {
            w = waiters.get();
            if (w < 0) {
                return;
            }
        } while (!waiters.compareAndSet(w, w | CLOSED));
        closed = true;
        if (w == 0) {
            release(); // otherwise the last waiter does (endWait)
        }
    }

    /** Unmaps the rings and closes the fd: once, by close() or by the last waiter after it. */
    private void release() {
        try {
            Memory.unmap(sqes);
            Memory.unmap(sqRing);
            if (!params.singleMmap()) {
                Memory.unmap(cqRing);
            }
        } finally {
            Descriptors.close(fd);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw closedException();
        }
    }

    private IllegalStateException closedException() {
        return new IllegalStateException("ring fd " + fd + " is closed");
    }

    @Override
    public String toString() {
        return "Ring[fd=" + fd + ", sq=" + sqEntries + ", cq=" + (cqMask + 1) + ", flags=0x"
                + Integer.toHexString(params.setupFlags()) + "]";
    }
}
