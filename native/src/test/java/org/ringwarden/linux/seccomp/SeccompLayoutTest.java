package org.ringwarden.linux.seccomp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class SeccompLayoutTest {
    @Test
    void structSizesMatchTheUapiHeader() {
        assertThat(SeccompLayout.DATA.byteSize()).as("sizeof(struct seccomp_data)").isEqualTo(64);
        assertThat(SeccompLayout.NOTIF.byteSize()).as("sizeof(struct seccomp_notif)").isEqualTo(80);
        assertThat(SeccompLayout.NOTIF_RESP.byteSize()).as("sizeof(struct seccomp_notif_resp)").isEqualTo(24);
        assertThat(SeccompLayout.NOTIF_ADDFD.byteSize()).as("sizeof(struct seccomp_notif_addfd)").isEqualTo(24);
        assertThat(SeccompLayout.NOTIF_NR).as("offsetof(seccomp_notif, data.nr)").isEqualTo(16);
        assertThat(SeccompLayout.NOTIF_ARCH).as("offsetof(seccomp_notif, data.arch)").isEqualTo(20);
        assertThat(SeccompLayout.NOTIF_IP).as("offsetof(seccomp_notif, data.instruction_pointer)").isEqualTo(24);
        assertThat(SeccompLayout.NOTIF_ARGS).as("offsetof(seccomp_notif, data.args)").isEqualTo(32);
        assertThat(SeccompLayout.RESP_ERROR).as("offsetof(seccomp_notif_resp, error)").isEqualTo(16);
        assertThat(SeccompLayout.ADDFD_NEWFD_FLAGS).as("offsetof(seccomp_notif_addfd, newfd_flags)").isEqualTo(20);
    }

    @Test
    void ioctlNumbersAreThoseTheCHeaderYields() {
        // Values printed by a C program including <linux/seccomp.h> on x86_64.
        assertThat(SeccompLayout.IOCTL_NOTIF_RECV).as("SECCOMP_IOCTL_NOTIF_RECV").isEqualTo(0xc0502100L);
        assertThat(SeccompLayout.IOCTL_NOTIF_SEND).as("SECCOMP_IOCTL_NOTIF_SEND").isEqualTo(0xc0182101L);
        assertThat(SeccompLayout.IOCTL_NOTIF_ID_VALID).as("SECCOMP_IOCTL_NOTIF_ID_VALID").isEqualTo(0x40082102L);
        assertThat(SeccompLayout.IOCTL_NOTIF_ADDFD).as("SECCOMP_IOCTL_NOTIF_ADDFD").isEqualTo(0x40182103L);
    }

    @Test
    void kernelReportsTheNotificationSizesOfTheHeader() {
        SeccompNotifSizes s = Seccomp.notifSizes();
        // A kernel that grows these structs still works (buffers use the larger size), but the
        // change should be noticed and the layouts reviewed.
        assertThat(s).as("SECCOMP_GET_NOTIF_SIZES on " + System.getProperty("os.version"))
                .isEqualTo(new SeccompNotifSizes(80, 24, 64));
    }
}
