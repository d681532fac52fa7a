package org.ringwarden.linux.seccomp;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;

import org.ringwarden.linux.Ioctl;

/**
 * The seccomp user-notification UAPI ({@code include/uapi/linux/seccomp.h}): struct layouts
 * and the ioctl numbers derived from them. {@code SeccompLayoutTest} pins every number to the
 * value the C header yields on x86_64.
 */
public final class SeccompLayout {
    private SeccompLayout() {
    }

    /** {@code struct seccomp_data}: 64 bytes. */
    public static final StructLayout DATA = structLayout(
            JAVA_INT.withName("nr"),
            JAVA_INT.withName("arch"),
            JAVA_LONG.withName("instruction_pointer"),
            sequenceLayout(6, JAVA_LONG).withName("args")).withName("seccomp_data");

    /** {@code struct seccomp_notif}: 80 bytes. */
    public static final StructLayout NOTIF = structLayout(
            JAVA_LONG.withName("id"),
            JAVA_INT.withName("pid"),
            JAVA_INT.withName("flags"),
            DATA.withName("data")).withName("seccomp_notif");

    /** {@code struct seccomp_notif_resp}: 24 bytes. */
    public static final StructLayout NOTIF_RESP = structLayout(
            JAVA_LONG.withName("id"),
            JAVA_LONG.withName("val"),
            JAVA_INT.withName("error"),
            JAVA_INT.withName("flags")).withName("seccomp_notif_resp");

    /** {@code struct seccomp_notif_addfd}: 24 bytes. */
    public static final StructLayout NOTIF_ADDFD = structLayout(
            JAVA_LONG.withName("id"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("srcfd"),
            JAVA_INT.withName("newfd"),
            JAVA_INT.withName("newfd_flags")).withName("seccomp_notif_addfd");

    public static final long NOTIF_ID = off(NOTIF, "id");
    public static final long NOTIF_PID = off(NOTIF, "pid");
    public static final long NOTIF_FLAGS = off(NOTIF, "flags");
    public static final long NOTIF_NR = off(NOTIF, "data", "nr");
    public static final long NOTIF_ARCH = off(NOTIF, "data", "arch");
    public static final long NOTIF_IP = off(NOTIF, "data", "instruction_pointer");
    public static final long NOTIF_ARGS = off(NOTIF, "data", "args");

    public static final long RESP_ID = off(NOTIF_RESP, "id");
    public static final long RESP_VAL = off(NOTIF_RESP, "val");
    public static final long RESP_ERROR = off(NOTIF_RESP, "error");
    public static final long RESP_FLAGS = off(NOTIF_RESP, "flags");

    public static final long ADDFD_ID = off(NOTIF_ADDFD, "id");
    public static final long ADDFD_FLAGS = off(NOTIF_ADDFD, "flags");
    public static final long ADDFD_SRCFD = off(NOTIF_ADDFD, "srcfd");
    public static final long ADDFD_NEWFD = off(NOTIF_ADDFD, "newfd");
    public static final long ADDFD_NEWFD_FLAGS = off(NOTIF_ADDFD, "newfd_flags");

    /** {@code SECCOMP_IOC_MAGIC}. */
    public static final char IOC_MAGIC = '!';
    /** {@code SECCOMP_IOCTL_NOTIF_RECV = _IOWR('!', 0, struct seccomp_notif)} = 0xc0502100. */
    public static final long IOCTL_NOTIF_RECV = Ioctl.iowr(IOC_MAGIC, 0, NOTIF.byteSize());
    /** {@code SECCOMP_IOCTL_NOTIF_SEND = _IOWR('!', 1, struct seccomp_notif_resp)} = 0xc0182101. */
    public static final long IOCTL_NOTIF_SEND = Ioctl.iowr(IOC_MAGIC, 1, NOTIF_RESP.byteSize());
    /**
     * {@code SECCOMP_IOCTL_NOTIF_ID_VALID = _IOW('!', 2, __u64)} = 0x40082102. (Kernels before
     * 5.9 defined it as {@code _IOR}, 0x80082102; newer kernels accept both.)
     */
    public static final long IOCTL_NOTIF_ID_VALID = Ioctl.iow(IOC_MAGIC, 2, JAVA_LONG.byteSize());
    /** {@code SECCOMP_IOCTL_NOTIF_ADDFD = _IOW('!', 3, struct seccomp_notif_addfd)} = 0x40182103. */
    public static final long IOCTL_NOTIF_ADDFD = Ioctl.iow(IOC_MAGIC, 3, NOTIF_ADDFD.byteSize());

    /** {@code SECCOMP_ADDFD_FLAG_SETFD}: install at {@code newfd} (not used: the target chooses the lowest free fd). */
    public static final int ADDFD_FLAG_SETFD = 1;
    /**
     * {@code SECCOMP_ADDFD_FLAG_SEND}: install and answer in one step. Never used by ringwarden:
     * measured on 6.18 it lets an interrupted supervisor leave the target with a return value of
     * 0 instead of the fd (security.md).
     */
    public static final int ADDFD_FLAG_SEND = 2;
    /** {@code SECCOMP_USER_NOTIF_FLAG_CONTINUE}: let the call run in the kernel (never used: TOCTOU). */
    public static final int USER_NOTIF_FLAG_CONTINUE = 1;

    static long off(StructLayout layout, String... path) {
        PathElement[] elements = new PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = PathElement.groupElement(path[i]);
        }
        return layout.byteOffset(elements);
    }
}
