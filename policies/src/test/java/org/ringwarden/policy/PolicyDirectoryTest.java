package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.BitSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelProbe;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PolicyDirectoryTest {
    static final PolicyLoader STRICT = new PolicyLoader(new PolicyLoader.Options(true, false, false, BrokenPolicyCorpusTest.ACCOUNTS));
    static final PolicyLoader RELAXED = new PolicyLoader(new PolicyLoader.Options(false, false, false, BrokenPolicyCorpusTest.ACCOUNTS));

    static String policy(String name, String ops) {
        return """
                {
                  "name": "%s",
                  "description": "test policy %s",
                  "subjects": { "users": ["alice"] },
                  "sqe": { "ops": [%s], "flagsRequired": ["FIXED_FILE"] }
                }
                """.formatted(name, name, ops);
    }

    static Path write(Path dir, String file, String text) throws IOException {
        Path p = dir.resolve(file);
        Files.writeString(p, text);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        return p;
    }

    static Path privateDir(Path parent) throws IOException {
        Path d = Files.createDirectory(parent.resolve("policies.d"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        return d;
    }

    @Test
    void brokenFileInDirectoryKeepsThePreviousSetInForce(@TempDir Path tmp) throws Exception {
        Path dir = privateDir(tmp);
        write(dir, "a.json", policy("a", "\"NOP\""));
        write(dir, "b.json", policy("b", "\"READ\""));
        PolicyStore store = PolicyStore.open(STRICT, dir);
        PolicySet before = store.current();
        assertThat(before.all()).extracting(CompiledPolicy::name).containsExactly("a", "b");

        write(dir, "b.json", policy("b", "\"READ\", \"WRITE\""));           // a good change...
        write(dir, "c.json", policy("c", "\"REED\""));                       // ...and a broken file
        LoadResult r = store.reload();
        assertThat(r.ok()).as("reload with a broken file fails").isFalse();
        assertThat(r.errors()).extracting(PolicyProblem::format).containsExactly(
                dir.resolve("c.json") + ":5:20: error: `REED` is not an SQE opcode; did you mean `READ`? [UNKNOWN_SQE_OP at $.sqe.ops[0]]");
        assertThat(store.current()).as("the previous set stays in force, not a partial one").isSameAs(before);
        assertThat(store.current().get("b").orElseThrow().allowed().sqeOpNames()).containsExactly("READ");

        Files.delete(dir.resolve("c.json"));
        assertThat(store.reload().ok()).as("reload after the fix").isTrue();
        assertThat(store.current().get("b").orElseThrow().allowed().sqeOpNames()).containsExactly("READ", "WRITE");
    }

    @Test
    void duplicatePolicyNamesAcrossFilesAreRefused(@TempDir Path tmp) throws IOException {
        Path dir = privateDir(tmp);
        write(dir, "one.json", policy("same", "\"NOP\""));
        write(dir, "two.json", policy("same", "\"NOP\""));
        LoadResult r = STRICT.loadDirectory(dir);
        assertThat(r.errors()).extracting(PolicyProblem::format).containsExactly(dir.resolve("two.json")
                + ":2:11: error: policy name `same` is already used by " + dir.resolve("one.json") + " [DUPLICATE_NAME at $.name]");
    }

    @Test
    void groupWritableFileIsRefusedUnlessRelaxed(@TempDir Path tmp) throws IOException {
        Path dir = privateDir(tmp);
        Path f = write(dir, "a.json", policy("a", "\"NOP\""));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw-r--"));
        LoadResult strict = STRICT.loadDirectory(dir);
        assertThat(strict.errors()).extracting(PolicyProblem::code).containsExactly(ProblemCode.INSECURE_PERMISSIONS);
        assertThat(strict.errors().getFirst().format()).isEqualTo(f + ": error: is writable by its group (mode 0664); only its "
                + "owner may write a policy (chmod go-w), or relax with --insecure-permissions for development [INSECURE_PERMISSIONS at $]");
        assertThat(RELAXED.loadDirectory(dir).ok()).as("relaxed mode loads it").isTrue();
    }

    @Test
    void worldWritableDirectoryIsRefused(@TempDir Path tmp) throws IOException {
        Path dir = privateDir(tmp);
        write(dir, "a.json", policy("a", "\"NOP\""));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThat(STRICT.loadDirectory(dir).errors()).extracting(PolicyProblem::code)
                .containsExactly(ProblemCode.INSECURE_PERMISSIONS);
    }

    @Test
    void fileOwnedByAnotherUserIsRefused(@TempDir Path tmp) throws IOException {
        assumeThat(System.getProperty("user.name")).as("chown needs root").isEqualTo("root");
        Path dir = privateDir(tmp);
        Path f = write(dir, "a.json", policy("a", "\"NOP\""));
        Files.setAttribute(f, "unix:uid", 65534);
        assertThat(STRICT.loadDirectory(dir).errors()).extracting(PolicyProblem::format).containsExactly(f
                + ": error: is owned by uid 65534, not by root or the daemon's user (uid 0); relax with "
                + "--insecure-permissions for development [INSECURE_PERMISSIONS at $]");
    }

    @Test
    void unknownUserOfTheRealSystemIsAnErrorAndRootResolvesToUidZero() throws PolicyException {
        PolicyLoader system = new PolicyLoader(new PolicyLoader.Options(false, false, false, SubjectResolver.system()));
        String text = """
                { "name": "u", "description": "d", "subjects": { "users": ["root", "rwtest-no-such-user"] },
                  "sqe": { "ops": ["NOP"] } }
                """;
        LoadResult r = system.parse("u.json", text.getBytes());
        assertThat(r.errors()).extracting(PolicyProblem::code).containsExactly(ProblemCode.UNKNOWN_USER);
        assertThat(r.errors().getFirst().message()).startsWith("`rwtest-no-such-user` is not a user of this system");
        PolicySet ok = system.parse("u.json", text.replace(", \"rwtest-no-such-user\"", "").getBytes()).orThrow();
        CompiledPolicy p = ok.get("u").orElseThrow();
        assertThat(p.acquirers().uids()).containsExactly(0);
        assertThat(ok.mayAcquire("u", Subject.of(0, 0))).isTrue();
        assertThat(ok.mayAcquire("u", Subject.of(65534, 65534))).as("nobody may not").isFalse();
        assertThat(ok.visibleTo(Subject.of(65534, 65534))).as("and does not see it").isEmpty();
    }

    @Test
    void groupMembershipBySupplementaryGroupAdmits() throws PolicyException {
        String text = """
                { "name": "g", "description": "d", "subjects": { "groups": ["wheel"], "gids": [4242] }, "sqe": { "ops": ["NOP"] } }
                """;
        PolicySet set = RELAXED.parse("g.json", text.getBytes()).orThrow();
        assertThat(set.mayAcquire("g", new Subject(1000, 1000, java.util.Set.of(10)))).as("supplementary wheel").isTrue();
        assertThat(set.mayAcquire("g", Subject.of(1000, 4242))).as("primary gid 4242").isTrue();
        assertThat(set.mayAcquire("g", Subject.of(1000, 1000))).as("neither").isFalse();
        assertThat(set.mayAcquire("nope", Subject.of(0, 0))).as("unknown policy").isFalse();
    }

    @Test
    void opcodeTheKernelDoesNotSupportIsKernelUnsupported() {
        // What a 5.10 kernel (last opcode TEE) would report; the running 6.18 kernel supports every named opcode.
        BitSet old = new BitSet();
        old.set(0, IoUringOp.TEE.number() + 1);
        PolicyLoader loader = new PolicyLoader(RELAXED.options(), new KernelProbe(IoUringOp.TEE.number(), old));
        LoadResult r = loader.parse("k.json", policy("k", "\"NOP\", \"SEND_ZC\"").getBytes());
        assertThat(r.errors()).extracting(PolicyProblem::format).containsExactly("k.json:5:27: error: `SEND_ZC` (opcode 47) "
                + "is not supported by the running kernel (" + System.getProperty("os.version") + ") [KERNEL_UNSUPPORTED at $.sqe.ops[1]]");
    }

    @Test
    void runningKernelProbeAcceptsEveryBundledOpcode() {
        PolicyLoader real = new PolicyLoader(RELAXED.options().withProbeKernel(true));
        LoadResult r = real.parse("all.json", policy("all", "\"NOP\", \"READ\", \"SEND\", \"RECV\"").getBytes());
        assertThat(r.problems()).as("no probe failure, no unsupported opcode on this kernel").isEmpty();
    }
}
