package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.util.List;

import org.ringwarden.linux.uring.IoUringParams;
import org.ringwarden.policy.Allowed;

/**
 * What the server sends as the {@code grant} message (protocol.md, step 2), followed by the
 * buffers' memfds as descriptors in {@link #buffers()} order. The memfds belong to the lease:
 * the server sends them and must not close them.
 *
 * @param leaseId the lease, for {@code release}
 * @param policy  the policy's name
 * @param ticket  the single-use ticket the client passes to its trapped {@code io_uring_setup}
 * @param params  what {@code io_uring_setup} returned: sizes, flags, features, SQ/CQ offsets
 * @param enabled false if the client must call {@code IORING_REGISTER_ENABLE_RINGS}
 * @param files   the fixed files, policy's first, then the client's
 * @param buffers the registered buffers
 * @param allowed what the restrictions allow, by name
 */
public record Grant(String leaseId, String policy, long ticket, IoUringParams params, boolean enabled,
                   List<FileSlot> files, List<BufferGrant> buffers, Allowed allowed) {
    public Grant {
        requireNonNull(leaseId, "leaseId");
        requireNonNull(policy, "policy");
        requireNonNull(params, "params");
        files = List.copyOf(files);
        buffers = List.copyOf(buffers);
        requireNonNull(allowed, "allowed");
    }

    /** The buffer memfds in the order the {@code grant}'s {@code fds} announces them. */
    public int[] bufferFds() {
        return buffers.stream().mapToInt(BufferGrant::memfd).toArray();
    }
}
