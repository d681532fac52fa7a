package org.ringwarden.client;

import java.lang.foreign.MemorySegment;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.Ring;
import org.ringwarden.linux.uring.Sqe;
import org.ringwarden.linux.uring.SqeFlag;

/**
 * The SQE being prepared on a {@link BrokeredRing}: one reusable object per ring (so preparing
 * allocates nothing), returned by {@link BrokeredRing#prepare()}. One operation method claims the
 * next SQE and writes it in place; modifiers then set its flags and user data. The next
 * {@code submit()} publishes it:
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
 * {@link PolicyViolationException} points at the line that asked for it. The policy's required
 * flags (typically {@code FIXED_FILE}) are set on every SQE, since the kernel demands them on
 * every SQE of a restricted ring. A refused SQE is given back to the ring, never submitted.
 */
public final class SubmissionEntry {
    private static final int FIXED_FILE = (int) SqeFlag.FIXED_FILE.abi();

    private final BrokeredRing ring;
    private final Ring raw;
    private final MemorySegment sqes;
    private @Nullable AllowedSet allowed;
    private int required;
    /** prepare() was called and no operation claimed an SQE yet. */
    private boolean open;
    /** The SQE this entry wrote, or -1. */
    private long sqe = -1;
    private int flags;

    SubmissionEntry(BrokeredRing ring, Ring raw) {
        this.ring = ring;
        this.raw = raw;
        this.sqes = raw.sqes();
    }

    /** Starts a new SQE; a null {@code check} switches the library's policy check off. */
    void reset(@Nullable AllowedSet check, int requiredFlags) {
        this.allowed = check;
        this.required = requiredFlags;
        this.open = true;
        this.sqe = -1;
    }

    /** Checks {@code op} (and the flags it will carry), then claims the next SQE. */
    private long claim(IoUringOp op, int withFlags) {
        if (!open) {
            throw new IllegalStateException(sqe < 0 ? "call BrokeredRing.prepare() before preparing an operation"
                    : "this SQE is already prepared; call BrokeredRing.prepare() for the next one");
        }
        open = false;
        if (allowed != null) {
            allowed.checkOp(op);
            if (withFlags != required) {
                allowed.checkFlags(withFlags);
            }
        }
        long s = raw.nextSqe();
        if (s < 0) {
            throw new SubmissionQueueFullException("all " + raw.sqEntries() + " SQEs of the ring are queued: submit()"
                    + " before preparing more");
        }
        sqe = s;
        flags = withFlags;
        return s;
    }

    private SubmissionEntry done(long s) {
        if (flags != 0) {
            Sqe.setFlags(sqes, s, flags);
        }
        return this;
    }

    private static int length(MemorySegment m) {
        long n = m.byteSize();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a single operation moves at most 2 GiB, not " + n + " bytes");
        }
        return (int) n;
    }

    private int onFile() {
        return required | FIXED_FILE;
    }

    // ------------------------------------------------------------------ operations

    /** {@code NOP}: completes with 0; a cheap round trip through the ring. */
    public SubmissionEntry nop() {
        long s = claim(IoUringOp.NOP, required);
        Sqe.prepNop(sqes, s);
        return done(s);
    }

    /** {@code READ} into {@code buf} (this process's memory) from {@code file} at {@code offset} (-1: the file position). */
    public SubmissionEntry read(int file, MemorySegment buf, long offset) {
        int len = length(buf);
        long s = claim(IoUringOp.READ, onFile());
        Sqe.prepRead(sqes, s, file, buf.address(), len, offset);
        return done(s);
    }

    /** {@code WRITE} of {@code buf} to {@code file} at {@code offset} (-1: the file position). */
    public SubmissionEntry write(int file, MemorySegment buf, long offset) {
        int len = length(buf);
        long s = claim(IoUringOp.WRITE, onFile());
        Sqe.prepWrite(sqes, s, file, buf.address(), len, offset);
        return done(s);
    }

    /** {@code READ_FIXED} of {@code len} bytes from {@code file} at {@code fileOffset} into {@code buf} at {@code bufOffset}. */
    public SubmissionEntry readFixed(int file, RegisteredBuffer buf, long bufOffset, int len, long fileOffset) {
        checkRange(buf, bufOffset, len);
        long s = claim(IoUringOp.READ_FIXED, onFile());
        Sqe.prepReadFixed(sqes, s, file, buf.kernelAddress(bufOffset), len, fileOffset, buf.index());
        return done(s);
    }

    /** {@code READ_FIXED} into {@code slice}, which must lie inside one of the ring's registered buffers. */
    public SubmissionEntry readFixed(int file, MemorySegment slice, long fileOffset) {
        RegisteredBuffer b = ring.bufferContaining(slice);
        return readFixed(file, b, slice.address() - b.segment().address(), length(slice), fileOffset);
    }

    /** {@code WRITE_FIXED} of {@code len} bytes of {@code buf} at {@code bufOffset} to {@code file} at {@code fileOffset}. */
    public SubmissionEntry writeFixed(int file, RegisteredBuffer buf, long bufOffset, int len, long fileOffset) {
        checkRange(buf, bufOffset, len);
        long s = claim(IoUringOp.WRITE_FIXED, onFile());
        Sqe.prepWriteFixed(sqes, s, file, buf.kernelAddress(bufOffset), len, fileOffset, buf.index());
        return done(s);
    }

    /** {@code WRITE_FIXED} of {@code slice}, which must lie inside one of the ring's registered buffers. */
    public SubmissionEntry writeFixed(int file, MemorySegment slice, long fileOffset) {
        RegisteredBuffer b = ring.bufferContaining(slice);
        return writeFixed(file, b, slice.address() - b.segment().address(), length(slice), fileOffset);
    }

    /** {@code READV}: {@code iovecs} holds {@code count} {@code struct iovec} (this process's addresses). */
    public SubmissionEntry readv(int file, MemorySegment iovecs, int count, long offset) {
        checkIovecs(iovecs, count);
        long s = claim(IoUringOp.READV, onFile());
        Sqe.prepReadv(sqes, s, file, iovecs.address(), count, offset);
        return done(s);
    }

    /** {@code WRITEV}. */
    public SubmissionEntry writev(int file, MemorySegment iovecs, int count, long offset) {
        checkIovecs(iovecs, count);
        long s = claim(IoUringOp.WRITEV, onFile());
        Sqe.prepWritev(sqes, s, file, iovecs.address(), count, offset);
        return done(s);
    }

    /** {@code FSYNC}; {@code dataOnly} for {@code fdatasync}. */
    public SubmissionEntry fsync(int file, boolean dataOnly) {
        long s = claim(IoUringOp.FSYNC, onFile());
        Sqe.prepFsync(sqes, s, file, dataOnly ? Sqe.FSYNC_DATASYNC : 0);
        return done(s);
    }

    /** {@code SEND} of {@code buf} on socket {@code file} with {@code MSG_*} flags. */
    public SubmissionEntry send(int file, MemorySegment buf, int msgFlags) {
        int len = length(buf);
        long s = claim(IoUringOp.SEND, onFile());
        Sqe.prepSend(sqes, s, file, buf.address(), len, msgFlags);
        return done(s);
    }

    /** {@code RECV} into {@code buf} from socket {@code file}. */
    public SubmissionEntry recv(int file, MemorySegment buf, int msgFlags) {
        int len = length(buf);
        long s = claim(IoUringOp.RECV, onFile());
        Sqe.prepRecv(sqes, s, file, buf.address(), len, msgFlags);
        return done(s);
    }

    /** {@code SENDMSG}: {@code msghdr} is a {@code struct msghdr} in this process's memory. */
    public SubmissionEntry sendmsg(int file, MemorySegment msghdr, int msgFlags) {
        long s = claim(IoUringOp.SENDMSG, onFile());
        Sqe.prepSendmsg(sqes, s, file, msghdr.address(), msgFlags);
        return done(s);
    }

    /** {@code RECVMSG}. */
    public SubmissionEntry recvmsg(int file, MemorySegment msghdr, int msgFlags) {
        long s = claim(IoUringOp.RECVMSG, onFile());
        Sqe.prepRecvmsg(sqes, s, file, msghdr.address(), msgFlags);
        return done(s);
    }

    /**
     * {@code ACCEPT} on listening socket {@code file}; the new connection's descriptor is the
     * result. {@code addr}/{@code addrLen} may be null.
     */
    public SubmissionEntry accept(int file, MemorySegment addr, MemorySegment addrLen, int acceptFlags) {
        long s = claim(IoUringOp.ACCEPT, onFile());
        Sqe.prepAccept(sqes, s, file, addr == null ? 0 : addr.address(), addrLen == null ? 0 : addrLen.address(),
                acceptFlags);
        return done(s);
    }

    /** {@code CONNECT} socket {@code file} to the socket address in {@code addr}. */
    public SubmissionEntry connect(int file, MemorySegment addr) {
        long s = claim(IoUringOp.CONNECT, onFile());
        Sqe.prepConnect(sqes, s, file, addr.address(), (int) addr.byteSize());
        return done(s);
    }

    /** {@code POLL_ADD} (one-shot) for {@code pollMask} ({@code POLLIN} = 1, {@code POLLOUT} = 4...). */
    public SubmissionEntry pollAdd(int file, int pollMask) {
        long s = claim(IoUringOp.POLL_ADD, onFile());
        Sqe.prepPollAdd(sqes, s, file, pollMask);
        return done(s);
    }

    /**
     * {@code TIMEOUT}: completes with {@code -ETIME} after the {@code struct __kernel_timespec}
     * in {@code timespec}, or with 0 after {@code count} other completions.
     */
    public SubmissionEntry timeout(MemorySegment timespec, int count, boolean absolute) {
        long s = claim(IoUringOp.TIMEOUT, required);
        Sqe.prepTimeout(sqes, s, timespec.address(), count, absolute ? Sqe.TIMEOUT_ABS : 0);
        return done(s);
    }

    /** {@code LINK_TIMEOUT}: bounds the SQE linked before it (which must carry {@link #link()}). */
    public SubmissionEntry linkTimeout(MemorySegment timespec, boolean absolute) {
        long s = claim(IoUringOp.LINK_TIMEOUT, required);
        Sqe.prepLinkTimeout(sqes, s, timespec.address(), absolute ? Sqe.TIMEOUT_ABS : 0);
        return done(s);
    }

    /** {@code ASYNC_CANCEL} of the request whose {@code user_data} is {@code target}. */
    public SubmissionEntry cancel(long target) {
        long s = claim(IoUringOp.ASYNC_CANCEL, required);
        Sqe.prepAsyncCancel(sqes, s, target, 0);
        return done(s);
    }

    /** {@code CLOSE} of fixed-file slot {@code file} (the slot becomes empty). */
    public SubmissionEntry close(int file) {
        long s = claim(IoUringOp.CLOSE, required);
        Sqe.prepCloseFixed(sqes, s, file);
        return done(s);
    }

    // ------------------------------------------------------------------ modifiers

    private long current() {
        // The SQE array is unmapped when the ring closes: an entry kept past close() must not
        // write to it (Ring, "Ownership").
        ring.ensureOpen();
        if (sqe < 0) {
            throw new IllegalStateException("prepare an operation (nop(), readFixed(...)...) before setting its modifiers");
        }
        return sqe;
    }

    /** The {@code user_data} the completion carries back. */
    public SubmissionEntry userData(long userData) {
        Sqe.setUserData(sqes, current(), userData);
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

    /**
     * Makes {@code file} a plain descriptor of this process rather than a fixed-file index
     * (refused if the policy requires {@code FIXED_FILE}).
     */
    public SubmissionEntry plainDescriptor() {
        long s = current();
        if (allowed != null && (required & FIXED_FILE) != 0) {
            int opcode = Sqe.opcode(sqes, s);
            abandon();
            allowed.checkRequired(opcode, flags & ~FIXED_FILE); // throws: FIXED_FILE is required
        }
        flags &= ~FIXED_FILE;
        Sqe.setFlags(sqes, s, flags);
        return this;
    }

    private SubmissionEntry addFlag(int flag) {
        long s = current();
        int f = flags | flag;
        if (allowed != null) {
            try {
                allowed.checkFlags(f);
            } catch (PolicyViolationException e) {
                abandon();
                throw e;
            }
        }
        flags = f;
        Sqe.setFlags(sqes, s, f);
        return this;
    }

    /** Gives the SQE back to the ring: a refused SQE is never submitted. */
    private void abandon() {
        if (sqe >= 0) {
            raw.unclaimLast();
            sqe = -1;
        }
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
}
