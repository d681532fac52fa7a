package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.RestrictionType;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BundledPoliciesTest {
    private static final PolicyLoader LOADER = new PolicyLoader(PolicyLoader.Options.defaults());

    @Test
    void everyBundledPolicyLoadsWithoutErrorAgainstTheRunningKernel() throws PolicyException {
        LoadResult r = LOADER.loadBundled();
        assertThat(r.errors()).as("errors of the bundled set").isEmpty();
        PolicySet set = r.orThrow();
        assertThat(set.all()).extracting(CompiledPolicy::name)
                .as("bundled names").containsExactlyInAnyOrderElementsOf(PolicyLoader.BUNDLED);
        assertThat(set.origin()).isEqualTo("bundled");
    }

    @Test
    void bundledWarningsAreOnlyTheExpectedOnes() {
        // The sample files do not exist on a build machine; fio (a benchmarking policy, for root)
        // lets fio --fixedbufs register its own buffers, and netty (for root) lets Netty register its
        // provided-buffer rings, pinned memory the kernel charges to the ring; nothing else may warn:
        // no policy for everyone that pins memory or opens files (OPEN_TO_EVERYONE), no register list
        // without PROBE, no SQPOLL dropped, and no directory on a sample path that others may write
        // (REPLACEABLE_FILE: on a host where one is, that is a true finding about the host).
        List<PolicyProblem> w = LOADER.loadBundled().warnings();
        assertThat(w).as("warnings of the bundled set")
                .allSatisfy(p -> assertThat(p.code()).isIn(ProblemCode.FILE_NOT_OPENABLE, ProblemCode.DAEMON_CHARGED_MEMORY));
        assertThat(w).filteredOn(p -> p.code() == ProblemCode.DAEMON_CHARGED_MEMORY)
                .as("only fio's BUFFERS and netty's PBUF_RING pin memory")
                .extracting(PolicyProblem::file).allSatisfy(f -> assertThat(f).matches(".*(fio|netty)\\.json"))
                .hasSize(2);
    }

    @Test
    void noBundledPolicyForEveryoneOpensAFileOrPinsMemory() throws PolicyException {
        for (CompiledPolicy p : LOADER.loadBundled().orThrow().all()) {
            if (!p.acquirers().everyone()) {
                continue;
            }
            assertThat(p.files()).as("%s is for everyone: no file opened with the daemon's rights", p.name()).isEmpty();
            assertThat(p.buffers()).as("%s is for everyone: no buffer charged to the daemon", p.name()).isEmpty();
            assertThat(p.allowed().registerOps()).as("%s is for everyone: no register opcode that pins memory", p.name())
                    .doesNotContainAnyElementsOf(PolicyRules.CHARGED_TO_DAEMON);
        }
    }

    @Test
    void examplesDirectoryIsIdenticalToTheBundledResources() throws IOException {
        Path examples = Path.of("examples");
        for (String name : PolicyLoader.BUNDLED) {
            byte[] resource;
            try (var in = PolicyLoader.class.getResourceAsStream("bundled/" + name + ".json")) {
                resource = in.readAllBytes();
            }
            assertThat(Files.readAllBytes(examples.resolve(name + ".json")))
                    .as("policies/examples/%s.json must be a copy of the bundled resource", name).isEqualTo(resource);
        }
    }

    @Test
    void readerCompilesToReadOnlyFixedFileWithFixedFileRequired() throws PolicyException {
        CompiledPolicy reader = LOADER.loadBundled().orThrow().get("reader").orElseThrow();
        FileSpec data = reader.files().getFirst();
        assertThat(data.accessMode()).as("reader's file is read-only").isEqualTo(Descriptors.O_RDONLY);
        assertThat(data.openFlags() & Descriptors.O_CLOEXEC).as("O_CLOEXEC").isNotZero();
        assertThat(data.resolveFlags()).as("no symlinks, no magic links")
                .isEqualTo(Descriptors.RESOLVE_NO_SYMLINKS | Descriptors.RESOLVE_NO_MAGICLINKS);
        assertThat(reader.allowed().sqeFlagsRequired()).containsExactly(SqeFlag.FIXED_FILE);
        assertThat(reader.restrictions()).as("restriction entries of reader").containsExactly(
                Restriction.registerOp(RegisterOp.REGISTER_PROBE),
                Restriction.sqeOp(IoUringOp.NOP),
                Restriction.sqeOp(IoUringOp.READV),
                Restriction.sqeOp(IoUringOp.READ_FIXED),
                Restriction.sqeOp(IoUringOp.ASYNC_CANCEL),
                Restriction.sqeOp(IoUringOp.READ),
                Restriction.sqeOp(IoUringOp.FADVISE),
                Restriction.sqeFlagsAllowed((int) (SqeFlag.IO_LINK.abi() | SqeFlag.ASYNC.abi())),
                Restriction.sqeFlagsRequired((int) SqeFlag.FIXED_FILE.abi()));
        assertThat(reader.buffers()).containsExactly(new BufferSpec("io", 1 << 20));
    }

    @Test
    void appenderOpensItsLogWriteOnlyAppendCreate() throws PolicyException {
        CompiledPolicy appender = LOADER.loadBundled().orThrow().get("appender").orElseThrow();
        FileSpec log = appender.files().getFirst();
        assertThat(log.describeOpenFlags()).isEqualTo("O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC");
        assertThat(log.createMode()).isEqualTo(0640);
    }

    @Test
    void fastReaderIsClientEnabledSingleIssuer() throws PolicyException {
        CompiledPolicy p = LOADER.loadBundled().orThrow().get("fast-reader").orElseThrow();
        assertThat(p.ring().enabler()).isEqualTo(Enabler.CLIENT);
        assertThat(p.ring().setupFlags()).contains(SetupFlag.SINGLE_ISSUER, SetupFlag.DEFER_TASKRUN, SetupFlag.SUBMIT_ALL);
        assertThat(p.ring().creationFlags() & SetupFlag.R_DISABLED.abi()).as("created disabled").isNotZero();
    }

    @Test
    void fioServesTransparentUseAndRefusesSqpoll() throws PolicyException {
        CompiledPolicy p = LOADER.loadBundled().orThrow().get("fio").orElseThrow();
        assertThat(p.transparent().enabled()).isTrue();
        assertThat(p.transparent().disposition(SetupFlag.SQPOLL)).isEqualTo(FlagDisposition.REFUSE);
        assertThat(p.transparent().disposition(SetupFlag.SINGLE_ISSUER)).isEqualTo(FlagDisposition.DROP);
        assertThat(p.transparent().disposition(SetupFlag.IOPOLL)).isEqualTo(FlagDisposition.HONOUR);
        assertThat(p.files()).as("fio gets no daemon file").isEmpty();
        assertThat(p.mayAcquire(Subject.of(65534, 65534))).as("fio pins memory charged to the daemon: root only").isFalse();
        assertThat(p.restrictions()).filteredOn(r -> r.type() == RestrictionType.REGISTER_OP)
                .extracting(Restriction::value).as("BUFFERS, UNREGISTER_BUFFERS, FILES, UNREGISTER_FILES, PROBE")
                .containsExactly(0, 1, 2, 3, 8);
    }

    @Test
    void mariadbAllowsInnodbsVectoredPageIoAndItsShutdownNopOnly() throws PolicyException {
        CompiledPolicy p = LOADER.loadBundled().orThrow().get("mariadb").orElseThrow();
        assertThat(p.transparent().enabled()).isTrue();
        assertThat(p.restrictions()).as("tpool's aio_uring: READV and WRITEV for pages, NOP to stop its completion thread;"
                + " no register opcode but the implicit PROBE, no SQE flag").containsExactly(
                Restriction.registerOp(RegisterOp.REGISTER_PROBE),
                Restriction.sqeOp(IoUringOp.NOP),
                Restriction.sqeOp(IoUringOp.READV),
                Restriction.sqeOp(IoUringOp.WRITEV),
                Restriction.sqeFlagsAllowed(0),
                Restriction.sqeFlagsRequired(0));
        assertThat(p.transparent().disposition(SetupFlag.SQPOLL)).isEqualTo(FlagDisposition.REFUSE);
        assertThat(p.mayAcquire(Subject.of(65534, 65534))).as("root only until a drop-in names the server's user").isFalse();
    }

    @Test
    void nopHasRegisterProbeEvenThoughItNamesNoRegisterOpcode() throws PolicyException {
        CompiledPolicy p = LOADER.loadBundled().orThrow().get("nop").orElseThrow();
        assertThat(p.restrictions()).filteredOn(r -> r.type() == RestrictionType.REGISTER_OP)
                .as("at least one REGISTER_OP entry").containsExactly(Restriction.registerOp(RegisterOp.REGISTER_PROBE));
        assertThat(p.mayAcquire(Subject.of(65534, 65534))).as("nop is for everyone").isTrue();
    }
}
