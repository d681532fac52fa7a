package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelConstant;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.SqeFlag;

/** What compiled policies do on the running kernel: restrictions accepted, and enforced. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@RequiresRings
class CompiledPolicyKernelTest {
    static final PolicyLoader LOADER = new PolicyLoader(new PolicyLoader.Options(false, true, false, BrokenPolicyCorpusTest.ACCOUNTS));

    @org.junit.jupiter.api.BeforeAll
    static void needsIoUring() {
        String why = null;
        try {
            IoUringCalls.probeKernel();
        } catch (KernelException e) {
            why = e.getMessage();
        }
        org.assertj.core.api.Assumptions.assumeThat(why)
                .as("these tests need io_uring_setup to work here (kernel.io_uring_disabled = 0 or the test user in io_uring_group)")
                .isNull();
    }

    static CompiledPolicy compile(String json) throws PolicyException {
        PolicySet set = LOADER.parse("test.json", json.getBytes(StandardCharsets.UTF_8)).orThrow();
        return set.all().getFirst();
    }

    /** Makes the ring as the daemon would: disabled, restrictions, enable. */
    static TinyRing lockedRing(CompiledPolicy p) {
        TinyRing ring = new TinyRing(p.ring());
        try {
            IoUringCalls.registerRestrictions(ring.fd, p.restrictions());
            IoUringCalls.enableRings(ring.fd);
            return ring;
        } catch (RuntimeException e) {
            ring.close();
            throw e;
        }
    }

    @Test
    void everyBundledPolicyIsAcceptedAndEnforcedByTheKernel() throws PolicyException {
        for (CompiledPolicy p : LOADER.loadBundled().orThrow().all()) {
            int required = (int) KernelConstant.mask(p.allowed().sqeFlagsRequired());
            try (TinyRing ring = lockedRing(p)) {
                // OPENAT is in no bundled policy: refused even with the required flags.
                assertThat(p.allowed().sqeOps()).doesNotContain(IoUringOp.OPENAT);
                assertThat(ring.submitAndWait(IoUringOp.OPENAT, required, -1)).as("%s: OPENAT", p.name())
                        .isEqualTo(-Errno.EACCES.number());
                RegisterOp forbidden = List.of(RegisterOp.REGISTER_BUFFERS, RegisterOp.REGISTER_EVENTFD).stream()
                        .filter(op -> !p.allowed().registerOps().contains(op)).findFirst().orElseThrow();
                KernelException e = catchThrowableOfType(KernelException.class,
                        () -> IoUringCalls.register(ring.fd, forbidden, null, 0));
                assertThat(e).as("%s: register %s", p.name(), forbidden.shortName()).isNotNull();
                assertThat(e.is(Errno.EACCES)).as("%s: %s", p.name(), e.getMessage()).isTrue();
                assertThat(IoUringCalls.probe(ring.fd).supports(IoUringOp.NOP)).as("%s: PROBE still works", p.name()).isTrue();
            }
        }
    }

    @Test
    void policyListingNoRegisterOpStillRefusesRegisterCalls() throws PolicyException {
        CompiledPolicy p = compile("""
                { "name": "p", "description": "d", "subjects": { "uids": [0] }, "sqe": { "ops": ["NOP"] } }""");
        try (TinyRing ring = lockedRing(p)) {
            for (RegisterOp op : List.of(RegisterOp.REGISTER_FILES, RegisterOp.REGISTER_BUFFERS,
                    RegisterOp.REGISTER_PERSONALITY, RegisterOp.REGISTER_RESTRICTIONS, RegisterOp.REGISTER_EVENTFD)) {
                KernelException e = catchThrowableOfType(KernelException.class, () -> IoUringCalls.register(ring.fd, op, null, 0));
                assertThat(e).as("register %s", op.shortName()).isNotNull();
                assertThat(e.errnoName()).as("register %s", op.shortName()).isEqualTo("EACCES");
            }
        }
    }

    @Test
    void complainModeRingsLetTheKernelRunWhatTheListsLeaveOutButMsgRingAndRegisterCalls() throws PolicyException {
        CompiledPolicy p = compile("""
                { "name": "p", "description": "d", "subjects": { "uids": [0] }, "mode": "complain",
                  "sqe": { "ops": ["READ_FIXED"], "flagsRequired": ["FIXED_FILE"] } }""");
        assertThat(p.complains()).isTrue();
        assertThat(p.allowed().sqeOps()).as("the lists, for reporting").containsExactly(IoUringOp.READ_FIXED);
        try (TinyRing ring = lockedRing(p)) {
            assertThat(ring.submitAndWait(IoUringOp.NOP, 0, 0)).as("NOP, not listed, no FIXED_FILE: runs").isZero();
            assertThat(ring.submitAndWait(IoUringOp.NOP, (int) SqeFlag.IO_DRAIN.abi(), 0)).as("a flag outside the lists").isZero();
            assertThat(ring.submitAndWait(IoUringOp.MSG_RING, 0, -1)).as("MSG_RING: no policy may allow it")
                    .isEqualTo(-Errno.EACCES.number());
            assertThat(ring.submitAndWait(IoUringOp.FIXED_FD_INSTALL, (int) SqeFlag.FIXED_FILE.abi(), 0))
                    .as("FIXED_FD_INSTALL crosses the fixed-file boundary: only by name").isEqualTo(-Errno.EACCES.number());
            KernelException e = catchThrowableOfType(KernelException.class,
                    () -> IoUringCalls.register(ring.fd, RegisterOp.REGISTER_BUFFERS, null, 0));
            assertThat(e).as("register opcodes stay the policy's").isNotNull();
            assertThat(e.errnoName()).isEqualTo("EACCES");
        }
    }

    @Test
    void requiredFixedFileRefusesAPlainNopAndAllowsAFixedOne(@TempDir Path tmp) throws Exception {
        CompiledPolicy p = compile("""
                { "name": "p", "description": "d", "subjects": { "uids": [0] },
                  "sqe": { "ops": ["NOP"], "flagsRequired": ["FIXED_FILE"] } }""");
        try (TinyRing ring = lockedRing(p)) {
            assertThat(ring.submitAndWait(IoUringOp.NOP, 0, -1)).as("NOP without FIXED_FILE").isEqualTo(-Errno.EACCES.number());
            assertThat(ring.submitAndWait(IoUringOp.NOP, (int) SqeFlag.FIXED_FILE.abi(), 0)).as("NOP with FIXED_FILE").isZero();
            assertThat(ring.submitAndWait(IoUringOp.NOP, (int) (SqeFlag.FIXED_FILE.abi() | SqeFlag.IO_DRAIN.abi()), 0))
                    .as("a flag outside allowed and required").isEqualTo(-Errno.EACCES.number());
        }
    }

    @Test
    void fixedFileSpecOpensReadOnlyAndRefusesASymlinkedPath(@TempDir Path tmp) throws IOException, PolicyException {
        Path real = Files.writeString(tmp.resolve("data"), "hello");
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
        String json = """
                { "name": "p", "description": "d", "subjects": { "uids": [0] },
                  "sqe": { "ops": ["READ"], "flagsRequired": ["FIXED_FILE"] },
                  "files": [ { "name": "real", "path": "%s", "access": "read-write" },
                             { "name": "link", "path": "%s", "access": "read" } ] }""".formatted(real, link);
        CompiledPolicy p = compile(json);
        FileSpec ok = p.files().get(0);
        int fd = Descriptors.openat2(ok.path().toString(), ok.openFlags(), ok.createMode(), ok.resolveFlags());
        try {
            long fl = Descriptors.fcntl(fd, Descriptors.F_GETFL, 0);
            assertThat(fl & 3).as("read-write granted, only READ allowed: opened O_RDONLY").isEqualTo(Descriptors.O_RDONLY);
            assertThat(Descriptors.fcntl(fd, Descriptors.F_GETFD, 0) & Descriptors.FD_CLOEXEC).as("close-on-exec").isNotZero();
        } finally {
            Descriptors.close(fd);
        }
        FileSpec viaLink = p.files().get(1);
        KernelException e = catchThrowableOfType(KernelException.class, () -> Descriptors.openat2(viaLink.path().toString(),
                viaLink.openFlags(), viaLink.createMode(), viaLink.resolveFlags()));
        assertThat(e).as("a symlinked path is refused").isNotNull();
        assertThat(e.is(Errno.ELOOP)).as(e.getMessage()).isTrue();
    }
}
