package org.ringwarden.linux.uring;

/**
 * Receives completions from {@link Ring#reap}: the three fields of one
 * {@code struct io_uring_cqe}, passed as primitives so that reaping allocates nothing.
 */
@FunctionalInterface
public interface CompletionHandler {
    /**
     * @param userData the SQE's {@code user_data}
     * @param res      the result, or {@code -errno}
     * @param flags    {@code IORING_CQE_F_*}
     */
    void complete(long userData, int res, int flags);
}
