package org.ringwarden.linux.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.ringwarden.linux.uring.RingFixtures.assertFailsWith;
import static org.ringwarden.linux.uring.RingFixtures.await;
import static org.ringwarden.linux.uring.RingFixtures.nop;
import static org.ringwarden.linux.uring.RingFixtures.sqe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;

/**
 * {@code IORING_REGISTER_RESTRICTIONS} on the running kernel: every behaviour liburing's
 * {@code test/register-restrictions.c} checks, and the ones ringwarden's security rests on
 * (security.md, "The mechanism").
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@RequiresRings
class RestrictionTest {
    private static final int EACCES = -Errno.EACCES.number();
    private static final long R_DISABLED = SetupFlag.R_DISABLED.abi();
    private static final int FIXED_FILE = (int) SqeFlag.FIXED_FILE.abi();

    private int openBefore;
    private Arena arena;
    private MemorySegment word;
    private MemorySegment iovec;

    @BeforeEach
    void setUp() {
        assertThat(openBefore).isZero(); // loads AssertJ before counting: its jar is an open fd
        openBefore = Descriptors.countOpen();
        arena = Arena.ofConfined();
        word = arena.allocate(8, 8);
        word.set(ValueLayout.JAVA_LONG, 0, 0x0123_4567_89ab_cdefL);
        iovec = arena.allocate(IoUringLayout.IOVEC);
        iovec.set(ValueLayout.JAVA_LONG, 0, word.address());
        iovec.set(ValueLayout.JAVA_LONG, 8, word.byteSize());
    }

    @AfterEach
    void tearDown() {
        arena.close();
        assertThat(Descriptors.countOpen()).as("open descriptors after the test (before: %d): %s", openBefore,
                RingFixtures.openDescriptors())
                .isEqualTo(openBefore);
    }

    private void writev(Ring ring, int fd, int flags, long userData) {
        long sqe = sqe(ring);
        Sqe.prepWritev(ring.sqes(), sqe, fd, iovec.address(), 1, 0);
        Sqe.setFlags(ring.sqes(), sqe, flags);
        Sqe.setUserData(ring.sqes(), sqe, userData);
    }

    private void readv(Ring ring, int fd, int flags, long userData) {
        long sqe = sqe(ring);
        Sqe.prepReadv(ring.sqes(), sqe, fd, iovec.address(), 1, 0);
        Sqe.setFlags(ring.sqes(), sqe, flags);
        Sqe.setUserData(ring.sqes(), sqe, userData);
    }

    private static void restrictAndEnable(Ring ring, Restriction... restrictions) {
        IoUringCalls.registerRestrictions(ring.fd(), List.of(restrictions));
        IoUringCalls.enableRings(ring.fd());
    }

    // ------------------------------------------------------------ liburing's register-restrictions.c

    @Test
    void disallowedOpcodeCompletesWithEaccesAndAllowedOpcodeCompletes() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            int[] pipe = res.pipe();
            Ring ring = res.newRing(8, R_DISABLED);
            restrictAndEnable(ring, Restriction.sqeOp(IoUringOp.WRITEV), Restriction.sqeOp(IoUringOp.WRITE));
            writev(ring, pipe[1], 0, 1);
            readv(ring, pipe[0], 0, 2);
            assertThat(ring.submitAndWait(2)).as("submitted (the refused READV is the last)").isEqualTo(2);
            assertThat(await(ring, 2)).as("allowed WRITEV writes 8 bytes, READV is refused")
                    .containsOnly(Map.entry(1L, 8), Map.entry(2L, EACCES));
        }
    }

    @Test
    void registerOpNotAllowedFailsWithEacces() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            int[] pipe = res.pipe();
            Ring ring = res.newRing(8, R_DISABLED);
            restrictAndEnable(ring, Restriction.registerOp(RegisterOp.REGISTER_BUFFERS));
            IoUringCalls.registerBuffers(ring.fd(), List.of(word)); // allowed
            assertFailsWith(Errno.EACCES, "REGISTER_FILES not in the restriction set",
                    () -> IoUringCalls.registerFiles(ring.fd(), pipe));
        }
    }

    @Test
    void rawFdIsRefusedWhereFixedFileIsRequired() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            int[] pipe = res.pipe();
            Ring ring = res.newRing(8, R_DISABLED);
            restrictAndEnable(ring, Restriction.sqeOp(IoUringOp.WRITEV), Restriction.sqeOp(IoUringOp.READV),
                    Restriction.sqeFlagsRequired(FIXED_FILE), Restriction.registerOp(RegisterOp.REGISTER_FILES));
            IoUringCalls.registerFiles(ring.fd(), pipe); // slot 0 read end, slot 1 write end
            writev(ring, 1, FIXED_FILE, 1);
            readv(ring, 0, FIXED_FILE, 2);
            writev(ring, pipe[1], 0, 3);
            assertThat(ring.submitAndWait(3)).as("submitted").isEqualTo(3);
            assertThat(await(ring, 3)).as("fixed WRITEV and READV work, a raw-fd WRITEV is refused")
                    .containsOnly(Map.entry(1L, 8), Map.entry(2L, 8), Map.entry(3L, EACCES));
        }
    }

    @Test
    void sqeFlagsOutsideAllowedOrWithoutRequiredCompleteWithEacces() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            int[] pipe = res.pipe();
            Ring ring = res.newRing(8, R_DISABLED);
            int async = (int) SqeFlag.ASYNC.abi();
            int link = (int) SqeFlag.IO_LINK.abi();
            int drain = (int) SqeFlag.IO_DRAIN.abi();
            IoUringCalls.registerRestrictions(ring.fd(), List.of(Restriction.sqeOp(IoUringOp.WRITEV),
                    Restriction.sqeFlagsAllowed(async | link), Restriction.sqeFlagsRequired(FIXED_FILE)));
            // Before enabling, register calls are not restricted (security.md).
            IoUringCalls.registerFiles(ring.fd(), pipe);
            IoUringCalls.enableRings(ring.fd());

            writev(ring, 1, FIXED_FILE, 1);
            writev(ring, 1, FIXED_FILE | async, 2);
            writev(ring, 1, FIXED_FILE | link, 3);
            assertThat(ring.submit()).as("three allowed SQEs").isEqualTo(3);
            int[][] refused = {{FIXED_FILE | drain, 1}, {drain, pipe[1]}, {async, pipe[1]}, {0, pipe[1]}};
            for (int i = 0; i < refused.length; i++) {
                writev(ring, refused[i][1], refused[i][0], 4 + i);
                assertThat(ring.submit()).as("SQE %d submitted alone", 4 + i).isEqualTo(1);
            }
            Map<Long, Integer> results = await(ring, 7);
            for (long u = 1; u <= 3; u++) {
                assertThat(results.get(u)).as("WRITEV %d with allowed flags", u).isEqualTo(8);
            }
            for (long u = 4; u <= 7; u++) {
                assertThat(results.get(u)).as("WRITEV %d: flags outside allowed or FIXED_FILE missing", u)
                        .isEqualTo(EACCES);
            }
        }
    }

    @Test
    void emptyRestrictionSetRefusesEveryOpcodeAndRegisterOp() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            int[] pipe = res.pipe();
            Ring ring = res.newRing(8, R_DISABLED);
            restrictAndEnable(ring);
            assertFailsWith(Errno.EACCES, "REGISTER_BUFFERS with an empty set",
                    () -> IoUringCalls.registerBuffers(ring.fd(), List.of(word)));
            assertFailsWith(Errno.EACCES, "REGISTER_FILES with an empty set",
                    () -> IoUringCalls.registerFiles(ring.fd(), pipe));
            writev(ring, pipe[1], 0, 1);
            assertThat(ring.submitAndWait(1)).as("submitted").isEqualTo(1);
            assertThat(await(ring, 1)).as("WRITEV with an empty set").containsOnly(Map.entry(1L, EACCES));
        }
    }

    @Test
    void restrictionsOnAnEnabledRingFailWithEbadfd() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, 0);
            assertFailsWith(Errno.EBADFD, "RESTRICTIONS on a ring created enabled",
                    () -> IoUringCalls.registerRestrictions(ring.fd(), List.of(Restriction.sqeOp(IoUringOp.WRITEV))));
            assertFailsWith(Errno.EBADFD, "ENABLE_RINGS on a ring created enabled",
                    () -> IoUringCalls.enableRings(ring.fd()));
        }
    }

    @Test
    void enterOnADisabledRingFailsWithEbadfd() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, R_DISABLED);
            nop(ring, 1, 0);
            assertFailsWith(Errno.EBADFD, "io_uring_enter on a disabled ring", ring::submit);
            assertThat(ring.pending()).as("the NOP stays pending").isEqualTo(1);
            IoUringCalls.enableRings(ring.fd());
            assertThat(ring.submitAndWait(1)).as("the kept NOP submitted once enabled").isEqualTo(1);
            assertThat(await(ring, 1)).containsOnly(Map.entry(1L, 0));
        }
    }

    // ------------------------------------------------------------ what ringwarden relies on beyond that

    @Test
    void registeringRestrictionsTwiceFailsWithEbusy() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, R_DISABLED);
            IoUringCalls.registerRestrictions(ring.fd(), List.of(Restriction.sqeOp(IoUringOp.NOP)));
            assertFailsWith(Errno.EBUSY, "a second RESTRICTIONS on a disabled ring",
                    () -> IoUringCalls.registerRestrictions(ring.fd(), List.of(Restriction.sqeOp(IoUringOp.READ))));
            IoUringCalls.enableRings(ring.fd());
            nop(ring, 1, 0);
            ring.submitAndWait(1);
            assertThat(await(ring, 1)).as("the first set holds").containsOnly(Map.entry(1L, 0));
        }
    }

    @Test
    void restrictionsAndEnableOnAnEnabledRestrictedRingFail() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            // Not listed: the register-op check comes first, EACCES.
            Ring unlisted = res.newRing(8, R_DISABLED);
            restrictAndEnable(unlisted, Restriction.sqeOp(IoUringOp.NOP), Restriction.registerOp(RegisterOp.REGISTER_PROBE));
            assertFailsWith(Errno.EACCES, "RESTRICTIONS again, not listed",
                    () -> IoUringCalls.registerRestrictions(unlisted.fd(), List.of(Restriction.sqeOp(IoUringOp.READ))));
            assertFailsWith(Errno.EACCES, "ENABLE_RINGS again, not listed", () -> IoUringCalls.enableRings(unlisted.fd()));
            // Listed: they pass the register-op check and hit the state check, EBADFD.
            Ring listed = res.newRing(8, R_DISABLED);
            restrictAndEnable(listed, Restriction.sqeOp(IoUringOp.NOP),
                    Restriction.registerOp(RegisterOp.REGISTER_RESTRICTIONS),
                    Restriction.registerOp(RegisterOp.REGISTER_ENABLE_RINGS));
            assertFailsWith(Errno.EBADFD, "RESTRICTIONS again, listed, on an enabled ring",
                    () -> IoUringCalls.registerRestrictions(listed.fd(), List.of(Restriction.sqeOp(IoUringOp.READ))));
            assertFailsWith(Errno.EBADFD, "ENABLE_RINGS again, listed, on an enabled ring",
                    () -> IoUringCalls.enableRings(listed.fd()));
        }
    }

    @Test
    void nopWithoutRequiredFixedFileGetsEaccesAndWithItSucceeds() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, R_DISABLED | SetupFlag.SUBMIT_ALL.abi());
            restrictAndEnable(ring, Restriction.sqeOp(IoUringOp.NOP), Restriction.sqeFlagsRequired(FIXED_FILE));
            nop(ring, 1, 0);
            nop(ring, 2, FIXED_FILE);
            assertThat(ring.submitAndWait(2)).as("submitted").isEqualTo(2);
            assertThat(await(ring, 2)).as("a required flag applies to every SQE, even a NOP")
                    .containsOnly(Map.entry(1L, EACCES), Map.entry(2L, 0));
        }
    }

    /**
     * A set without any REGISTER_OP entry: kernels up to 6.18 refuse every register opcode;
     * kernels with "io_uring: track restrictions separately for IORING_OP and IORING_REGISTER"
     * (2026) leave them all open (docs/security.md). Which one this kernel does is probed with
     * REGISTER_PROBE, not read from the version string; either way every register opcode must
     * be treated alike. The policy compiler's rule (always emit a REGISTER_OP entry) is what
     * keeps policies safe on both, and {@link #setListingOnlyProbeRefusesEveryOtherRegisterOp}
     * shows that one entry restricts the rest.
     */
    @Test
    void setWithoutRegisterOpEntryTreatsEveryRegisterOpAlike() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            int[] pipe = res.pipe();
            Ring ring = res.newRing(8, R_DISABLED);
            restrictAndEnable(ring, Restriction.sqeOp(IoUringOp.NOP));
            boolean registerOpen = probeAllowed(ring);
            if (registerOpen) {
                IoUringCalls.registerFiles(ring.fd(), pipe); // open like PROBE: must not throw
            } else {
                assertFailsWith(Errno.EACCES, "REGISTER_FILES with SQE_OP entries only, where PROBE was refused",
                        () -> IoUringCalls.registerFiles(ring.fd(), pipe));
            }
        }
    }

    /** REGISTER_PROBE on an enabled, restricted ring: true if allowed, false if refused with EACCES. */
    private static boolean probeAllowed(Ring ring) {
        try {
            IoUringCalls.probe(ring.fd());
            return true;
        } catch (KernelException e) {
            assertThat(e.is(Errno.EACCES)).as("REGISTER_PROBE refused with EACCES, not: %s", e.getMessage()).isTrue();
            return false;
        }
    }

    @Test
    void setListingOnlyProbeRefusesEveryOtherRegisterOp() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            int[] pipe = res.pipe();
            Ring ring = res.newRing(8, R_DISABLED);
            restrictAndEnable(ring, Restriction.sqeOp(IoUringOp.NOP), Restriction.registerOp(RegisterOp.REGISTER_PROBE));
            assertThat(IoUringCalls.probe(ring.fd()).supports(IoUringOp.NOP)).as("PROBE is listed and works").isTrue();
            assertFailsWith(Errno.EACCES, "REGISTER_FILES when only PROBE is listed",
                    () -> IoUringCalls.registerFiles(ring.fd(), pipe));
            assertFailsWith(Errno.EACCES, "REGISTER_BUFFERS when only PROBE is listed",
                    () -> IoUringCalls.registerBuffers(ring.fd(), List.of(word)));
            assertFailsWith(Errno.EACCES, "REGISTER_PERSONALITY when only PROBE is listed",
                    () -> IoUringCalls.register(ring.fd(), RegisterOp.REGISTER_PERSONALITY, null, 0));
        }
    }

    @Test
    void refusedSqeEndsTheBatchAndTheRingSubmitsTheRestLater() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, R_DISABLED);
            restrictAndEnable(ring, Restriction.sqeOp(IoUringOp.NOP));
            nop(ring, 1, 0);
            long refused = sqe(ring);
            Sqe.prepRead(ring.sqes(), refused, 0, word.address(), 8, 0);
            Sqe.setUserData(ring.sqes(), refused, 2);
            nop(ring, 3, 0);
            nop(ring, 4, 0);
            assertThat(ring.submit()).as("consumed up to and including the refused READ").isEqualTo(2);
            assertThat(ring.pending()).as("kept for the next submit").isEqualTo(2);
            assertThat(ring.sqSpace()).as("kept slots are not handed out").isEqualTo(6);
            assertThat(await(ring, 2)).as("first part of the batch")
                    .containsOnly(Map.entry(1L, 0), Map.entry(2L, EACCES));
            assertThat(ring.submit()).as("the rest of the batch").isEqualTo(2);
            assertThat(ring.pending()).as("pending after the second submit").isZero();
            assertThat(await(ring, 2)).as("second part, each exactly once")
                    .containsOnly(Map.entry(3L, 0), Map.entry(4L, 0));
            assertThat(ring.cqReady()).as("nothing submitted twice").isZero();
        }
    }

    @Test
    void refusedSqeDoesNotEndTheBatchWithSubmitAll() throws Exception {
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            Ring ring = res.newRing(8, R_DISABLED | SetupFlag.SUBMIT_ALL.abi());
            restrictAndEnable(ring, Restriction.sqeOp(IoUringOp.NOP));
            nop(ring, 1, 0);
            long refused = sqe(ring);
            Sqe.prepRead(ring.sqes(), refused, 0, word.address(), 8, 0);
            Sqe.setUserData(ring.sqes(), refused, 2);
            nop(ring, 3, 0);
            nop(ring, 4, 0);
            assertThat(ring.submitAndWait(4)).as("SUBMIT_ALL consumes the whole batch").isEqualTo(4);
            assertThat(ring.pending()).as("pending").isZero();
            assertThat(await(ring, 4)).as("completions")
                    .containsOnly(Map.entry(1L, 0), Map.entry(2L, EACCES), Map.entry(3L, 0), Map.entry(4L, 0));
        }
    }
}
