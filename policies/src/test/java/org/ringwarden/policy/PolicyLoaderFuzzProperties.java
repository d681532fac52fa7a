package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;

/**
 * Fuzzes the loader, as Caffeine fuzzes its spec parser: on any input, a load returns a
 * result (never another exception, never a hang), and that result is either a whole set with no
 * error or no set with at least one located error. No partial load.
 */
class PolicyLoaderFuzzProperties {
    static final PolicyLoader LOADER = new PolicyLoader(new PolicyLoader.Options(false, false, false, BrokenPolicyCorpusTest.ACCOUNTS));
    static final Duration PER_INPUT = Duration.ofSeconds(5);

    @Property(tries = 1500)
    void randomBytesOnlyEverYieldLocatedProblems(@ForAll("bytes") byte[] input) {
        check(input);
    }

    @Property(tries = 1500)
    void randomJsonOnlyEverYieldsLocatedProblems(@ForAll("json") String input) {
        check(input.getBytes(StandardCharsets.UTF_8));
    }

    @Property(tries = 3000)
    void mutatedBundledPoliciesOnlyEverYieldLocatedProblems(@ForAll("mutants") byte[] input) {
        check(input);
    }

    static void check(byte[] input) {
        LoadResult r = assertTimeoutPreemptively(PER_INPUT, () -> LOADER.parse("fuzz.json", input), "load of one input hung");
        if (r.ok()) {
            assertThat(r.errors()).isEmpty();
            assertThat(r.policies().orElseThrow().size()).as("a good file is a set of one").isEqualTo(1);
        } else {
            assertThat(r.errors()).as("a refused input says why").isNotEmpty();
            assertThatThrownBy(r::orThrow).as("only the documented exception escapes").isExactlyInstanceOf(PolicyException.class);
            for (PolicyProblem p : r.errors()) {
                assertThat(p.file()).isEqualTo("fuzz.json");
                assertThat(p.jsonPath()).startsWith("$");
                assertThat(p.message()).isNotBlank();
                if (p.code() != ProblemCode.TOO_LARGE) {
                    assertThat(p.line()).as("line of %s", p).isPositive();
                    assertThat(p.column()).as("column of %s", p).isPositive();
                }
            }
        }
        assertThat(r.problems().size()).as("problems are bounded").isLessThan(10_000);
    }

    @Provide
    Arbitrary<byte[]> bytes() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(512);
    }

    /** Kernel names, field names and JSON punctuation: inputs near the language, not just noise. */
    static final List<String> WORDS = words();

    static List<String> words() {
        List<String> w = new ArrayList<>(List.of("name", "description", "subjects", "ring", "sqe", "register", "files",
                "clientFds", "buffers", "limits", "transparent", "users", "groups", "uids", "gids", "everyone", "sqEntries",
                "cqEntries", "setupFlags", "enabler", "clamp", "ops", "flagsAllowed", "flagsRequired", "acknowledge", "path",
                "access", "openFlags", "createMode", "followSymlinks", "size", "leasesPerUser", "bufferBytesPerUser",
                "enabled", "honour", "drop", "refuse", "maxSqEntries", "maxCqEntries", "read", "write", "read-write",
                "append", "create", "daemon", "client", "1 MiB", "0 B", "4 KiB", "/tmp/x", "../x", "root", "alice", "0640"));
        for (IoUringOp o : IoUringOp.values()) {
            w.add(o.kernelName());
        }
        for (SqeFlag f : SqeFlag.values()) {
            w.add(f.kernelName());
        }
        for (RegisterOp o : RegisterOp.values()) {
            w.add(o.shortName());
        }
        for (SetupFlag f : SetupFlag.values()) {
            w.add(f.kernelName());
        }
        return List.copyOf(w);
    }

    @Provide
    Arbitrary<String> json() {
        return value(4);
    }

    private Arbitrary<String> value(int depth) {
        Arbitrary<String> leaf = Arbitraries.oneOf(
                Arbitraries.of(WORDS).map(s -> "\"" + s + "\""),
                Arbitraries.strings().ofMaxLength(12).map(s -> "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\""),
                Arbitraries.integers().map(String::valueOf),
                Arbitraries.longs().map(String::valueOf),
                Arbitraries.of("true", "false", "null", "1.5", "-0", "1e400", "99999999999999999999999"));
        if (depth == 0) {
            return leaf;
        }
        Arbitrary<String> member = Combinators.combine(Arbitraries.of(WORDS), Arbitraries.lazy(() -> value(depth - 1)))
                .as((k, v) -> "\"" + k + "\": " + v);
        return Arbitraries.frequencyOf(
                Tuple.of(3, leaf),
                Tuple.of(3, member.list().ofMaxSize(8).map(ms -> "{" + String.join(", ", ms) + "}")),
                Tuple.of(2, Arbitraries.lazy(() -> value(depth - 1)).list().ofMaxSize(6).map(vs -> "[" + String.join(", ", vs) + "]")));
    }

    static final List<byte[]> SEEDS = seeds();

    static List<byte[]> seeds() {
        List<byte[]> s = new ArrayList<>();
        for (String name : PolicyLoader.BUNDLED) {
            try (InputStream in = PolicyLoader.class.getResourceAsStream("bundled/" + name + ".json")) {
                s.add(in.readAllBytes());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return List.copyOf(s);
    }

    /** Bundled policies with bytes flipped, cut, duplicated, or a quoted word swapped for another. */
    @Provide
    Arbitrary<byte[]> mutants() {
        Arbitrary<byte[]> seed = Arbitraries.of(SEEDS);
        return Combinators.combine(seed, Arbitraries.integers().between(0, 4), Arbitraries.integers().between(0, 1 << 20),
                Arbitraries.integers().between(0, 255), Arbitraries.of(WORDS)).as((src, kind, pos, b, word) -> {
            byte[] in = src.clone();
            int at = pos % in.length;
            return switch (kind) {
                case 0 -> {
                    in[at] = (byte) b.intValue();
                    yield in;
                }
                case 1 -> java.util.Arrays.copyOf(in, at);
                case 2 -> {
                    byte[] out = new byte[in.length + 1];
                    System.arraycopy(in, 0, out, 0, at);
                    out[at] = (byte) b.intValue();
                    System.arraycopy(in, at, out, at + 1, in.length - at);
                    yield out;
                }
                case 3 -> {
                    String t = new String(in, StandardCharsets.UTF_8);
                    int q = t.indexOf('"', at % t.length());
                    int e = q < 0 ? -1 : t.indexOf('"', q + 1);
                    yield q < 0 || e < 0 ? in : (t.substring(0, q + 1) + word + t.substring(e)).getBytes(StandardCharsets.UTF_8);
                }
                default -> {
                    byte[] out = new byte[in.length * 2];
                    System.arraycopy(in, 0, out, 0, in.length);
                    System.arraycopy(in, 0, out, in.length, in.length);
                    yield out;
                }
            };
        });
    }
}
