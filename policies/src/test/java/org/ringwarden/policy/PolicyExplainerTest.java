package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PolicyExplainerTest {
    static final PolicySet BUNDLED = bundled();

    static PolicySet bundled() {
        try {
            return new PolicyLoader(new PolicyLoader.Options(false, false, false, BrokenPolicyCorpusTest.ACCOUNTS))
                    .loadBundled().orThrow();
        } catch (PolicyException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void clientEnabledPolicySaysTheClientBecomesTheSingleIssuer() {
        PolicyExplainer.Explanation e = PolicyExplainer.explain(BUNDLED.get("fast-reader").orElseThrow());
        assertThat(e.can()).anySatisfy(s -> assertThat(s).contains("the client enables it and becomes its single issuer"));
        assertThat(e.can()).anySatisfy(s -> assertThat(s).startsWith("Before it enables the ring, make register calls"));
    }

    @Test
    void appendOnlyFileCannotBeOverwritten() {
        PolicyExplainer.Explanation e = PolicyExplainer.explain(BUNDLED.get("appender").orElseThrow());
        assertThat(e.cannot()).contains("Overwrite `log`: it is open append-only.");
        assertThat(e.can()).anySatisfy(s -> assertThat(s).contains("O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC"));
    }

    @Test
    void transparentPolicyListsItsFlagDispositions() {
        PolicyExplainer.Explanation e = PolicyExplainer.explain(BUNDLED.get("fio").orElseThrow());
        assertThat(e.can()).anySatisfy(s -> assertThat(s).startsWith("Serve transparent use")
                .contains("dropped SINGLE_ISSUER, DEFER_TASKRUN"));
        assertThat(e.can()).as("fio's SQEs may use the program's own descriptors")
                .anySatisfy(s -> assertThat(s).startsWith("Name descriptors from its own table"));
    }

    @Test
    void restrictionLinesCarryTypeAndValueNumbers() {
        PolicyExplainer.Explanation e = PolicyExplainer.explain(BUNDLED.get("nop").orElseThrow());
        assertThat(e.restrictions()).containsExactly(
                "#0  REGISTER_OP        (0)  value   8  PROBE",
                "#1  SQE_OP             (1)  value   0  NOP",
                "#2  SQE_FLAGS_ALLOWED  (2)  value  68  0x44 [IO_LINK, CQE_SKIP_SUCCESS]",
                "#3  SQE_FLAGS_REQUIRED (3)  value   0  0x00 []");
    }
}
