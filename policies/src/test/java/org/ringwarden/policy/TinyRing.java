package org.ringwarden.policy;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.uring.EnterFlag;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringLayout;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.IoUringParams;
import org.ringwarden.linux.uring.SetupFlag;

/**
 * Just enough of a ring to submit one SQE and read its completion, for proving on the kernel
 * what compiled restrictions do. Not the product's ring (that is the client module's).
 */
final class TinyRing implements AutoCloseable {
    final int fd;
    final IoUringParams params;
    private final MemorySegment rings;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;

    /** A ring made as the daemon makes it for {@code spec}: disabled, CQSIZE, the policy's flags. */
    TinyRing(RingSpec spec) {
        IoUringCalls.CreatedRing r = IoUringCalls.create(spec.sqEntries(), spec.cqEntries(),
                spec.creationFlags() & ~SetupFlag.CQSIZE.abi());
        this.fd = r.fd();
        this.params = r.params();
        MemorySegment ringMap = null;
        MemorySegment cqMap = null;
        try {
            long sqSize = params.sqOff().array() + 4L * params.sqEntries();
            long cqSize = params.cqOff().cqes() + IoUringLayout.CQE_SIZE * params.cqEntries();
            if (params.singleMmap()) {
                ringMap = Memory.mapShared(fd, IoUringCalls.OFF_SQ_RING, Math.max(sqSize, cqSize));
                cqMap = ringMap;
            } else {
                ringMap = Memory.mapShared(fd, IoUringCalls.OFF_SQ_RING, sqSize);
                cqMap = Memory.mapShared(fd, IoUringCalls.OFF_CQ_RING, cqSize);
            }
            this.sqes = Memory.mapShared(fd, IoUringCalls.OFF_SQES, IoUringLayout.SQE_SIZE * params.sqEntries());
        } catch (RuntimeException e) {
            if (cqMap != null && cqMap != ringMap) {
                Memory.unmap(cqMap);
            }
            if (ringMap != null) {
                Memory.unmap(ringMap);
            }
            Descriptors.closeQuietly(fd);
            throw e;
        }
        this.rings = ringMap;
        this.cqRing = cqMap;
    }

    /** Submits one SQE ({@code fd} -1 or a fixed index) and returns its completion's {@code res}. */
    int submitAndWait(IoUringOp op, int sqeFlags, int sqeFd) {
        int tail = rings.get(JAVA_INT, params.sqOff().tail());
        int mask = rings.get(JAVA_INT, params.sqOff().ringMask());
        int index = tail & mask;
        MemorySegment sqe = sqes.asSlice(index * IoUringLayout.SQE_SIZE, IoUringLayout.SQE_SIZE);
        sqe.fill((byte) 0);
        sqe.set(JAVA_BYTE, IoUringLayout.SQE_OPCODE, (byte) op.number());
        sqe.set(JAVA_BYTE, IoUringLayout.SQE_FLAGS, (byte) sqeFlags);
        sqe.set(JAVA_INT, IoUringLayout.SQE_FD, sqeFd);
        sqe.set(JAVA_LONG, IoUringLayout.SQE_USER_DATA, 0x5151L);
        rings.set(JAVA_INT, params.sqOff().array() + 4L * index, index);
        rings.set(JAVA_INT, params.sqOff().tail(), tail + 1); // io_uring_enter is the barrier
        IoUringCalls.enter(fd, 1, 1, (int) EnterFlag.GETEVENTS.abi());
        int head = cqRing.get(JAVA_INT, params.cqOff().head());
        int cqMask = cqRing.get(JAVA_INT, params.cqOff().ringMask());
        long cqe = params.cqOff().cqes() + (long) (head & cqMask) * IoUringLayout.CQE_SIZE;
        if (cqRing.get(JAVA_LONG, cqe + IoUringLayout.CQE_USER_DATA) != 0x5151L) {
            throw new IllegalStateException("unexpected completion");
        }
        int res = cqRing.get(JAVA_INT, cqe + IoUringLayout.CQE_RES);
        cqRing.set(JAVA_INT, params.cqOff().head(), head + 1);
        return res;
    }

    @Override
    public void close() {
        Memory.unmap(sqes);
        if (cqRing != rings) {
            Memory.unmap(cqRing);
        }
        Memory.unmap(rings);
        Descriptors.close(fd);
    }
}
