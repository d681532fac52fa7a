package org.ringwarden.daemon.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.LoadResult;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.policy.SubjectResolver;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.daemon.IoUringSysctl;

/** Rings built from policies written in the policy language and compiled by the policies module. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@IoUringSysctl.RequiresRings
class CompiledPolicyRingTest {
    @TempDir
    Path dir;
    private Path data;
    private ResourceSnapshot before;
    private final RingFactory factory = new RingFactory();

    @BeforeEach
    void makeFiles() throws Exception {
        data = dir.resolve("data");
        Files.writeString(data, "hello ring");
        before = ResourceSnapshot.take(dir);
    }

    @AfterEach
    void nothingLeaked() {
        assertThat(ResourceSnapshot.take(dir)).as("every fd and mapping is given back").isEqualTo(before);
    }

    private CompiledPolicy compile(String json) throws Exception {
        PolicyLoader loader = new PolicyLoader(new PolicyLoader.Options(false, true, false, SubjectResolver.system()));
        LoadResult r = loader.parse("test.json", json.getBytes(StandardCharsets.UTF_8));
        assertThat(r.errors()).as("the test policy compiles").isEmpty();
        return r.orThrow().all().get(0);
    }

    private String policy(String name, String ring, String file) {
        return """
                {"name": "%s", "description": "test", "subjects": {"users": ["root"]},
                 "ring": %s,
                 "sqe": {"ops": ["NOP", "READ_FIXED"], "flagsRequired": ["FIXED_FILE"]},
                 "files": [%s],
                 "buffers": [{"name": "io", "size": "64 KiB"}],
                 "limits": {"leasesPerUser": 2, "bufferBytesPerUser": "1 MiB"}}
                """.formatted(name, ring, file);
    }

    private String file(Path path, boolean follow) {
        return "{\"name\": \"data\", \"path\": \"" + path + "\", \"access\": \"read\""
                + (follow ? ", \"followSymlinks\": true" : "") + "}";
    }

    @Test
    void daemonEnabledPolicyGivesAnEnabledRingWithItsFlagsFilesAndBuffers() throws Exception {
        CompiledPolicy p = compile(policy("reader", "{\"sqEntries\": 16, \"setupFlags\": [\"SUBMIT_ALL\", \"COOP_TASKRUN\"]}",
                file(data, false)));
        RingRecipe recipe = RingRecipe.of(p);
        assertThat(recipe.bufferBytes()).isEqualTo(p.bufferBytesPerLease()).isEqualTo(64 << 10);
        try (PreparedRing ring = factory.create(recipe, new int[0])) {
            assertThat(ring.enabled()).isTrue();
            assertThat(ring.params().sqEntries()).isEqualTo(16);
            assertThat(ring.params().has(SetupFlag.SUBMIT_ALL)).isTrue();
            assertThat(ring.params().has(SetupFlag.COOP_TASKRUN)).isTrue();
            assertThat(ring.files()).containsExactly(new FileSlot(0, "data"));
            assertThat(ring.bufferBytes()).isEqualTo(64 << 10);
            assertThat(IoUringCalls.enter(ring.ringFd(), 0, 0, 0)).isZero();
            KernelException e = catchThrowableOfType(KernelException.class,
                    () -> IoUringCalls.registerFiles(ring.ringFd(), new int[] {-1}));
            assertThat(e).as("a policy with no register ops: only the compiler's PROBE is allowed").isNotNull();
            assertThat(e.errno()).isEqualTo(Errno.EACCES.number());
            assertThat(IoUringCalls.probe(ring.ringFd()).lastOp()).as("PROBE works").isPositive();
        }
    }

    @Test
    void clientEnabledPolicyLeavesTheRingDisabled() throws Exception {
        CompiledPolicy p = compile(policy("fast", "{\"sqEntries\": 8, \"setupFlags\": [\"SUBMIT_ALL\","
                + " \"SINGLE_ISSUER\", \"DEFER_TASKRUN\"], \"enabler\": \"client\"}", file(data, false)));
        try (PreparedRing ring = factory.create(RingRecipe.of(p), new int[0])) {
            assertThat(ring.enabled()).isFalse();
            assertThat(ring.params().has(SetupFlag.DEFER_TASKRUN)).isTrue();
            KernelException e = catchThrowableOfType(KernelException.class,
                    () -> IoUringCalls.enter(ring.ringFd(), 0, 0, 0));
            assertThat(e.errno()).as("disabled until the client enables").isEqualTo(Errno.EBADFD.number());
        }
    }

    @Test
    void pathSwappedForASymlinkAfterLoadIsRefusedWithEloop() throws Exception {
        Path real = dir.resolve("real");
        Files.createDirectory(real);
        Files.writeString(real.resolve("file"), "secret");
        Path sub = dir.resolve("sub");
        Files.createDirectory(sub);
        Files.writeString(sub.resolve("file"), "public");
        CompiledPolicy p = compile(policy("swap", "{\"sqEntries\": 8}", file(sub.resolve("file"), false)));
        // The race the resolve flags close: the directory the policy named becomes a symlink.
        Files.delete(sub.resolve("file"));
        Files.delete(sub);
        Files.createSymbolicLink(sub, real);
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> factory.create(RingRecipe.of(p), new int[0]));
        assertThat(e).as("RESOLVE_NO_SYMLINKS").isNotNull();
        assertThat(e.getMessage()).contains("ELOOP").contains("opening a policy file data");

        CompiledPolicy follow = compile(policy("follow", "{\"sqEntries\": 8}", file(sub.resolve("file"), true)));
        try (PreparedRing ring = factory.create(RingRecipe.of(follow), new int[0])) {
            assertThat(ring.files()).as("followSymlinks opts out").hasSize(1);
        }
    }

    @Test
    void aFilesTypeComesFromThePolicyAndAFileOfAnotherTypeIsRefused() throws Exception {
        String devNull = "{\"name\": \"data\", \"path\": \"/dev/null\", \"access\": \"read\"";
        CompiledPolicy device = compile(policy("device", "{\"sqEntries\": 8}", devNull + ", \"type\": \"char-device\"}"));
        try (PreparedRing ring = factory.create(RingRecipe.of(device), new int[0])) {
            assertThat(ring.files()).as("a character device, as the policy says").hasSize(1);
        }
        CompiledPolicy regular = compile(policy("regular", "{\"sqEntries\": 8}", devNull + "}"));
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> factory.create(RingRecipe.of(regular), new int[0]));
        assertThat(e).as("no `type`: a regular file").isNotNull();
        assertThat(e.getMessage()).contains("data (/dev/null) refused: it is a character device, not a regular file");
    }

    @Test
    void compiledRestrictionsAlwaysCarryARegisterOp() throws Exception {
        CompiledPolicy p = compile(policy("r", "{\"sqEntries\": 8}", file(data, false)));
        assertThat(p.allowed().registerOps()).as("the compiler's harmless PROBE").containsExactly(RegisterOp.REGISTER_PROBE);
    }
}
