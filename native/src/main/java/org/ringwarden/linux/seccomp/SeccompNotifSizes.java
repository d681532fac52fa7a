package org.ringwarden.linux.seccomp;

/**
 * What {@code seccomp(SECCOMP_GET_NOTIF_SIZES)} reports: the kernel's sizes of
 * {@code struct seccomp_notif}, {@code struct seccomp_notif_resp} and
 * {@code struct seccomp_data}. A newer kernel may report larger structs than the layouts in
 * {@link SeccompLayout}; buffers are allocated with the larger of the two.
 */
public record SeccompNotifSizes(int notif, int notifResp, int data) {
}
