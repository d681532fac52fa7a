package org.ringwarden.linux.uring;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.Syscall;

/**
 * The three io_uring system calls, and the register operations the broker uses, as thin
 * checked wrappers: every failure is a {@link org.ringwarden.linux.KernelException} naming
 * the call ({@code io_uring_register(RESTRICTIONS)}) and its errno.
 */
public final class IoUringCalls {
    /** {@code IORING_OFF_SQ_RING}, {@code IORING_OFF_CQ_RING}, {@code IORING_OFF_SQES}: mmap offsets of a ring fd. */
    public static final long OFF_SQ_RING = 0L;
    public static final long OFF_CQ_RING = 0x8000000L;
    public static final long OFF_SQES = 0x10000000L;

    /** {@code IO_URING_OP_SUPPORTED}: the probe op flag. */
    public static final int OP_SUPPORTED = 1;

    /** The largest SQ size the kernel accepts ({@code IORING_MAX_ENTRIES}); CQ may be twice that by default, up to {@link #MAX_CQ_ENTRIES}. */
    public static final int MAX_ENTRIES = 32768;
    public static final int MAX_CQ_ENTRIES = 2 * MAX_ENTRIES;

    private IoUringCalls() {
    }

    /**
     * {@code io_uring_setup(entries, params)}: {@code params} is a zeroed (or prepared)
     * {@code struct io_uring_params} of {@link IoUringLayout#PARAMS} size with {@code flags} set;
     * the kernel fills the rest. Returns the ring fd.
     */
    public static int setup(int entries, MemorySegment params) {
        return (int) Syscall.checked("io_uring_setup", Syscall.SYS_IO_URING_SETUP, entries, params.address());
    }

    /** Creates a ring with {@code flags} (and {@code cqEntries} if positive, setting CQSIZE); returns fd and params. */
    public static CreatedRing create(int entries, int cqEntries, long flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(IoUringLayout.PARAMS);
            long f = flags;
            if (cqEntries > 0) {
                f |= SetupFlag.CQSIZE.abi();
                p.set(JAVA_INT, IoUringLayout.PARAMS_CQ_ENTRIES, cqEntries);
            }
            p.set(JAVA_INT, IoUringLayout.PARAMS_FLAGS, (int) f);
            int fd = setup(entries, p);
            return new CreatedRing(fd, IoUringParams.readFrom(p));
        }
    }

    /** A ring fd just made by {@link #create}, with the parameters the kernel returned. */
    public record CreatedRing(int fd, IoUringParams params) {
    }

    /** {@code io_uring_enter(fd, toSubmit, minComplete, flags, NULL, 0)}, retrying on EINTR. */
    public static int enter(int fd, int toSubmit, int minComplete, int flags) {
        return (int) Syscall.checked("io_uring_enter", Syscall.SYS_IO_URING_ENTER, fd, toSubmit, minComplete, flags, 0, 0);
    }

    /** {@code io_uring_register(fd, op, arg, nrArgs)}. */
    public static long register(int fd, RegisterOp op, @Nullable MemorySegment arg, int nrArgs) {
        return Syscall.checked("io_uring_register(" + op.shortName() + ")", Syscall.SYS_IO_URING_REGISTER,
                fd, op.number(), arg == null ? 0 : arg.address(), nrArgs);
    }

    /** {@code IORING_REGISTER_RESTRICTIONS}: only on a disabled ring, only once. */
    public static void registerRestrictions(int fd, List<Restriction> restrictions) {
        try (Arena arena = Arena.ofConfined()) {
            long size = IoUringLayout.RESTRICTION.byteSize();
            MemorySegment arr = arena.allocate(size * Math.max(1, restrictions.size()), 8);
            for (int i = 0; i < restrictions.size(); i++) {
                Restriction r = restrictions.get(i);
                arr.set(JAVA_SHORT, i * size, (short) r.type().abi());
                arr.set(JAVA_BYTE, i * size + 2, (byte) r.value());
            }
            register(fd, RegisterOp.REGISTER_RESTRICTIONS, arr, restrictions.size());
        }
    }

    /** {@code IORING_REGISTER_ENABLE_RINGS}: the calling task becomes the issuer of a SINGLE_ISSUER ring. */
    public static void enableRings(int fd) {
        register(fd, RegisterOp.REGISTER_ENABLE_RINGS, null, 0);
    }

    /** {@code IORING_REGISTER_FILES} with {@code fds} (-1 entries are sparse slots). */
    public static void registerFiles(int fd, int[] fds) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arr = arena.allocateFrom(JAVA_INT, fds);
            register(fd, RegisterOp.REGISTER_FILES, arr, fds.length);
        }
    }

    /** {@code IORING_REGISTER_BUFFERS} with one iovec per segment. */
    public static void registerBuffers(int fd, List<MemorySegment> buffers) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment iov = arena.allocate(IoUringLayout.IOVEC.byteSize() * buffers.size(), 8);
            for (int i = 0; i < buffers.size(); i++) {
                iov.set(JAVA_LONG, i * 16L, buffers.get(i).address());
                iov.set(JAVA_LONG, i * 16L + 8, buffers.get(i).byteSize());
            }
            register(fd, RegisterOp.REGISTER_BUFFERS, iov, buffers.size());
        }
    }

    /** {@code IORING_REGISTER_PROBE} on {@code fd}. */
    public static KernelProbe probe(int fd) {
        int n = 256;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(IoUringLayout.PROBE.byteSize() + IoUringLayout.PROBE_OP.byteSize() * n, 8);
            register(fd, RegisterOp.REGISTER_PROBE, p, n);
            int lastOp = Byte.toUnsignedInt(p.get(JAVA_BYTE, 0));
            int opsLen = Byte.toUnsignedInt(p.get(JAVA_BYTE, 1));
            BitSet supported = new BitSet();
            for (int i = 0; i < opsLen; i++) {
                long at = IoUringLayout.PROBE.byteSize() + i * IoUringLayout.PROBE_OP.byteSize();
                int op = Byte.toUnsignedInt(p.get(JAVA_BYTE, at));
                short flags = p.get(JAVA_SHORT, at + 2);
                if ((flags & OP_SUPPORTED) != 0) {
                    supported.set(op);
                }
            }
            return new KernelProbe(lastOp, supported);
        }
    }

    /** Probes this kernel on a throwaway ring. */
    public static KernelProbe probeKernel() {
        CreatedRing r = create(1, 0, 0);
        try {
            return probe(r.fd());
        } finally {
            org.ringwarden.linux.Descriptors.closeQuietly(r.fd());
        }
    }
}
