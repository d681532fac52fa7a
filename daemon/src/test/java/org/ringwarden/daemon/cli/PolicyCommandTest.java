package org.ringwarden.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/** Drives {@code ringwarden policy ...} through the real command line, capturing its output. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PolicyCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    record Run(int exit, String out, String err) {
    }

    static Run run(String... args) {
        CommandLine cl = RingwardenCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    static Path dir(Path tmp, String... nameAndText) throws IOException {
        Path d = Files.createDirectory(tmp.resolve("policies.d"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        for (int i = 0; i < nameAndText.length; i += 2) {
            Path f = d.resolve(nameAndText[i]);
            Files.writeString(f, nameAndText[i + 1]);
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        }
        return d;
    }

    static final String GOOD = """
            { "name": "good", "description": "reads its fixed file",
              "subjects": { "uids": [1000] },
              "sqe": { "ops": ["NOP", "READ"], "flagsRequired": ["FIXED_FILE"] },
              "files": [ { "name": "f", "path": "/etc/hostname", "access": "read-write" } ] }
            """;
    static final String TYPO = """
            { "name": "typo", "description": "d", "subjects": { "uids": [1000] },
              "sqe": { "ops": ["REED_FIXED"] } }
            """;

    @Test
    void validateExitsZeroForValidPoliciesAndShowsWarnings(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "good.json", GOOD);
        Run r = run("policy", "validate", d.toString());
        assertThat(r.exit()).as("exit status, stderr: %s", r.err()).isZero();
        assertThat(r.out()).isEqualTo("valid: 1 policy (good), 1 warning(s)\n");
        assertThat(r.err()).isEqualTo(d.resolve("good.json") + ":4:64: warning: file `f` is opened O_RDONLY, not O_RDWR: "
                + "that is all its allowed opcodes need [MODE_NARROWED at $.files[0].access]\n");
    }

    @Test
    void validateExitsOneWithCompilerStyleErrors(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "good.json", GOOD, "typo.json", TYPO);
        Run r = run("policy", "validate", d.toString());
        assertThat(r.exit()).as("exit status").isEqualTo(1);
        assertThat(r.err()).startsWith(d.resolve("typo.json") + ":2:20: error: `REED_FIXED` is not an SQE opcode; "
                + "did you mean `READ_FIXED`? [UNKNOWN_SQE_OP at $.sqe.ops[0]]\n");
        assertThat(r.out()).isEqualTo("invalid: 1 error(s), 1 warning(s); nothing would be loaded\n");
    }

    @Test
    void validateExitsTwoOnUsageError(@TempDir Path tmp) throws IOException {
        assertThat(run("policy", "validate", "--bogus", "x").exit()).as("unknown option").isEqualTo(2);
        Path d = dir(tmp, "good.json", GOOD);
        assertThat(run("policy", "validate", "--policies", d.toString(), d.toString()).exit())
                .as("--policies and PATHs together").isEqualTo(2);
    }

    @Test
    void validateReadsThePoliciesOptionsDirectory(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "good.json", GOOD, "typo.json", TYPO);
        Run r = run("policy", "validate", "--policies", d.toString());
        assertThat(r.exit()).as("exit status, stderr: %s", r.err()).isEqualTo(1);
        assertThat(r.err()).as("the directory's problems").contains(d.resolve("typo.json") + ":2:20: error:");
        Files.delete(d.resolve("typo.json"));
        Run ok = run("policy", "validate", "--policies", d.toString());
        assertThat(ok.exit()).as("exit status, stderr: %s", ok.err()).isZero();
        assertThat(ok.out()).isEqualTo("valid: 1 policy (good) in " + d + ", 1 warning(s)\n");
    }

    @Test
    void validateWithoutPathChecksTheConfiguredSet() throws IOException {
        Run r = run("policy", "validate", "--json", "--no-file-check");
        JsonNode j = JSON.readTree(r.out());
        if (Files.isDirectory(Path.of("/etc/ringwarden/policies.d"))) {
            assertThat(j.get("source").asText()).isEqualTo("policies from /etc/ringwarden/policies.d");
        } else {
            assertThat(j.get("source").asText()).as("no configured directory: the bundled set").startsWith("bundled policies");
            assertThat(r.exit()).as("the bundled set is valid; %s", r.out()).isZero();
            assertThat(j.get("policies")).hasSize(6);
        }
    }

    @Test
    void validateJsonCarriesEveryProblemWithItsLocation(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "typo.json", TYPO);
        Run r = run("policy", "validate", "--json", d.toString());
        assertThat(r.exit()).isEqualTo(1);
        JsonNode j = JSON.readTree(r.out());
        assertThat(j.get("valid").asBoolean()).isFalse();
        JsonNode p = j.get("problems").get(0);
        assertThat(p.get("line").asInt()).isEqualTo(2);
        assertThat(p.get("column").asInt()).isEqualTo(20);
        assertThat(p.get("path").asText()).isEqualTo("$.sqe.ops[0]");
        assertThat(p.get("code").asText()).isEqualTo("UNKNOWN_SQE_OP");
        assertThat(p.get("suggestion").asText()).isEqualTo("READ_FIXED");
    }

    @Test
    void listSaysWhichSourceItRead(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "good.json", GOOD);
        Run r = run("policy", "list", "--policies", d.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("1 policy in " + d + ":\n  good  reads its fixed file\n");
        Run bundled = run("policy", "list", "--json", "--no-file-check");
        assertThat(bundled.exit()).isZero();
        JsonNode j = JSON.readTree(bundled.out());
        if (!Files.isDirectory(Path.of("/etc/ringwarden/policies.d"))) {
            assertThat(j.get("source").asText()).startsWith("bundled policies");
            assertThat(j.get("policies")).hasSize(6);
        }
    }

    @Test
    void showJsonHasTheGrantsAllowedObjectAndRestrictions(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "good.json", GOOD);
        Run r = run("policy", "show", "good", "--json", "--policies", d.toString());
        assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
        JsonNode j = JSON.readTree(r.out());
        assertThat(j.at("/allowed/sqeOps").toString()).isEqualTo("[\"NOP\",\"READ\"]");
        assertThat(j.at("/allowed/registerOps").toString()).isEqualTo("[\"PROBE\"]");
        assertThat(j.at("/files/0/openFlags").asText()).isEqualTo("O_RDONLY|O_CLOEXEC");
        assertThat(j.get("restrictions")).hasSize(5);
        assertThat(j.at("/ring/setupFlags").toString()).isEqualTo("[\"SUBMIT_ALL\"]");
    }

    @Test
    void showEffectivePrintsTheComposedPolicyWithTheOriginOfEachValue(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "good.json", GOOD, "wide.json", """
                { "name": "wide", "extends": ["good"],
                  "sqe": { "ops": ["@sync"] } }
                """);
        Run r = run("policy", "show", "wide", "--effective", "--policies", d.toString());
        assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
        assertThat(r.out().replace(d + "/", "")).startsWith("// wide: composed from good.json, wide.json\n{\n")
                .contains("\"description\": \"reads its fixed file\",")
                .containsPattern("\"READ\",? +// good.json:3:27\n")
                .containsPattern("\"@sync\" +// wide.json:2:20\n");

        Run j = run("policy", "show", "wide", "--effective", "--json", "--policies", d.toString());
        assertThat(j.exit()).as("stderr: %s", j.err()).isZero();
        JsonNode o = JSON.readTree(j.out());
        assertThat(o.at("/policy/sqe/ops").toString()).isEqualTo("[\"NOP\",\"READ\",\"@sync\"]");
        assertThat(o.at("/origins").get("$.sqe.ops[2]").asText()).isEqualTo(d.resolve("wide.json") + ":2:20");
        assertThat(o.at("/files").toString()).contains("good.json").contains("wide.json");
    }

    @Test
    void showOfAnUnknownPolicyFails(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "good.json", GOOD);
        Run r = run("policy", "show", "nope", "--policies", d.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("no policy named `nope`").contains("(policies: good)");
    }

    @Test
    void explainSaysWhatItCanAndCannotDoThenTheEntries() {
        Run r = run("policy", "explain", "reader", "--policies", "../policies/examples", "--insecure-permissions", "--no-file-check");
        assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
        assertThat(r.out()).contains("A client of this policy can:")
                .contains("Submit NOP, READV, READ_FIXED, ASYNC_CANCEL, READ, FADVISE.")
                .contains("Write to `data`: it is open read-only.")
                .contains("#0  REGISTER_OP        (0)  value   8  PROBE")
                .contains("#8  SQE_FLAGS_REQUIRED (3)  value   1  0x01 [FIXED_FILE]");
    }

    @Test
    void brokenDirectoryMakesListFailWithTheReason(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "typo.json", TYPO);
        Run r = run("policy", "list", "--policies", d.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("cannot load policies from " + d).contains("REED_FIXED");
    }

    @Test
    void kernelMarksOpcodesThePoliciesUse(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "good.json", GOOD);
        Run r = run("policy", "kernel", "--json", "--policies", d.toString());
        assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
        JsonNode j = JSON.readTree(r.out());
        JsonNode read = j.get("ops").get(22);
        assertThat(read.get("name").asText()).isEqualTo("READ");
        assertThat(read.get("supported").asBoolean()).as("6.18 supports READ").isTrue();
        assertThat(read.get("usedBy").toString()).isEqualTo("[\"good\"]");
        assertThat(j.get("ops").get(9).get("usedBy")).as("SENDMSG unused").isEmpty();
        Run text = run("policy", "kernel", "--policies", d.toString());
        assertThat(text.out()).contains(" 22  READ               yes           * good");
    }

    @Test
    void showJsonListsTheContainersAPolicyAdmits(@TempDir Path tmp) throws IOException {
        Path d = dir(tmp, "pg.json", """
                { "name": "pg", "description": "pods", "subjects": { "containers": [ { "podNamespace": "db", "podName": "pg-*" } ] },
                  "sqe": { "ops": ["NOP", "READV"] }, "transparent": { "enabled": true } }
                """);
        Run r = run("policy", "show", "pg", "--json", "--policies", d.toString(), "--no-kernel-check");
        assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
        assertThat(JSON.readTree(r.out()).at("/acquirers/containers").toString())
                .isEqualTo("[{\"podNamespace\":\"db\",\"podName\":\"pg-*\"}]");
    }

    @Test
    void seccompProfilePrintsTheProfileAndRefusesBadInput(@TempDir Path tmp) throws IOException {
        Run r = run("seccomp-profile", "--policy", "pg", "--agent-socket", "/run/x/agent.sock");
        assertThat(r.exit()).as("stderr: %s", r.err()).isZero();
        JsonNode p = JSON.readTree(r.out());
        assertThat(p.get("listenerPath").asText()).isEqualTo("/run/x/agent.sock");
        assertThat(p.get("listenerMetadata").asText()).isEqualTo("policy=pg");
        assertThat(run("seccomp-profile", "--policy", "pg", "--agent-socket", "relative.sock").exit())
                .as("a relative socket path is a usage error").isEqualTo(2);
        assertThat(run("seccomp-profile", "--policy", "Not A Name").exit()).isEqualTo(2);
        Path base = Files.writeString(tmp.resolve("base.json"), "{ \"syscalls\": [] }");
        Run bad = run("seccomp-profile", "--policy", "pg", "--base", base.toString());
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains("defaultAction");
        assertThat(run("seccomp-profile", "--policy", "pg", "--base", tmp.resolve("missing.json").toString()).exit())
                .isEqualTo(1);
    }
}
