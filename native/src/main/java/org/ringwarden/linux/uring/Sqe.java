package org.ringwarden.linux.uring;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;

/**
 * Preparation of one {@code struct io_uring_sqe} in place, as liburing's {@code io_uring_prep_*}
 * helpers do, without allocating: every method takes the SQE array ({@link Ring#sqes()}) and
 * the byte offset {@link Ring#nextSqe()} returned.
 *
 * <p>Every {@code prep*} method writes all 64 bytes (opcode, operands, and zero for flags,
 * ioprio, user data, buffer index, personality, file index, addr3), so a reused slot carries
 * nothing over from its last use. Set flags and user data <em>after</em> preparing:
 * <pre>{@code
 * long sqe = ring.nextSqe();
 * Sqe.prepReadFixed(ring.sqes(), sqe, 0, buf.address(), 4096, 0L, 0);
 * Sqe.setFlags(ring.sqes(), sqe, SqeFlag.FIXED_FILE);
 * Sqe.setUserData(ring.sqes(), sqe, 42L);
 * }</pre>
 *
 * <p>Plain accesses with the unaligned layouts: the SQE array is page-aligned, so they are
 * ordinary aligned moves, and the JIT emits no alignment check for them. Ordering with the
 * kernel comes from the release store of the SQ tail in {@link Ring#submit()}.
 */
public final class Sqe {
    private static final long OPCODE = IoUringLayout.SQE_OPCODE;
    private static final long FLAGS = IoUringLayout.SQE_FLAGS;
    private static final long IOPRIO = IoUringLayout.SQE_IOPRIO;
    private static final long FD = IoUringLayout.SQE_FD;
    private static final long OFF = IoUringLayout.SQE_OFF;
    private static final long ADDR = IoUringLayout.SQE_ADDR;
    private static final long LEN = IoUringLayout.SQE_LEN;
    private static final long OP_FLAGS = IoUringLayout.SQE_RW_FLAGS;
    private static final long USER_DATA = IoUringLayout.SQE_USER_DATA;
    private static final long BUF_INDEX = IoUringLayout.SQE_BUF_INDEX;
    private static final long FILE_INDEX = IoUringLayout.SQE_FILE_INDEX;
    private static final long ADDR3 = IoUringLayout.SQE_ADDR3;
    private static final long PAD2 = ADDR3 + 8;

    /** {@code IORING_TIMEOUT_ABS}: {@link #prepTimeout}'s timespec is absolute. */
    public static final int TIMEOUT_ABS = 1;
    /** {@code IORING_FSYNC_DATASYNC}. */
    public static final int FSYNC_DATASYNC = 1;
    /** {@code IORING_ASYNC_CANCEL_ALL}. */
    public static final int ASYNC_CANCEL_ALL = 1;

    private Sqe() {
    }

    /**
     * The common preparation ({@code io_uring_prep_rw}): {@code opcode}, {@code fd},
     * {@code addr}, {@code len}, {@code offset}; every other field zero.
     */
    public static void prepRw(MemorySegment sqes, long sqe, int opcode, int fd, long addr, int len, long offset) {
        // 64 bytes as 8 longs, in address order, so the JIT can merge the bound checks.
        sqes.set(JAVA_LONG_UNALIGNED, sqe, (opcode & 0xffL) | ((long) fd << 32));
        sqes.set(JAVA_LONG_UNALIGNED, sqe + OFF, offset);
        sqes.set(JAVA_LONG_UNALIGNED, sqe + ADDR, addr);
        sqes.set(JAVA_LONG_UNALIGNED, sqe + LEN, len & 0xffffffffL); // len, op flags = 0
        sqes.set(JAVA_LONG_UNALIGNED, sqe + USER_DATA, 0L);
        sqes.set(JAVA_LONG_UNALIGNED, sqe + BUF_INDEX, 0L); // buf_index, personality, file_index
        sqes.set(JAVA_LONG_UNALIGNED, sqe + ADDR3, 0L);
        sqes.set(JAVA_LONG_UNALIGNED, sqe + PAD2, 0L);
    }

    /** {@code IORING_OP_NOP}. */
    public static void prepNop(MemorySegment sqes, long sqe) {
        prepRw(sqes, sqe, IoUringOp.NOP.number(), -1, 0L, 0, 0L);
    }

    /** {@code IORING_OP_READ}: {@code len} bytes at file {@code offset} (-1: the file position) into {@code buf}. */
    public static void prepRead(MemorySegment sqes, long sqe, int fd, long buf, int len, long offset) {
        prepRw(sqes, sqe, IoUringOp.READ.number(), fd, buf, len, offset);
    }

    /** {@code IORING_OP_WRITE}. */
    public static void prepWrite(MemorySegment sqes, long sqe, int fd, long buf, int len, long offset) {
        prepRw(sqes, sqe, IoUringOp.WRITE.number(), fd, buf, len, offset);
    }

    /** {@code IORING_OP_READ_FIXED}: {@code buf} must lie inside registered buffer {@code bufIndex}. */
    public static void prepReadFixed(MemorySegment sqes, long sqe, int fd, long buf, int len, long offset, int bufIndex) {
        prepRw(sqes, sqe, IoUringOp.READ_FIXED.number(), fd, buf, len, offset);
        setBufIndex(sqes, sqe, bufIndex);
    }

    /** {@code IORING_OP_WRITE_FIXED}. */
    public static void prepWriteFixed(MemorySegment sqes, long sqe, int fd, long buf, int len, long offset, int bufIndex) {
        prepRw(sqes, sqe, IoUringOp.WRITE_FIXED.number(), fd, buf, len, offset);
        setBufIndex(sqes, sqe, bufIndex);
    }

    /** {@code IORING_OP_READV}: {@code iovecs} points at {@code count} {@code struct iovec}. */
    public static void prepReadv(MemorySegment sqes, long sqe, int fd, long iovecs, int count, long offset) {
        prepRw(sqes, sqe, IoUringOp.READV.number(), fd, iovecs, count, offset);
    }

    /** {@code IORING_OP_WRITEV}. */
    public static void prepWritev(MemorySegment sqes, long sqe, int fd, long iovecs, int count, long offset) {
        prepRw(sqes, sqe, IoUringOp.WRITEV.number(), fd, iovecs, count, offset);
    }

    /** {@code IORING_OP_FSYNC}; {@code fsyncFlags} 0 or {@link #FSYNC_DATASYNC}. */
    public static void prepFsync(MemorySegment sqes, long sqe, int fd, int fsyncFlags) {
        prepRw(sqes, sqe, IoUringOp.FSYNC.number(), fd, 0L, 0, 0L);
        setOpFlags(sqes, sqe, fsyncFlags);
    }

    /** {@code IORING_OP_SEND}. */
    public static void prepSend(MemorySegment sqes, long sqe, int sockfd, long buf, int len, int msgFlags) {
        prepRw(sqes, sqe, IoUringOp.SEND.number(), sockfd, buf, len, 0L);
        setOpFlags(sqes, sqe, msgFlags);
    }

    /** {@code IORING_OP_RECV}. */
    public static void prepRecv(MemorySegment sqes, long sqe, int sockfd, long buf, int len, int msgFlags) {
        prepRw(sqes, sqe, IoUringOp.RECV.number(), sockfd, buf, len, 0L);
        setOpFlags(sqes, sqe, msgFlags);
    }

    /** {@code IORING_OP_SENDMSG}: {@code msghdr} points at a {@code struct msghdr}. */
    public static void prepSendmsg(MemorySegment sqes, long sqe, int fd, long msghdr, int msgFlags) {
        prepRw(sqes, sqe, IoUringOp.SENDMSG.number(), fd, msghdr, 1, 0L);
        setOpFlags(sqes, sqe, msgFlags);
    }

    /** {@code IORING_OP_RECVMSG}. */
    public static void prepRecvmsg(MemorySegment sqes, long sqe, int fd, long msghdr, int msgFlags) {
        prepRw(sqes, sqe, IoUringOp.RECVMSG.number(), fd, msghdr, 1, 0L);
        setOpFlags(sqes, sqe, msgFlags);
    }

    /** {@code IORING_OP_ACCEPT}: {@code addr}/{@code addrLen} may be 0 (NULL). */
    public static void prepAccept(MemorySegment sqes, long sqe, int fd, long addr, long addrLen, int flags) {
        prepRw(sqes, sqe, IoUringOp.ACCEPT.number(), fd, addr, 0, addrLen);
        setOpFlags(sqes, sqe, flags);
    }

    /** {@code IORING_OP_CONNECT}: {@code addr} points at a socket address of {@code addrLen} bytes. */
    public static void prepConnect(MemorySegment sqes, long sqe, int fd, long addr, int addrLen) {
        prepRw(sqes, sqe, IoUringOp.CONNECT.number(), fd, addr, 0, addrLen);
    }

    /** {@code IORING_OP_POLL_ADD} (one-shot) for {@code pollMask} ({@code POLLIN}...). */
    public static void prepPollAdd(MemorySegment sqes, long sqe, int fd, int pollMask) {
        prepRw(sqes, sqe, IoUringOp.POLL_ADD.number(), fd, 0L, 0, 0L);
        setOpFlags(sqes, sqe, pollMask); // poll32_events, little endian
    }

    /**
     * {@code IORING_OP_TIMEOUT}: completes after the {@code struct __kernel_timespec} at
     * {@code timespec} elapses ({@code -ETIME}) or after {@code count} other completions.
     */
    public static void prepTimeout(MemorySegment sqes, long sqe, long timespec, int count, int flags) {
        prepRw(sqes, sqe, IoUringOp.TIMEOUT.number(), -1, timespec, 1, count);
        setOpFlags(sqes, sqe, flags);
    }

    /** {@code IORING_OP_LINK_TIMEOUT}: bounds the SQE linked before it. */
    public static void prepLinkTimeout(MemorySegment sqes, long sqe, long timespec, int flags) {
        prepRw(sqes, sqe, IoUringOp.LINK_TIMEOUT.number(), -1, timespec, 1, 0L);
        setOpFlags(sqes, sqe, flags);
    }

    /** {@code IORING_OP_ASYNC_CANCEL} of the request carrying {@code userData}. */
    public static void prepAsyncCancel(MemorySegment sqes, long sqe, long userData, int flags) {
        prepRw(sqes, sqe, IoUringOp.ASYNC_CANCEL.number(), -1, userData, 0, 0L);
        setOpFlags(sqes, sqe, flags);
    }

    /** {@code IORING_OP_CLOSE} of a normal descriptor. */
    public static void prepClose(MemorySegment sqes, long sqe, int fd) {
        prepRw(sqes, sqe, IoUringOp.CLOSE.number(), fd, 0L, 0, 0L);
    }

    /** {@code IORING_OP_CLOSE} of fixed-file slot {@code slot} ({@code io_uring_prep_close_direct}). */
    public static void prepCloseFixed(MemorySegment sqes, long sqe, int slot) {
        prepRw(sqes, sqe, IoUringOp.CLOSE.number(), 0, 0L, 0, 0L);
        sqes.set(JAVA_INT_UNALIGNED, sqe + FILE_INDEX, slot + 1);
    }

    /** Sets the {@code IOSQE_*} flags byte to {@code flags}. */
    public static void setFlags(MemorySegment sqes, long sqe, int flags) {
        sqes.set(JAVA_BYTE, sqe + FLAGS, (byte) flags);
    }

    /** Sets the flags byte to the OR of {@code flags}. */
    public static void setFlags(MemorySegment sqes, long sqe, SqeFlag... flags) {
        int m = 0;
        for (SqeFlag f : flags) {
            m |= (int) f.abi();
        }
        setFlags(sqes, sqe, m);
    }

    /** The flags byte. */
    public static int flags(MemorySegment sqes, long sqe) {
        return Byte.toUnsignedInt(sqes.get(JAVA_BYTE, sqe + FLAGS));
    }

    /** Adds {@code IOSQE_FIXED_FILE}: the SQE's fd is an index into the registered files. */
    public static void setFixedFile(MemorySegment sqes, long sqe) {
        setFlags(sqes, sqe, flags(sqes, sqe) | (int) SqeFlag.FIXED_FILE.abi());
    }

    /** Sets {@code user_data}, which the completion carries back. */
    public static void setUserData(MemorySegment sqes, long sqe, long userData) {
        sqes.set(JAVA_LONG_UNALIGNED, sqe + USER_DATA, userData);
    }

    /** Sets {@code buf_index} (registered buffer for *_FIXED, buffer group for BUFFER_SELECT). */
    public static void setBufIndex(MemorySegment sqes, long sqe, int bufIndex) {
        sqes.set(JAVA_SHORT_UNALIGNED, sqe + BUF_INDEX, (short) bufIndex);
    }

    /** Sets {@code ioprio} (also the op-specific flags of send/recv/accept). */
    public static void setIoprio(MemorySegment sqes, long sqe, int ioprio) {
        sqes.set(JAVA_SHORT_UNALIGNED, sqe + IOPRIO, (short) ioprio);
    }

    /** Sets the op-specific flags word ({@code rw_flags}, {@code msg_flags}, {@code timeout_flags}...). */
    public static void setOpFlags(MemorySegment sqes, long sqe, int opFlags) {
        sqes.set(JAVA_INT_UNALIGNED, sqe + OP_FLAGS, opFlags);
    }

    /** The opcode byte. */
    public static int opcode(MemorySegment sqes, long sqe) {
        return Byte.toUnsignedInt(sqes.get(JAVA_BYTE, sqe + OPCODE));
    }

    /** {@code user_data}. */
    public static long userData(MemorySegment sqes, long sqe) {
        return sqes.get(JAVA_LONG_UNALIGNED, sqe + USER_DATA);
    }

    /** {@code fd}. */
    public static int fd(MemorySegment sqes, long sqe) {
        return sqes.get(JAVA_INT_UNALIGNED, sqe + FD);
    }
}
