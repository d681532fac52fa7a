package org.ringwarden.linux.uring;

import org.jspecify.annotations.Nullable;

/** SQE opcodes ({@code enum io_uring_op}), in ABI order through Linux 6.18: the ordinal is the opcode. */
public enum IoUringOp implements KernelConstant {
    NOP(0),
    READV(1),
    WRITEV(2),
    FSYNC(3),
    READ_FIXED(4),
    WRITE_FIXED(5),
    POLL_ADD(6),
    POLL_REMOVE(7),
    SYNC_FILE_RANGE(8),
    SENDMSG(9),
    RECVMSG(10),
    TIMEOUT(11),
    TIMEOUT_REMOVE(12),
    ACCEPT(13),
    ASYNC_CANCEL(14),
    LINK_TIMEOUT(15),
    CONNECT(16),
    FALLOCATE(17),
    OPENAT(18),
    CLOSE(19),
    FILES_UPDATE(20),
    STATX(21),
    READ(22),
    WRITE(23),
    FADVISE(24),
    MADVISE(25),
    SEND(26),
    RECV(27),
    OPENAT2(28),
    EPOLL_CTL(29),
    SPLICE(30),
    PROVIDE_BUFFERS(31),
    REMOVE_BUFFERS(32),
    TEE(33),
    SHUTDOWN(34),
    RENAMEAT(35),
    UNLINKAT(36),
    MKDIRAT(37),
    SYMLINKAT(38),
    LINKAT(39),
    MSG_RING(40),
    FSETXATTR(41),
    SETXATTR(42),
    FGETXATTR(43),
    GETXATTR(44),
    SOCKET(45),
    URING_CMD(46),
    SEND_ZC(47),
    SENDMSG_ZC(48),
    READ_MULTISHOT(49),
    WAITID(50),
    FUTEX_WAIT(51),
    FUTEX_WAKE(52),
    FUTEX_WAITV(53),
    FIXED_FD_INSTALL(54),
    FTRUNCATE(55),
    BIND(56),
    LISTEN(57),
    RECV_ZC(58),
    EPOLL_WAIT(59),
    READV_FIXED(60),
    WRITEV_FIXED(61),
    PIPE(62);

    private final long abi;

    IoUringOp(long abi) {
        this.abi = abi;
    }

    /** The number the kernel takes. */
    @Override
    public long abi() {
        return abi;
    }

    @Override
    public String kernelName() {
        return name();
    }

    @Override
    public String cName() {
        return "IORING_OP_" + name();
    }

    private static final IoUringOp[] BY_NUMBER = values();

    /** The opcode {@code number}; null if it is past the last opcode this enum knows. */
    public static @Nullable IoUringOp of(int number) {
        return number >= 0 && number < BY_NUMBER.length ? BY_NUMBER[number] : null;
    }

    /** The opcode number as the SQE's {@code opcode} byte carries it. */
    public int number() {
        return (int) abi;
    }
}
