package org.ringwarden.client;

import java.lang.foreign.MemorySegment;

import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.Sqe;
import org.ringwarden.linux.uring.SqeFlag;

/**
 * The SQE being prepared on a {@link BrokeredRing}: one reusable object per ring (so preparing
 * allocates nothing), returned by {@link BrokeredRing#prepare()}, filled by one operation method
 * and any modifiers, and written into the ring's SQE array when the next {@code prepare()} or
 * {@code submit()} comes:
 *
 * <pre>{@code
 * int data = ring.file("data");
 * RegisteredBuffer io = ring.buffer("io");
 * ring.prepare().readFixed(data, io, 0, 4096, 0L).userData(1).link();
 * ring.prepare().writeFixed(out, io, 0, 4096, 0L).userData(2);
 * ring.submitAndWait(2);
 * }</pre>
 *
 * <p><b>Files</b> are fixed files: {@code file} is the index {@link BrokeredRing#file(String)}
 * returns, and {@code IOSQE_FIXED_FILE} is set for it. {@link #plainDescriptor()} makes the
 * number a plain descriptor of this process instead (where the policy allows that).
 *
 * <p><b>Memory</b> passed as a {@link MemorySegment} to the non-fixed operations is this
 * process's own memory and must stay valid until the operation completes. For
 * {@code READ_FIXED}/{@code WRITE_FIXED} pass a {@link RegisteredBuffer} (or a slice of its
 * {@link RegisteredBuffer#segment()}): the SQE gets the daemon's address of those bytes.
 *
 * <p><b>The policy check</b> runs as each opcode or flag is set, so that a
 * {@link PolicyViolationException} points at the line that asked for it; required flags are
 * checked when the SQE is written. A refused SQE is never written.
 */
public final class SubmissionEntry {
    private static final int FIXED_FILE = (int) SqeFlag.FIXED_FILE.abi();

    private final BrokeredRing ring;
    private AllowedSet allowed;
    boolean staged;
    int opcode;
    int fd;
    long addr;
    int len;
    long off;
    int opFlags;
    int bufIndex;
    int fileIndex;
    int flags;
    long userData;

    SubmissionEntry(BrokeredRing ring) {
        this.ring = ring;
    }

    void reset(AllowedSet checkOrNull) {
        this.allowed = checkOrNull;
        staged = true;
        opcode = -1;
        fd = -1;
        addr = 0;
        len = 0;
        off = 0;
        opFlags = 0;
        bufIndex = 0;
        fileIndex = 0;
        flags = 0;
        userData = 0;
    }

    private SubmissionEntry op(IoUringOp op, int fd, long addr, int len, long off) {
        if (!staged) {
            throw new IllegalStateException("call BrokeredRing.prepare() before preparing an operation");
        }
        if (opcode >= 0) {
            throw new IllegalStateException("this SQE is already a " + IoUringOp.of(opcode).kernelName()
                    + "; call BrokeredRing.prepare() for the next one");
        }
        int number = op.number();
        if (allowed != null) {
            allowed.checkOp(number);
        }
        this.opcode = number;
        this.fd = fd;
        this.addr = addr;
        this.len = len;
        this.off = off;
        return this;
    }

    private SubmissionEntry onFile(IoUringOp op, int file, long addr, int len, long off) {
        op(op, file, addr, len, off);
        return addFlag(FIXED_FILE);
    }

    private static int length(MemorySegment m) {
        long n = m.byteSize();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a single operation moves at most 2 GiB, not " + n + " bytes");
        }
        return (int) n;
    }

    // ------------------------------------------------------------------ operations

    /** {@code NOP}: completes with 0; a cheap round trip through the ring. */
    public SubmissionEntry nop() {
        return op(IoUringOp.NOP, -1, 0, 0, 0);
    }

    /** {@code READ} into {@code buf} (this process's memory) from {@code file} at {@code offset} (-1: the file position). */
    public SubmissionEntry read(int file, MemorySegment buf, long offset) {
        return onFile(IoUringOp.READ, file, buf.address(), length(buf), offset);
    }

    /** {@code WRITE} of {@code buf} to {@code file} at {@code offset} (-1: the file position). */
    public SubmissionEntry write(int file, MemorySegment buf, long offset) {
        return onFile(IoUringOp.WRITE, file, buf.address(), length(buf), offset);
    }

    /** {@code READ_FIXED} of {@code len} bytes from {@code file} at {@code fileOffset} into {@code buf} at {@code bufOffset}. */
    public SubmissionEntry readFixed(int file, RegisteredBuffer buf, long bufOffset, int len, long fileOffset) {
        checkRange(buf, bufOffset, len);
        onFile(IoUringOp.READ_FIXED, file, buf.kernelAddress(bufOffset), len, fileOffset);
        bufIndex = buf.index();
        return this;
    }

    /** {@code READ_FIXED} into {@code slice}, which must lie inside one of the ring's registered buffers. */
    public SubmissionEntry readFixed(int file, MemorySegment slice, long fileOffset) {
        RegisteredBuffer b = ring.bufferContaining(slice);
        return readFixed(file, b, slice.address() - b.segment().address(), length(slice), fileOffset);
    }

    /** {@code WRITE_FIXED} of {@code len} bytes of {@code buf} at {@code bufOffset} to {@code file} at {@code fileOffset}. */
    public SubmissionEntry writeFixed(int file, RegisteredBuffer buf, long bufOffset, int len, long fileOffset) {
        checkRange(buf, bufOffset, len);
        onFile(IoUringOp.WRITE_FIXED, file, buf.kernelAddress(bufOffset), len, fileOffset);
        bufIndex = buf.index();
        return this;
    }

    /** {@code WRITE_FIXED} of {@code slice}, which must lie inside one of the ring's registered buffers. */
    public SubmissionEntry writeFixed(int file, MemorySegment slice, long fileOffset) {
        RegisteredBuffer b = ring.bufferContaining(slice);
        return writeFixed(file, b, slice.address() - b.segment().address(), length(slice), fileOffset);
    }

    /** {@code READV}: {@code iovecs} holds {@code count} {@code struct iovec} (this process's addresses). */
    public SubmissionEntry readv(int file, MemorySegment iovecs, int count, long offset) {
        checkIovecs(iovecs, count);
        return onFile(IoUringOp.READV, file, iovecs.address(), count, offset);
    }

    /** {@code WRITEV}. */
    public SubmissionEntry writev(int file, MemorySegment iovecs, int count, long offset) {
        checkIovecs(iovecs, count);
        return onFile(IoUringOp.WRITEV, file, iovecs.address(), count, offset);
    }

    /** {@code FSYNC}; {@code dataOnly} for {@code fdatasync}. */
    public SubmissionEntry fsync(int file, boolean dataOnly) {
        onFile(IoUringOp.FSYNC, file, 0, 0, 0);
        opFlags = dataOnly ? Sqe.FSYNC_DATASYNC : 0;
        return this;
    }

    /** {@code SEND} of {@code buf} on socket {@code file} with {@code MSG_*} flags. */
    public SubmissionEntry send(int file, MemorySegment buf, int msgFlags) {
        onFile(IoUringOp.SEND, file, buf.address(), length(buf), 0);
        opFlags = msgFlags;
        return this;
    }

    /** {@code RECV} into {@code buf} from socket {@code file}. */
    public SubmissionEntry recv(int file, MemorySegment buf, int msgFlags) {
        onFile(IoUringOp.RECV, file, buf.address(), length(buf), 0);
        opFlags = msgFlags;
        return this;
    }

    /** {@code SENDMSG}: {@code msghdr} is a {@code struct msghdr} in this process's memory. */
    public SubmissionEntry sendmsg(int file, MemorySegment msghdr, int msgFlags) {
        onFile(IoUringOp.SENDMSG, file, msghdr.address(), 1, 0);
        opFlags = msgFlags;
        return this;
    }

    /** {@code RECVMSG}. */
    public SubmissionEntry recvmsg(int file, MemorySegment msghdr, int msgFlags) {
        onFile(IoUringOp.RECVMSG, file, msghdr.address(), 1, 0);
        opFlags = msgFlags;
        return this;
    }

    /**
     * {@code ACCEPT} on listening socket {@code file}; the new connection's descriptor is the
     * result. {@code addr}/{@code addrLen} may be null.
     */
    public SubmissionEntry accept(int file, MemorySegment addr, MemorySegment addrLen, int acceptFlags) {
        onFile(IoUringOp.ACCEPT, file, addr == null ? 0 : addr.address(), 0, addrLen == null ? 0 : addrLen.address());
        opFlags = acceptFlags;
        return this;
    }

    /** {@code CONNECT} socket {@code file} to the socket address in {@code addr}. */
    public SubmissionEntry connect(int file, MemorySegment addr) {
        return onFile(IoUringOp.CONNECT, file, addr.address(), 0, addr.byteSize());
    }

    /** {@code POLL_ADD} (one-shot) for {@code pollMask} ({@code POLLIN} = 1, {@code POLLOUT} = 4...). */
    public SubmissionEntry pollAdd(int file, int pollMask) {
        onFile(IoUringOp.POLL_ADD, file, 0, 0, 0);
        opFlags = pollMask;
        return this;
    }

    /**
     * {@code TIMEOUT}: completes with {@code -ETIME} after the {@code struct __kernel_timespec}
     * in {@code timespec}, or with 0 after {@code count} other completions.
     */
    public SubmissionEntry timeout(MemorySegment timespec, int count, boolean absolute) {
        op(IoUringOp.TIMEOUT, -1, timespec.address(), 1, count);
        opFlags = absolute ? Sqe.TIMEOUT_ABS : 0;
        return this;
    }

    /** {@code LINK_TIMEOUT}: bounds the SQE linked before it (which must carry {@link #link()}). */
    public SubmissionEntry linkTimeout(MemorySegment timespec, boolean absolute) {
        op(IoUringOp.LINK_TIMEOUT, -1, timespec.address(), 1, 0);
        opFlags = absolute ? Sqe.TIMEOUT_ABS : 0;
        return this;
    }

    /** {@code ASYNC_CANCEL} of the request whose {@code user_data} is {@code target}. */
    public SubmissionEntry cancel(long target) {
        return op(IoUringOp.ASYNC_CANCEL, -1, target, 0, 0);
    }

    /** {@code CLOSE} of fixed-file slot {@code file} (the slot becomes empty). */
    public SubmissionEntry close(int file) {
        op(IoUringOp.CLOSE, 0, 0, 0, 0);
        fileIndex = file + 1;
        return this;
    }

    // ------------------------------------------------------------------ modifiers

    /** The {@code user_data} the completion carries back. */
    public SubmissionEntry userData(long userData) {
        this.userData = userData;
        return this;
    }

    /** {@code IOSQE_IO_LINK}: the next SQE starts only after this one succeeds. */
    public SubmissionEntry link() {
        return addFlag((int) SqeFlag.IO_LINK.abi());
    }

    /** {@code IOSQE_IO_HARDLINK}: the next SQE starts after this one, whatever its result. */
    public SubmissionEntry hardLink() {
        return addFlag((int) SqeFlag.IO_HARDLINK.abi());
    }

    /** {@code IOSQE_IO_DRAIN}: starts only after every earlier SQE completed. */
    public SubmissionEntry drain() {
        return addFlag((int) SqeFlag.IO_DRAIN.abi());
    }

    /** {@code IOSQE_ASYNC}: go straight to a kernel worker. */
    public SubmissionEntry async() {
        return addFlag((int) SqeFlag.ASYNC.abi());
    }

    /** {@code IOSQE_CQE_SKIP_SUCCESS}: no completion unless it fails. */
    public SubmissionEntry skipSuccess() {
        return addFlag((int) SqeFlag.CQE_SKIP_SUCCESS.abi());
    }

    /** Makes {@code file} a plain descriptor of this process rather than a fixed-file index. */
    public SubmissionEntry plainDescriptor() {
        flags &= ~FIXED_FILE;
        return this;
    }

    private SubmissionEntry addFlag(int flag) {
        if (allowed != null) {
            allowed.checkFlags(flags | flag);
        }
        flags |= flag;
        return this;
    }

    private static void checkRange(RegisteredBuffer buf, long bufOffset, int len) {
        if (bufOffset < 0 || len < 0 || bufOffset + len > buf.length()) {
            throw new IndexOutOfBoundsException("bytes " + bufOffset + ".." + (bufOffset + len) + " are outside "
                    + buf);
        }
    }

    private static void checkIovecs(MemorySegment iovecs, int count) {
        if (count < 0 || (long) count * 16 > iovecs.byteSize()) {
            throw new IndexOutOfBoundsException(count + " iovecs do not fit in " + iovecs.byteSize() + " bytes");
        }
    }

    /** Writes the staged SQE at {@code sqe} in {@code sqes}. */
    void writeTo(MemorySegment sqes, long sqe) {
        Sqe.prepRw(sqes, sqe, opcode, fd, addr, len, off);
        if (opFlags != 0) {
            Sqe.setOpFlags(sqes, sqe, opFlags);
        }
        if (bufIndex != 0) {
            Sqe.setBufIndex(sqes, sqe, bufIndex);
        }
        if (fileIndex != 0) {
            sqes.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, sqe + org.ringwarden.linux.uring.IoUringLayout.SQE_FILE_INDEX,
                    fileIndex);
        }
        Sqe.setFlags(sqes, sqe, flags);
        Sqe.setUserData(sqes, sqe, userData);
    }
}
