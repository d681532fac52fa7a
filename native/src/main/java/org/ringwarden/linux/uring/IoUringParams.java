package org.ringwarden.linux.uring;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;

/**
 * What {@code io_uring_setup(2)} returned in {@code struct io_uring_params}: everything a
 * process needs to map a ring fd it did not create (the grant carries exactly these fields).
 *
 * @param sqEntries   SQ ring entries
 * @param cqEntries   CQ ring entries
 * @param setupFlags  {@code IORING_SETUP_*} the ring was created with
 * @param features    {@code IORING_FEAT_*} the kernel reported
 * @param sqOff       offsets into the SQ ring mapping
 * @param cqOff       offsets into the CQ ring mapping
 */
public record IoUringParams(int sqEntries, int cqEntries, int setupFlags, int features,
                            SqOffsets sqOff, CqOffsets cqOff) {

    /** {@code struct io_sqring_offsets}, without the reserved fields. */
    public record SqOffsets(int head, int tail, int ringMask, int ringEntries, int flags, int dropped, int array) {
    }

    /** {@code struct io_cqring_offsets}, without the reserved fields. */
    public record CqOffsets(int head, int tail, int ringMask, int ringEntries, int overflow, int cqes, int flags) {
    }

    /** Reads the fields from a {@code struct io_uring_params} the kernel filled. */
    public static IoUringParams readFrom(MemorySegment p) {
        long sq = IoUringLayout.PARAMS_SQ_OFF;
        long cq = IoUringLayout.PARAMS_CQ_OFF;
        return new IoUringParams(
                p.get(JAVA_INT, IoUringLayout.PARAMS_SQ_ENTRIES),
                p.get(JAVA_INT, IoUringLayout.PARAMS_CQ_ENTRIES),
                p.get(JAVA_INT, IoUringLayout.PARAMS_FLAGS),
                p.get(JAVA_INT, IoUringLayout.PARAMS_FEATURES),
                new SqOffsets(p.get(JAVA_INT, sq), p.get(JAVA_INT, sq + 4), p.get(JAVA_INT, sq + 8),
                        p.get(JAVA_INT, sq + 12), p.get(JAVA_INT, sq + 16), p.get(JAVA_INT, sq + 20),
                        p.get(JAVA_INT, sq + 24)),
                new CqOffsets(p.get(JAVA_INT, cq), p.get(JAVA_INT, cq + 4), p.get(JAVA_INT, cq + 8),
                        p.get(JAVA_INT, cq + 12), p.get(JAVA_INT, cq + 16), p.get(JAVA_INT, cq + 20),
                        p.get(JAVA_INT, cq + 24)));
    }

    /**
     * Writes the fields into a zeroed {@code struct io_uring_params} (transparent mode writes
     * them back into the caller's memory, so that liburing maps the ring unchanged).
     */
    public void writeTo(MemorySegment p) {
        long sq = IoUringLayout.PARAMS_SQ_OFF;
        long cq = IoUringLayout.PARAMS_CQ_OFF;
        p.set(JAVA_INT, IoUringLayout.PARAMS_SQ_ENTRIES, sqEntries);
        p.set(JAVA_INT, IoUringLayout.PARAMS_CQ_ENTRIES, cqEntries);
        p.set(JAVA_INT, IoUringLayout.PARAMS_FLAGS, setupFlags);
        p.set(JAVA_INT, IoUringLayout.PARAMS_FEATURES, features);
        int[] s = {sqOff.head, sqOff.tail, sqOff.ringMask, sqOff.ringEntries, sqOff.flags, sqOff.dropped, sqOff.array};
        int[] c = {cqOff.head, cqOff.tail, cqOff.ringMask, cqOff.ringEntries, cqOff.overflow, cqOff.cqes, cqOff.flags};
        for (int i = 0; i < 7; i++) {
            p.set(JAVA_INT, sq + 4L * i, s[i]);
            p.set(JAVA_INT, cq + 4L * i, c[i]);
        }
    }

    /** True if the kernel maps SQ and CQ rings with one mmap ({@code IORING_FEAT_SINGLE_MMAP}). */
    public boolean singleMmap() {
        return (features & Feature.SINGLE_MMAP.abi()) != 0;
    }

    /** True if the ring was created with {@code flag}. */
    public boolean has(SetupFlag flag) {
        return (setupFlags & flag.abi()) != 0;
    }
}
