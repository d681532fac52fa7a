package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code subjects.containers}: which containers' OCI seccomp listeners a policy admits (docs/containers.md). */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ContainerSubjectsTest {
    private static final PolicyLoader LOADER = new PolicyLoader(
            new PolicyLoader.Options(false, false, false, BrokenPolicyCorpusTest.ACCOUNTS));

    private static String policy(String subjects, boolean transparent) {
        return """
                {
                  "name": "pg",
                  "description": "PostgreSQL in pods",
                  "subjects": %s,
                  "sqe": { "ops": ["NOP", "READ"] }%s
                }
                """.formatted(subjects, transparent ? ",\n  \"transparent\": { \"enabled\": true }" : "");
    }

    private static LoadResult load(String text) {
        return LOADER.parse("pg.json", text.getBytes(StandardCharsets.UTF_8));
    }

    private static CompiledPolicy compiled(String text) throws PolicyException {
        return load(text).orThrow().get("pg").orElseThrow();
    }

    @Test
    void containerMatchesAdmitByIdAndByPodNamespaceAndNamePrefix() throws PolicyException {
        CompiledPolicy p = compiled(policy("""
                { "containers": [ { "id": "t1" }, { "podNamespace": "db", "podName": "postgres-*" } ] }""", true));
        assertThat(p.mayAttachContainer(new ContainerSubject("t1", null, null))).isTrue();
        assertThat(p.mayAttachContainer(new ContainerSubject("t2", null, null))).isFalse();
        assertThat(p.mayAttachContainer(new ContainerSubject("abc", "db", "postgres-0"))).isTrue();
        assertThat(p.mayAttachContainer(new ContainerSubject("abc", "db", "redis-0")))
                .as("the name must match too").isFalse();
        assertThat(p.mayAttachContainer(new ContainerSubject("abc", "web", "postgres-0")))
                .as("and the namespace").isFalse();
        assertThat(p.mayAttachContainer(new ContainerSubject("abc", null, null)))
                .as("a container outside Kubernetes has no pod").isFalse();
    }

    @Test
    void localUsersNeverAdmitAContainer() throws PolicyException {
        CompiledPolicy p = compiled(policy("{ \"everyone\": true, \"uids\": [0] }", true));
        assertThat(p.mayAttachContainer(new ContainerSubject("t1", null, null))).isFalse();
        assertThat(p.mayAcquire(Subject.of(0, 0))).isTrue();
    }

    @Test
    void containersOnlyPolicyAdmitsNoLocalUserAndIsNotNobody() {
        LoadResult r = load(policy("{ \"containers\": [ { \"id\": \"t1\" } ] }", true));
        assertThat(r.problems()).noneMatch(pr -> pr.code() == ProblemCode.GRANTS_NOTHING);
        CompiledPolicy p = r.policies().orElseThrow().get("pg").orElseThrow();
        assertThat(p.mayAcquire(Subject.of(0, 0))).isFalse();
    }

    @Test
    void malformedMatchesAreErrorsWithTheirPlace() {
        LoadResult r = load(policy("""
                { "containers": [ {},
                                  { "id": "a b" },
                                  { "pod": "x" } ] }""", true));
        assertThat(r.ok()).isFalse();
        assertThat(r.problems()).map(PolicyProblem::format)
                .anySatisfy(s -> assertThat(s).startsWith("pg.json:4:").contains("names at least one of `id`"))
                .anySatisfy(s -> assertThat(s).startsWith("pg.json:5:").contains("`a b` is not a container id"))
                .anySatisfy(s -> assertThat(s).startsWith("pg.json:6:").contains("unknown field `pod` in a container match"));
    }

    @Test
    void containersOnAPolicyNotForTransparentUseIsAnError() {
        LoadResult r = load(policy("{ \"containers\": [ { \"id\": \"t1\" } ] }", false));
        assertThat(r.ok()).isFalse();
        assertThat(r.problems()).anySatisfy(pr -> {
            assertThat(pr.code()).isEqualTo(ProblemCode.CONTAINERS_NEED_TRANSPARENT);
            assertThat(pr.format()).startsWith("pg.json:4:");
        });
    }
}
