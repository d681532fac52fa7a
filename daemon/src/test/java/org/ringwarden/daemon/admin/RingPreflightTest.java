package org.ringwarden.daemon.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The start-up check's explanations (a pure function), and the check itself on this kernel. */
class RingPreflightTest {
    private static RingPreflight.Facts facts(String disabled, String group, int uid, int gid, List<Integer> groups) {
        return new RingPreflight.Facts(disabled, group, uid, gid, groups, false, "65536 bytes, hard limit 65536 bytes");
    }

    private static String setupFails(String errno, RingPreflight.Facts f) {
        return RingPreflight.explain("io_uring_setup", errno, f);
    }

    @Test
    void disabledOneAndNotInTheGroupNamesTheUserTheGroupAndTheFix() {
        assertThat(setupFails("EPERM", facts("1", "990", 65534, 65534, List.of())))
                .startsWith("io_uring_setup: EPERM: kernel.io_uring_disabled=1 and this user (uid 65534) is not in"
                        + " kernel.io_uring_group (gid 990)")
                .contains("its groups are gid 65534")
                .contains("set kernel.io_uring_group to the daemon's group");
        assertThat(setupFails("EPERM", facts("1", "-1", 1000, 1000, List.of(4, 27))))
                .contains("is not in kernel.io_uring_group (gid -1, which is no group at all)")
                .contains("its groups are gid 1000, 4, 27");
    }

    @Test
    void disabledOneButAllowedPointsElsewhere() {
        assertThat(setupFails("EPERM", facts("1", "990", 991, 991, List.of(990))))
                .as("in the group through a supplementary group")
                .contains("this user (uid 991) is in kernel.io_uring_group (gid 990)").contains("seccomp filter");
        assertThat(setupFails("EPERM", facts("1", "990", 991, 990, List.of())))
                .as("in the group as its primary group").contains("is in kernel.io_uring_group (gid 990)");
        RingPreflight.Facts admin = new RingPreflight.Facts("1", "-1", 0, 0, List.of(), true, null);
        assertThat(setupFails("EPERM", admin)).contains("CAP_SYS_ADMIN").contains("seccomp filter");
    }

    @Test
    void disabledTwoIsForEveryone() {
        assertThat(setupFails("EPERM", facts("2", "990", 990, 990, List.of())))
                .startsWith("io_uring_setup: EPERM: kernel.io_uring_disabled=2: io_uring is disabled for everyone");
    }

    @Test
    void epermWithoutTheSysctlsRefusingIsAFilter() {
        assertThat(setupFails("EPERM", facts("0", "-1", 990, 990, List.of())))
                .contains("kernel.io_uring_disabled=0 lets everyone create rings").contains("seccomp filter");
        assertThat(setupFails("EPERM", facts(null, null, 990, 990, List.of())))
                .contains("no kernel.io_uring_disabled (before 6.6)").contains("seccomp filter");
    }

    @Test
    void enomemPrintsTheMemlockLimit() {
        assertThat(setupFails("ENOMEM", facts("0", "-1", 990, 990, List.of())))
                .startsWith("io_uring_setup: ENOMEM: ")
                .contains("RLIMIT_MEMLOCK, which is 65536 bytes, hard limit 65536 bytes for this process")
                .contains("LimitMEMLOCK=");
    }

    @Test
    void enosysAndEinvalAreTheKernel() {
        assertThat(setupFails("ENOSYS", facts(null, null, 0, 0, List.of())))
                .startsWith("io_uring_setup: ENOSYS: this kernel has no io_uring");
        assertThat(setupFails("EINVAL", facts("0", "-1", 0, 0, List.of()))).contains("IORING_SETUP_R_DISABLED");
        assertThat(RingPreflight.explain("io_uring_register(RESTRICTIONS)", "EINVAL", facts("0", "-1", 0, 0, List.of())))
                .startsWith("io_uring_register(RESTRICTIONS): EINVAL: this kernel cannot restrict rings");
    }

    @Test
    void thisProcessCanMakeRingsAndReadsItsOwnFacts() throws Exception {
        RingPreflight.check(); // the tests run where the daemon can work; a failure here says why
        RingPreflight.Facts f = RingPreflight.Facts.ofThisProcess();
        assertThat(f.uid()).isEqualTo(Integer.parseInt(SystemFacts.statusField("self", "Uid:").orElseThrow().split("\\s+")[1]));
        assertThat(f.memlock()).as("RLIMIT_MEMLOCK from /proc/self/limits").contains("hard limit");
    }
}
