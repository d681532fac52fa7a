package org.ringwarden.linux.seccomp;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;

import org.ringwarden.linux.Memory;
import org.ringwarden.linux.uring.EnterFlag;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringLayout;
import org.ringwarden.linux.uring.IoUringParams;

/**
 * The least a test needs to use a ring fd it did not create: map it from (fd, params), as a
 * client does with a grant, and run one SQE at a time. Single-threaded; the io_uring_enter
 * system call orders the plain stores and loads around it.
 */
final class MappedTestRing implements AutoCloseable {
    private final int fd;
    private final IoUringParams p;
    private final MemorySegment sq;
    private final MemorySegment cq;
    private final MemorySegment sqes;

    private MappedTestRing(int fd, IoUringParams p, MemorySegment sq, MemorySegment cq, MemorySegment sqes) {
        this.fd = fd;
        this.p = p;
        this.sq = sq;
        this.cq = cq;
        this.sqes = sqes;
    }

    static MappedTestRing map(int fd, IoUringParams p) {
        long sqSize = p.sqOff().array() + 4L * p.sqEntries();
        long cqSize = p.cqOff().cqes() + IoUringLayout.CQE_SIZE * p.cqEntries();
        MemorySegment sq;
        MemorySegment cq;
        if (p.singleMmap()) {
            sq = Memory.mapShared(fd, IoUringCalls.OFF_SQ_RING, Math.max(sqSize, cqSize));
            cq = sq;
        } else {
            sq = Memory.mapShared(fd, IoUringCalls.OFF_SQ_RING, sqSize);
            cq = Memory.mapShared(fd, IoUringCalls.OFF_CQ_RING, cqSize);
        }
        MemorySegment sqes = Memory.mapShared(fd, IoUringCalls.OFF_SQES, IoUringLayout.SQE_SIZE * p.sqEntries());
        return new MappedTestRing(fd, p, sq, cq, sqes);
    }

    /** Submits one SQE, waits for its completion, returns {@code cqe.res}. */
    int run(int opcode, int targetFd, long addr, int len, long offset) {
        int tail = sq.get(JAVA_INT, p.sqOff().tail());
        int idx = tail & sq.get(JAVA_INT, p.sqOff().ringMask());
        MemorySegment sqe = sqes.asSlice(idx * IoUringLayout.SQE_SIZE, IoUringLayout.SQE_SIZE);
        sqe.fill((byte) 0);
        sqe.set(JAVA_BYTE, IoUringLayout.SQE_OPCODE, (byte) opcode);
        sqe.set(JAVA_INT, IoUringLayout.SQE_FD, targetFd);
        sqe.set(JAVA_LONG, IoUringLayout.SQE_OFF, offset);
        sqe.set(JAVA_LONG, IoUringLayout.SQE_ADDR, addr);
        sqe.set(JAVA_INT, IoUringLayout.SQE_LEN, len);
        sqe.set(JAVA_LONG, IoUringLayout.SQE_USER_DATA, 0x5EC0L + tail);
        sq.set(JAVA_INT, p.sqOff().array() + 4L * idx, idx);
        sq.set(JAVA_INT, p.sqOff().tail(), tail + 1);
        IoUringCalls.enter(fd, 1, 1, (int) EnterFlag.GETEVENTS.abi());
        int head = cq.get(JAVA_INT, p.cqOff().head());
        if (head == cq.get(JAVA_INT, p.cqOff().tail())) {
            throw new AssertionError("io_uring_enter(GETEVENTS, min 1) returned without a completion");
        }
        long at = p.cqOff().cqes() + (head & cq.get(JAVA_INT, p.cqOff().ringMask())) * IoUringLayout.CQE_SIZE;
        if (cq.get(JAVA_LONG, at + IoUringLayout.CQE_USER_DATA) != 0x5EC0L + tail) {
            throw new AssertionError("completion for another submission");
        }
        int res = cq.get(JAVA_INT, at + IoUringLayout.CQE_RES);
        cq.set(JAVA_INT, p.cqOff().head(), head + 1);
        return res;
    }

    @Override
    public void close() {
        Memory.unmap(sqes);
        if (cq != sq) {
            Memory.unmap(cq);
        }
        Memory.unmap(sq);
    }
}
