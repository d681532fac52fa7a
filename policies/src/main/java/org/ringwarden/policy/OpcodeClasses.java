package org.ringwarden.policy;

import static org.ringwarden.linux.uring.IoUringOp.*;

import java.util.EnumSet;
import java.util.Set;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.uring.IoUringOp;

/** What opcodes do to a file: the basis of least open modes and of the risk warnings. */
final class OpcodeClasses {
    private OpcodeClasses() {
    }

    /** Opcodes that read from their file (so it must be open for reading). */
    static final Set<IoUringOp> READS = EnumSet.of(READV, READ_FIXED, RECVMSG, READ, RECV, SPLICE, TEE,
            READ_MULTISHOT, RECV_ZC, READV_FIXED);

    /** Opcodes that write to or change the size of their file (so it must be open for writing). */
    static final Set<IoUringOp> WRITES = EnumSet.of(WRITEV, WRITE_FIXED, SENDMSG, WRITE, SEND, SPLICE, TEE,
            SEND_ZC, SENDMSG_ZC, FALLOCATE, FTRUNCATE, WRITEV_FIXED);

    /**
     * Opcodes that take a path or no file at all: they act with the client's own rights, but
     * through the ring, where its seccomp filter does not look. Requiring {@code FIXED_FILE}
     * blocks the path-taking ones ({@code OPENAT}, {@code OPENAT2} reject it with {@code -EBADF}).
     */
    static final Set<IoUringOp> UNFIXED = EnumSet.of(OPENAT, OPENAT2, STATX, UNLINKAT, RENAMEAT, MKDIRAT,
            SYMLINKAT, LINKAT, SETXATTR, GETXATTR, SOCKET, MSG_RING, URING_CMD, FUTEX_WAIT, FUTEX_WAKE,
            FUTEX_WAITV, WAITID, PIPE, MADVISE);

    /**
     * The least {@code O_ACCMODE} plus {@code O_APPEND}/{@code O_CREAT} a fixed file needs: read
     * only if the policy grants reading and a read opcode is allowed, write likewise; a file
     * no allowed opcode reads or writes is opened read-only, or write-only if the policy grants no reading.
     */
    static int leastMode(PolicyDefinition.FileDef f, Set<IoUringOp> ops) {
        boolean read = f.mayRead() && ops.stream().anyMatch(READS::contains);
        boolean write = f.mayWrite() && ops.stream().anyMatch(WRITES::contains);
        int flags;
        if (read || write) {
            flags = read && write ? Descriptors.O_RDWR : write ? Descriptors.O_WRONLY : Descriptors.O_RDONLY;
        } else {
            // No allowed opcode reads or writes it: open it in a mode the policy granted (a write-only
            // file must not become readable), with no opcode that could use that mode.
            flags = f.mayRead() ? Descriptors.O_RDONLY : Descriptors.O_WRONLY;
        }
        if ((write || !f.mayRead()) && f.access().contains(PolicyDefinition.Access.APPEND)) {
            flags |= Descriptors.O_APPEND;
        }
        if (write && f.access().contains(PolicyDefinition.Access.CREATE)) {
            flags |= Descriptors.O_CREAT;
        }
        return flags;
    }

    /** What the policy's words ask for, before narrowing. */
    static int requestedMode(PolicyDefinition.FileDef f) {
        boolean read = f.mayRead();
        boolean write = f.mayWrite();
        int flags = read && write ? Descriptors.O_RDWR : write ? Descriptors.O_WRONLY : Descriptors.O_RDONLY;
        if (f.access().contains(PolicyDefinition.Access.APPEND)) {
            flags |= Descriptors.O_APPEND;
        }
        if (f.access().contains(PolicyDefinition.Access.CREATE)) {
            flags |= Descriptors.O_CREAT;
        }
        return flags;
    }
}
