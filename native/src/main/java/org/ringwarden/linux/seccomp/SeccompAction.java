package org.ringwarden.linux.seccomp;

/**
 * What a seccomp filter returns for a system call ({@code SECCOMP_RET_*}): the action in the
 * upper 16 bits, optional data (an errno for {@code ERRNO}) in the lower 16.
 *
 * @param value the 32-bit return value of the BPF program
 */
public record SeccompAction(int value) {
    /** {@code SECCOMP_RET_KILL_PROCESS}: the whole process dies with SIGSYS, no handler runs. */
    public static final SeccompAction KILL_PROCESS = new SeccompAction(0x8000_0000);
    /** {@code SECCOMP_RET_KILL_THREAD}. */
    public static final SeccompAction KILL_THREAD = new SeccompAction(0x0000_0000);
    /** {@code SECCOMP_RET_TRAP}: SIGSYS to the thread. */
    public static final SeccompAction TRAP = new SeccompAction(0x0003_0000);
    /** {@code SECCOMP_RET_USER_NOTIF}: the call waits for the listener's answer ({@code ENOSYS} if there is none). */
    public static final SeccompAction USER_NOTIF = new SeccompAction(0x7fc0_0000);
    /** {@code SECCOMP_RET_LOG}: allowed, and logged. */
    public static final SeccompAction LOG = new SeccompAction(0x7ffc_0000);
    /** {@code SECCOMP_RET_ALLOW}. */
    public static final SeccompAction ALLOW = new SeccompAction(0x7fff_0000);

    private static final int RET_ERRNO = 0x0005_0000;
    /** {@code SECCOMP_RET_ACTION_FULL}: the action part of a return value. */
    public static final int ACTION_FULL_MASK = 0xffff_0000;
    /** {@code SECCOMP_RET_DATA}. */
    public static final int DATA_MASK = 0x0000_ffff;

    /** {@code SECCOMP_RET_ERRNO | errno}: the call fails with {@code errno} without reaching the kernel's implementation. */
    public static SeccompAction errno(int errno) {
        if (errno <= 0 || errno > 4095) {
            throw new IllegalArgumentException("errno out of range: " + errno);
        }
        return new SeccompAction(RET_ERRNO | errno);
    }

    /** The action without its data, as {@code SECCOMP_GET_ACTION_AVAIL} takes it. */
    public int action() {
        return value & ACTION_FULL_MASK;
    }

    @Override
    public String toString() {
        return switch (action()) {
            case 0x8000_0000 -> "KILL_PROCESS";
            case 0x0000_0000 -> "KILL_THREAD";
            case 0x0003_0000 -> "TRAP";
            case RET_ERRNO -> "ERRNO(" + (value & DATA_MASK) + ")";
            case 0x7fc0_0000 -> "USER_NOTIF";
            case 0x7ff0_0000 -> "TRACE(" + (value & DATA_MASK) + ")";
            case 0x7ffc_0000 -> "LOG";
            case 0x7fff_0000 -> "ALLOW";
            default -> String.format("0x%08x", value);
        };
    }
}
