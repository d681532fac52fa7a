package org.ringwarden.linux.uring;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;

/**
 * Memory layouts of the io_uring UAPI structures, field for field as
 * {@code include/uapi/linux/io_uring.h} declares them (x86_64, natural alignment), with the
 * offsets the hot paths use as plain constants. {@code IoUringLayoutTest} checks every size
 * and offset against the C header's values.
 */
public final class IoUringLayout {
    private IoUringLayout() {
    }

    /** {@code struct io_sqring_offsets}: 40 bytes. */
    public static final StructLayout SQRING_OFFSETS = structLayout(
            JAVA_INT.withName("head"),
            JAVA_INT.withName("tail"),
            JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("dropped"),
            JAVA_INT.withName("array"),
            JAVA_INT.withName("resv1"),
            JAVA_LONG.withName("user_addr")).withName("io_sqring_offsets");

    /** {@code struct io_cqring_offsets}: 40 bytes. */
    public static final StructLayout CQRING_OFFSETS = structLayout(
            JAVA_INT.withName("head"),
            JAVA_INT.withName("tail"),
            JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"),
            JAVA_INT.withName("overflow"),
            JAVA_INT.withName("cqes"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("resv1"),
            JAVA_LONG.withName("user_addr")).withName("io_cqring_offsets");

    /** {@code struct io_uring_params}: 120 bytes. */
    public static final StructLayout PARAMS = structLayout(
            JAVA_INT.withName("sq_entries"),
            JAVA_INT.withName("cq_entries"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("sq_thread_cpu"),
            JAVA_INT.withName("sq_thread_idle"),
            JAVA_INT.withName("features"),
            JAVA_INT.withName("wq_fd"),
            sequenceLayout(3, JAVA_INT).withName("resv"),
            SQRING_OFFSETS.withName("sq_off"),
            CQRING_OFFSETS.withName("cq_off")).withName("io_uring_params");

    /** {@code struct io_uring_sqe}: 64 bytes; unions are named by their first member. */
    public static final StructLayout SQE = structLayout(
            JAVA_BYTE.withName("opcode"),
            JAVA_BYTE.withName("flags"),
            JAVA_SHORT.withName("ioprio"),
            JAVA_INT.withName("fd"),
            JAVA_LONG.withName("off"),
            JAVA_LONG.withName("addr"),
            JAVA_INT.withName("len"),
            JAVA_INT.withName("rw_flags"),
            JAVA_LONG.withName("user_data"),
            JAVA_SHORT.withName("buf_index"),
            JAVA_SHORT.withName("personality"),
            JAVA_INT.withName("splice_fd_in"),
            JAVA_LONG.withName("addr3"),
            JAVA_LONG.withName("__pad2")).withName("io_uring_sqe");

    /** {@code struct io_uring_cqe} without the big-CQE tail: 16 bytes. */
    public static final StructLayout CQE = structLayout(
            JAVA_LONG.withName("user_data"),
            JAVA_INT.withName("res"),
            JAVA_INT.withName("flags")).withName("io_uring_cqe");

    /** {@code struct io_uring_restriction}: 16 bytes; the union holds register_op, sqe_op or sqe_flags. */
    public static final StructLayout RESTRICTION = structLayout(
            JAVA_SHORT.withName("opcode"),
            JAVA_BYTE.withName("op"),
            JAVA_BYTE.withName("resv"),
            sequenceLayout(3, JAVA_INT).withName("resv2")).withName("io_uring_restriction");

    /** {@code struct io_uring_probe_op}: 8 bytes. */
    public static final StructLayout PROBE_OP = structLayout(
            JAVA_BYTE.withName("op"),
            JAVA_BYTE.withName("resv"),
            JAVA_SHORT.withName("flags"),
            JAVA_INT.withName("resv2")).withName("io_uring_probe_op");

    /** {@code struct io_uring_probe} header: 16 bytes, followed by {@code ops_len} probe ops. */
    public static final StructLayout PROBE = structLayout(
            JAVA_BYTE.withName("last_op"),
            JAVA_BYTE.withName("ops_len"),
            JAVA_SHORT.withName("resv"),
            sequenceLayout(3, JAVA_INT).withName("resv2")).withName("io_uring_probe");

    /** {@code struct iovec}: 16 bytes. */
    public static final StructLayout IOVEC = structLayout(
            JAVA_LONG.withName("iov_base"),
            JAVA_LONG.withName("iov_len")).withName("iovec");

    /** {@code struct __kernel_timespec}: 16 bytes. */
    public static final StructLayout KERNEL_TIMESPEC = structLayout(
            JAVA_LONG.withName("tv_sec"),
            JAVA_LONG.withName("tv_nsec")).withName("__kernel_timespec");

    // Offsets used on hot paths, derived from the layouts so that they cannot disagree.
    public static final long SQE_SIZE = SQE.byteSize();
    public static final long SQE_OPCODE = off(SQE, "opcode");
    public static final long SQE_FLAGS = off(SQE, "flags");
    public static final long SQE_IOPRIO = off(SQE, "ioprio");
    public static final long SQE_FD = off(SQE, "fd");
    public static final long SQE_OFF = off(SQE, "off");
    public static final long SQE_ADDR = off(SQE, "addr");
    public static final long SQE_LEN = off(SQE, "len");
    public static final long SQE_RW_FLAGS = off(SQE, "rw_flags");
    public static final long SQE_USER_DATA = off(SQE, "user_data");
    public static final long SQE_BUF_INDEX = off(SQE, "buf_index");
    public static final long SQE_PERSONALITY = off(SQE, "personality");
    public static final long SQE_FILE_INDEX = off(SQE, "splice_fd_in");
    public static final long SQE_ADDR3 = off(SQE, "addr3");

    public static final long CQE_SIZE = CQE.byteSize();
    public static final long CQE_USER_DATA = off(CQE, "user_data");
    public static final long CQE_RES = off(CQE, "res");
    public static final long CQE_FLAGS = off(CQE, "flags");

    public static final long PARAMS_SQ_ENTRIES = off(PARAMS, "sq_entries");
    public static final long PARAMS_CQ_ENTRIES = off(PARAMS, "cq_entries");
    public static final long PARAMS_FLAGS = off(PARAMS, "flags");
    public static final long PARAMS_FEATURES = off(PARAMS, "features");
    public static final long PARAMS_WQ_FD = off(PARAMS, "wq_fd");
    public static final long PARAMS_SQ_OFF = off(PARAMS, "sq_off");
    public static final long PARAMS_CQ_OFF = off(PARAMS, "cq_off");

    static long off(StructLayout layout, String... path) {
        PathElement[] elements = new PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = PathElement.groupElement(path[i]);
        }
        return layout.byteOffset(elements);
    }

}
