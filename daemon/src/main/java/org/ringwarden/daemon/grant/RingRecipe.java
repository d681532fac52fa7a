package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.util.List;

import org.ringwarden.linux.FileType;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.Enabler;
import org.ringwarden.policy.RingSpec;

/**
 * Everything {@link RingFactory} needs to build one ring, in kernel terms: what a compiled
 * policy says once the policy language is gone. Keeping the factory on this record (and not
 * on the policy model) lets it be tested with any combination the kernel accepts.
 *
 * @param policy          the policy's name, for messages
 * @param sqEntries       SQ entries asked of {@code io_uring_setup}
 * @param cqEntries       CQ entries, or 0 for the kernel's default (twice the SQ)
 * @param setupFlags      {@code IORING_SETUP_*} besides {@code R_DISABLED} (which the factory adds)
 * @param enableInDaemon  true if the daemon enables the ring; false leaves
 *                        {@code IORING_REGISTER_ENABLE_RINGS} to the client (single issuer)
 * @param files           the files the daemon opens and registers, in slot order
 * @param buffers         the buffers the daemon creates and registers, in index order
 * @param restrictions    the compiled restrictions (registered on every ring, even when empty)
 * @param maxClientFds    how many of its own descriptors a client may add after {@code files}
 */
public record RingRecipe(String policy, int sqEntries, int cqEntries, long setupFlags, boolean enableInDaemon,
                         List<FileOpen> files, List<BufferSpec> buffers, List<Restriction> restrictions,
                         int maxClientFds) {
    public RingRecipe {
        requireNonNull(policy, "policy");
        files = List.copyOf(files);
        buffers = List.copyOf(buffers);
        restrictions = List.copyOf(restrictions);
        if ((setupFlags & SetupFlag.SQPOLL.abi()) != 0) {
            // security.md: the SQ poll thread runs every SQE with the daemon's credentials.
            throw new IllegalArgumentException("policy " + policy + ": SQPOLL is never brokered");
        }
        if (sqEntries <= 0 || cqEntries < 0 || maxClientFds < 0) {
            throw new IllegalArgumentException("policy " + policy + ": bad ring size or client fd bound");
        }
    }

    /** The recipe of a compiled policy's ticketed ring. */
    public static RingRecipe of(CompiledPolicy p) {
        RingSpec r = p.ring();
        List<FileOpen> files = p.files().stream()
                .map(f -> new FileOpen(f.name(), f.path().toString(), f.openFlags(), f.createMode(), f.resolveFlags(),
                        f.type()))
                .toList();
        List<BufferSpec> buffers = p.buffers().stream().map(b -> new BufferSpec(b.name(), b.bytes())).toList();
        return new RingRecipe(p.name(), r.sqEntries(), r.cqEntries(), r.setupMask(), r.enabler() == Enabler.DAEMON,
                files, buffers, p.restrictions(), p.maxClientFds());
    }

    /** Registered-buffer bytes a ring of this recipe pins: what the buffer quotas count. */
    public long bufferBytes() {
        long sum = 0;
        for (BufferSpec b : buffers) {
            sum = Math.addExact(sum, b.length());
        }
        return sum;
    }

    /**
     * A file the daemon opens: {@code openat2(AT_FDCWD, path, {openFlags | O_CLOEXEC | O_NONBLOCK, createMode, resolve})},
     * kept only if {@code fstat} finds {@code type} ({@link RingFactory#openPolicyFile}).
     *
     * @param name       the policy's name for the slot
     * @param path       absolute path
     * @param openFlags  the access mode and other {@code O_*} flags
     * @param createMode permission bits when {@code openFlags} has {@code O_CREAT}, else 0
     * @param resolve    {@code RESOLVE_*} flags; {@code RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS}
     *                   unless the policy opts out
     * @param type       what the opened file must be; anything else is refused
     */
    public record FileOpen(String name, String path, int openFlags, int createMode, long resolve, FileType type) {
        public FileOpen {
            requireNonNull(name, "name");
            requireNonNull(path, "path");
            requireNonNull(type, "type");
            if (!path.startsWith("/")) {
                throw new IllegalArgumentException("file " + name + ": path must be absolute: " + path);
            }
        }

        /** A regular file. */
        public FileOpen(String name, String path, int openFlags, int createMode, long resolve) {
            this(name, path, openFlags, createMode, resolve, FileType.REGULAR);
        }
    }

    /** A registered buffer of {@code length} bytes (a positive multiple of the page size). */
    public record BufferSpec(String name, long length) {
        public BufferSpec {
            requireNonNull(name, "name");
            if (length <= 0 || length % 4096 != 0) {
                throw new IllegalArgumentException("buffer " + name + ": length must be a positive multiple of 4096: "
                        + length);
            }
        }
    }
}
