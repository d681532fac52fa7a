package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.ringwarden.policy.PolicyDirectoryTest.RELAXED;
import static org.ringwarden.policy.PolicyDirectoryTest.write;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.RegisterOp;

/** {@code extends}, drop-ins ({@code NAME.d/*.json}) and {@code @group} names (docs/policies.md, "Composing policies"). */
class PolicyCompositionTest {
    @TempDir
    Path dir;

    private static final String BASE = """
            {
              "name": "base",
              "description": "reads the sample file",
              "subjects": { "users": ["alice"] },
              "ring": { "sqEntries": 64, "setupFlags": ["SUBMIT_ALL"] },
              "sqe": { "ops": ["NOP", "READ_FIXED"], "flagsRequired": ["FIXED_FILE"] },
              "files": [ { "name": "data", "path": "/srv/data", "access": "read" } ],
              "buffers": [ { "name": "io", "size": "1 MiB" } ],
              "limits": { "leasesPerUser": 8, "bufferBytesPerUser": "8 MiB" }
            }
            """;

    private PolicySet load() {
        LoadResult r = RELAXED.loadDirectory(dir);
        assertThat(r.errors()).as("errors").isEmpty();
        return r.policies().orElseThrow();
    }

    private List<String> problems() {
        return RELAXED.loadDirectory(dir).problems().stream()
                .map(p -> p.format().replace(dir + "/", "")).toList();
    }

    @Test
    void aPolicyThatExtendsABaseGetsItsListsAndValuesAndOverridesWhatItWrites() throws IOException {
        write(dir, "base.json", BASE);
        write(dir, "wide.json", """
                {
                  "name": "wide",
                  "extends": ["base"],
                  "ring": { "sqEntries": 256 },
                  "sqe": { "ops": ["READ", "READ_FIXED"] }
                }
                """);
        CompiledPolicy wide = load().get("wide").orElseThrow();
        assertThat(wide.allowed().sqeOps()).containsExactlyInAnyOrder(IoUringOp.NOP, IoUringOp.READ_FIXED, IoUringOp.READ);
        assertThat(wide.ring().sqEntries()).isEqualTo(256);
        assertThat(wide.description()).as("inherited").isEqualTo("reads the sample file");
        assertThat(wide.files()).extracting(FileSpec::name).containsExactly("data");
        assertThat(wide.buffers()).extracting(BufferSpec::name).containsExactly("io");
        assertThat(wide.allowed().sqeFlagsRequired()).as("inherited").isNotEmpty();
        assertThat(load().get("base").orElseThrow().allowed().sqeOps()).as("the base is unchanged")
                .containsExactlyInAnyOrder(IoUringOp.NOP, IoUringOp.READ_FIXED);
    }

    @Test
    void ofTwoBasesEachLimitIsTheStricterUnlessThePolicySetsItItself() throws IOException {
        write(dir, "base.json", BASE);
        write(dir, "small.json", """
                { "name": "small", "description": "d", "subjects": { "users": ["alice"] },
                  "sqe": { "ops": ["NOP"], "flagsRequired": ["FIXED_FILE"] },
                  "limits": { "leasesPerUser": 16, "bufferBytesPerUser": "2 MiB" } }
                """);
        write(dir, "both.json", """
                { "name": "both", "extends": ["base", "small"] }
                """);
        write(dir, "mine.json", """
                { "name": "mine", "extends": ["base", "small"], "limits": { "leasesPerUser": 32 } }
                """);
        PolicySet set = load();
        assertThat(set.get("both").orElseThrow().limits()).isEqualTo(new Limits(8, 2L << 20));
        assertThat(set.get("mine").orElseThrow().limits()).as("its own value wins").isEqualTo(new Limits(32, 2L << 20));
    }

    @Test
    void dropInsApplyInNameOrderAfterThePolicyAndAnEmptyListClearsWhatWasInherited() throws IOException {
        write(dir, "base.json", BASE);
        Path d = Files.createDirectory(dir.resolve("base.d"));
        write(d, "20-more.json", """
                { "sqe": { "ops": ["READ"] }, "ring": { "sqEntries": 128 } }
                """);
        write(d, "10-first.json", """
                { "ring": { "sqEntries": 32 }, "buffers": [] }
                """);
        EffectivePolicy e = load().effective("base").orElseThrow();
        CompiledPolicy base = load().get("base").orElseThrow();
        assertThat(base.ring().sqEntries()).as("20-more.json comes last").isEqualTo(128);
        assertThat(base.buffers()).as("cleared by 10-first.json").isEmpty();
        assertThat(base.allowed().sqeOps()).contains(IoUringOp.READ, IoUringOp.NOP);
        assertThat(e.files()).extracting(f -> Path.of(f).getFileName().toString())
                .containsExactly("base.json", "10-first.json", "20-more.json");
    }

    @Test
    void aFileOrBufferWithTheSameNameReplacesTheInheritedOneInPlace() throws IOException {
        write(dir, "base.json", BASE);
        write(dir, "other.json", """
                { "name": "other", "extends": ["base"],
                  "files": [ { "name": "log", "path": "/srv/log", "access": "append" },
                             { "name": "data", "path": "/srv/other", "access": "read" } ] }
                """);
        CompiledPolicy other = load().get("other").orElseThrow();
        assertThat(other.files()).extracting(FileSpec::name).containsExactly("data", "log");
        assertThat(other.files().getFirst().path()).isEqualTo(Path.of("/srv/other"));
    }

    @Test
    void everyCompositionErrorNamesTheFileLineAndColumnOfWhatCausedIt() throws IOException {
        write(dir, "base.json", BASE);
        write(dir, "a.json", """
                { "name": "a", "extends": ["b"] }
                """);
        write(dir, "b.json", """
                { "name": "b", "extends": ["a"] }
                """);
        write(dir, "typo.json", """
                { "name": "typo",
                  "extends": ["bsae"] }
                """);
        write(dir, "num.json", """
                { "name": "num", "extends": "base" }
                """);
        Path d = Files.createDirectory(dir.resolve("base.d"));
        write(d, "50-rename.json", """
                { "name": "other",
                  "sqe": { "ops": ["REED"] } }
                """);
        assertThat(problems()).containsExactlyInAnyOrder(
                "a.json:1:28: error: the base policy `b` cannot be composed (see its own problems) [BROKEN_BASE at $.extends[0]]",
                "b.json:1:28: error: `a` extends back to itself: a → b → a [EXTENDS_CYCLE at $.extends[0]]",
                "typo.json:2:15: error: there is no policy `bsae` in this set to extend; did you mean `base`? "
                        + "[UNKNOWN_BASE at $.extends[0]]",
                "num.json:1:29: error: `extends` takes a list of policy names, such as [\"reader\"]; found a string "
                        + "[WRONG_TYPE at $.extends]",
                "base.d/50-rename.json:1:3: error: a drop-in cannot set `name`: it changes the policy its directory is "
                        + "named after (base.d) [DROP_IN_FIELD at $.name]",
                "base.d/50-rename.json:2:20: error: `REED` is not an SQE opcode; did you mean `READ`? "
                        + "[UNKNOWN_SQE_OP at $.sqe.ops[2]]");
    }

    @Test
    void complainModeIsSetByThePolicyOrItsDropInsAndNeverInheritedFromABase() throws IOException {
        write(dir, "base.json", BASE);
        Path d = Files.createDirectory(dir.resolve("base.d"));
        write(d, "90-try.json", """
                { "mode": "complain" }
                """);
        write(dir, "child.json", """
                { "name": "child", "extends": ["base"] }
                """);
        write(dir, "typo.json", """
                { "name": "typo", "extends": ["base"], "mode": "complian" }
                """);
        assertThat(problems()).contains("typo.json:1:48: error: `complian` is not a mode (expected `enforce` or `complain`); "
                + "did you mean `complain`? [BAD_VALUE at $.mode]");
        Files.delete(dir.resolve("typo.json"));
        PolicySet set = load();
        CompiledPolicy base = set.get("base").orElseThrow();
        assertThat(base.mode()).as("from its drop-in").isEqualTo(PolicyMode.COMPLAIN);
        assertThat(base.allowed().sqeOps()).as("the lists stay the lists").containsExactlyInAnyOrder(IoUringOp.NOP, IoUringOp.READ_FIXED);
        assertThat(base.restrictions()).as("the ring gets the ceiling").hasSizeGreaterThan(10);
        assertThat(RELAXED.loadDirectory(dir).warnings()).extracting(PolicyProblem::code).contains(ProblemCode.COMPLAIN_MODE);
        CompiledPolicy child = set.get("child").orElseThrow();
        assertThat(child.mode()).as("a base tried in complain mode does not make what extends it complain")
                .isEqualTo(PolicyMode.ENFORCE);
        assertThat(child.restrictions()).hasSize(5); // PROBE, NOP, READ_FIXED, flags allowed, flags required
    }

    @Test
    void dropInsForAPolicyThatIsNotThereAreAWarning() throws IOException {
        write(dir, "base.json", BASE);
        Path d = Files.createDirectory(dir.resolve("gone.d"));
        write(d, "x.json", "{ \"ring\": { \"sqEntries\": 8 } }");
        LoadResult r = RELAXED.loadDirectory(dir);
        assertThat(r.ok()).isTrue();
        assertThat(r.warnings()).extracting(PolicyProblem::code).contains(ProblemCode.ORPHAN_DROP_IN);
    }

    @Test
    void groupsStandForTheirMembersAndAMisspeltGroupIsNamed() throws IOException {
        write(dir, "g.json", """
                { "name": "g", "description": "d", "subjects": { "users": ["alice"] },
                  "sqe": { "ops": ["@read", "@sync", "READ_FIXED"], "flagsRequired": ["FIXED_FILE"] },
                  "register": { "ops": ["@probe", "@buffers"] } }
                """);
        CompiledPolicy g = load().get("g").orElseThrow();
        assertThat(g.allowed().sqeOps()).containsExactlyInAnyOrder(IoUringOp.READ, IoUringOp.READV, IoUringOp.READ_FIXED,
                IoUringOp.FSYNC, IoUringOp.SYNC_FILE_RANGE);
        assertThat(g.allowed().registerOps()).contains(RegisterOp.REGISTER_PROBE, RegisterOp.REGISTER_BUFFERS,
                RegisterOp.UNREGISTER_BUFFERS);

        write(dir, "g.json", """
                { "name": "g", "description": "d", "subjects": { "users": ["alice"] },
                  "sqe": { "ops": ["@reed"], "flagsRequired": ["FIXED_FILE"] } }
                """);
        assertThat(problems()).anySatisfy(p -> assertThat(p).startsWith("g.json:2:20: error: `@reed` is not a group of "
                + "this list (groups: @read, @write, @sync, @net, @poll, @timeout, @basic); did you mean `@read`?"));
    }

    @Test
    void theEffectivePolicyShowsWhereEachValueWasWritten() throws IOException {
        write(dir, "base.json", BASE);
        write(dir, "fast.json", """
                {
                  "name": "fast",
                  "extends": ["base"],
                  "ring": { "sqEntries": 128 }
                }
                """);
        Path d = Files.createDirectory(dir.resolve("fast.d"));
        write(d, "10-read.json", """
                { "sqe": { "ops": ["READ"] } }
                """);
        EffectivePolicy e = load().effective("fast").orElseThrow();
        assertThat(e.annotated().replace(dir + "/", "")).isEqualTo("""
                {
                  "name": "fast",                          // fast.json:2:11
                  "description": "reads the sample file",  // base.json:3:18
                  "subjects": {
                    "users": [
                      "alice"                              // base.json:4:27
                    ]
                  },
                  "ring": {
                    "sqEntries": 128,                      // fast.json:4:26
                    "setupFlags": [
                      "SUBMIT_ALL"                         // base.json:5:45
                    ]
                  },
                  "sqe": {
                    "ops": [
                      "NOP",                               // base.json:6:20
                      "READ_FIXED",                        // base.json:6:27
                      "READ"                               // fast.d/10-read.json:1:20
                    ],
                    "flagsRequired": [
                      "FIXED_FILE"                         // base.json:6:60
                    ]
                  },
                  "files": [
                    {
                      "name": "data",                      // base.json:7:24
                      "path": "/srv/data",                 // base.json:7:40
                      "access": "read"                     // base.json:7:63
                    }
                  ],
                  "buffers": [
                    {
                      "name": "io",                        // base.json:8:26
                      "size": "1 MiB"                      // base.json:8:40
                    }
                  ],
                  "limits": {
                    "leasesPerUser": 8,                    // base.json:9:32
                    "bufferBytesPerUser": "8 MiB"          // base.json:9:57
                  }
                }
                """);
        assertThat(e.origins()).containsEntry("$.sqe.ops[2]", dir + "/fast.d/10-read.json:1:20");
        assertThat(e.files()).hasSize(3);
    }
}
