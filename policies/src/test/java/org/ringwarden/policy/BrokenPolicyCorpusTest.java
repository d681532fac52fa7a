package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every file under {@code src/test/resources/broken/} must produce exactly the problems its
 * {@code .expected} sidecar lists, one compiler-style line each, in order. Run with
 * {@code -Dpolicy.corpus.write=true} to (re)write the sidecars, then review the diff.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BrokenPolicyCorpusTest {
    static final Path CORPUS = Path.of("src/test/resources/broken");

    /** A fixed account table, so that "did you mean" is the same on every machine. */
    static final SubjectResolver ACCOUNTS = SubjectResolver.of(
            Map.of("root", 0, "alice", 1000, "bob", 1001, "nobody", 65534),
            Map.of("root", 0, "wheel", 10, "users", 100, "nogroup", 65534));

    static final PolicyLoader LOADER = new PolicyLoader(new PolicyLoader.Options(false, false, false, ACCOUNTS));

    static final Path WARNINGS = Path.of("src/test/resources/warnings");

    static Stream<Path> corpus() throws IOException {
        return list(CORPUS);
    }

    static Stream<Path> warnings() throws IOException {
        return list(WARNINGS);
    }

    static Stream<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().toList().stream();
        }
    }

    /** Legal but risky files load, with exactly the warnings of their sidecar. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("warnings")
    void riskyFileLoadsWithExactlyItsExpectedWarnings(Path file) throws IOException {
        LoadResult r = LOADER.parse(file.getFileName().toString(), Files.readAllBytes(file));
        List<String> actual = r.problems().stream().map(PolicyProblem::format).toList();
        Path expectedFile = Path.of(file.toString().replaceFirst("\\.json$", ".expected"));
        if (Boolean.getBoolean("policy.corpus.write")) {
            Files.write(expectedFile, actual, StandardCharsets.UTF_8);
        }
        assertThat(r.ok()).as("%s must load: %s", file, r.errors()).isTrue();
        assertThat(actual).as("warnings of %s (sidecar %s)", file, expectedFile)
                .isNotEmpty().containsExactlyElementsOf(Files.readAllLines(expectedFile, StandardCharsets.UTF_8));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void brokenFileProducesExactlyItsExpectedProblems(Path file) throws IOException {
        LoadResult r = LOADER.parse(file.getFileName().toString(), Files.readAllBytes(file));
        List<String> actual = r.problems().stream().map(PolicyProblem::format).toList();
        Path expectedFile = Path.of(file.toString().replaceFirst("\\.json$", ".expected"));
        if (Boolean.getBoolean("policy.corpus.write")) {
            Files.write(expectedFile, actual, StandardCharsets.UTF_8);
        }
        assertThat(r.ok()).as("%s must be refused", file).isFalse();
        assertThat(r.policies()).as("no partial set from %s", file).isEmpty();
        assertThat(actual).as("problems of %s (sidecar %s)", file, expectedFile)
                .containsExactlyElementsOf(Files.readAllLines(expectedFile, StandardCharsets.UTF_8));
        assertThat(r.errors()).as("every error of %s has a location or names the file", file)
                .allSatisfy(p -> assertThat(p.jsonPath()).startsWith("$"));
    }

    @Test
    void tenMegabyteFileIsRefusedUnparsed(@TempDir Path dir) throws IOException {
        Path big = dir.resolve("big.json");
        byte[] bytes = new byte[10 << 20];
        Arrays.fill(bytes, (byte) ' ');
        bytes[0] = '{';
        bytes[bytes.length - 1] = '}';
        Files.write(big, bytes);
        LoadResult r = LOADER.loadFile(big);
        assertThat(r.problems()).extracting(PolicyProblem::format).containsExactly(
                big + ": error: the file has 10485760 bytes; a policy file may have at most 1048576 (1 MiB) [TOO_LARGE at $]");
        LoadResult fromBytes = LOADER.parse("big.json", bytes);
        assertThat(fromBytes.errors()).extracting(PolicyProblem::code).containsExactly(ProblemCode.TOO_LARGE);
    }

    @Test
    void aFileWithThousandsOfProblemsListsTheFirst200AndCountsTheRest() {
        StringBuilder b = new StringBuilder("{\"name\": \"many\", \"description\": \"d\"");
        for (int i = 0; i < 1000; i++) {
            b.append(",\n\"unknown").append(i).append("\": 1");
        }
        LoadResult r = LOADER.parse("many.json", b.append('}').toString().getBytes(StandardCharsets.UTF_8));
        assertThat(r.problems()).as("200 listed and one count").hasSize(201);
        PolicyProblem last = r.problems().getLast();
        assertThat(last.code()).isEqualTo(ProblemCode.TOO_MANY_PROBLEMS);
        assertThat(last.message()).isEqualTo("800 more problem(s) not shown");
        assertThat(last.isError()).isTrue();
        assertThat(r.problems().get(199).message()).isEqualTo("unknown field `unknown199` in a policy (fields: name, extends, "
                + "description, subjects, ring, sqe, register, files, clientFds, buffers, limits, transparent, mode)");
    }

    @Test
    void allErrorsOfAFileAreReportedNotJustTheFirst() throws IOException {
        LoadResult r = LOADER.parse("x.json", Files.readAllBytes(CORPUS.resolve("register-forbidden.json")));
        assertThat(r.errors()).as("one error per forbidden register opcode").hasSize(4);
    }

    @Test
    void misspeltOpcodeMessageSuggestsTheNearestName() throws IOException {
        LoadResult r = LOADER.parse("typo.json", Files.readAllBytes(CORPUS.resolve("misspelled-opcode.json")));
        PolicyProblem p = r.errors().getFirst();
        assertThat(p.message()).isEqualTo("`REED_FIXED` is not an SQE opcode; did you mean `READ_FIXED`?");
        assertThat(p.suggestion()).isEqualTo("READ_FIXED");
        assertThat(p.jsonPath()).isEqualTo("$.sqe.ops[1]");
        assertThat(p.line()).as("line").isEqualTo(5);
        assertThat(p.column()).as("column of the string").isEqualTo(27);
    }
}
