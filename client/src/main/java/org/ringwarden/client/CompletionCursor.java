package org.ringwarden.client;

import java.lang.foreign.MemorySegment;

import org.ringwarden.linux.uring.Cqe;
import org.ringwarden.linux.uring.Ring;

/**
 * Reads completions in place without allocating: one cursor per ring, reused.
 *
 * <pre>{@code
 * CompletionCursor c = ring.completions();
 * while (c.next()) {
 *     handle(c.userData(), c.result());
 * }                       // every completion seen is freed for the kernel
 * }</pre>
 *
 * {@link #next()} frees the completion it moves past, so the kernel may reuse its slot; read
 * the current one before calling it again. Same threading rules as the ring.
 */
public final class CompletionCursor {
    private final BrokeredRing owner;
    private final Ring ring;
    private final MemorySegment cqes;
    private long current = -1;

    CompletionCursor(BrokeredRing owner, Ring ring) {
        this.owner = owner;
        this.ring = ring;
        this.cqes = ring.cqes();
    }

    /**
     * Moves to the next ready completion, freeing the current one; false if none is ready (then
     * nothing is held). Does not wait: see {@link BrokeredRing#awaitCompletions(int)}.
     */
    public boolean next() {
        owner.ensureOpen();
        if (current >= 0) {
            ring.advanceCq(1);
            current = -1;
        }
        long cqe = ring.peekCqe();
        if (cqe < 0 && ring.needsFlush()) {
            ring.flush(); // completions parked in the kernel's overflow list, or task work
            cqe = ring.peekCqe();
        }
        current = cqe;
        return cqe >= 0;
    }

    /** The current completion's {@code user_data}. */
    public long userData() {
        return Cqe.userData(cqes, checkCurrent());
    }

    /** The current completion's result: what the operation's system call returns, or {@code -errno}. */
    public int result() {
        return Cqe.res(cqes, checkCurrent());
    }

    /** The current completion's {@code IORING_CQE_F_*} flags. */
    public int flags() {
        return Cqe.flags(cqes, checkCurrent());
    }

    /** Frees the current completion without moving on (e.g. before leaving a loop early). */
    public void release() {
        if (current >= 0) {
            ring.advanceCq(1);
            current = -1;
        }
    }

    private long checkCurrent() {
        owner.ensureOpen(); // the CQ is unmapped when the ring closes (Ring, "Ownership")
        if (current < 0) {
            throw new IllegalStateException("no current completion: call next() and check that it returned true");
        }
        return current;
    }
}
