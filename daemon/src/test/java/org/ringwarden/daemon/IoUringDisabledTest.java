package org.ringwarden.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * The tests that need rings, under each {@code kernel.io_uring_disabled} value once: 0
 * (everyone may make rings), 1 (what docs/install.md recommends: only the group and
 * CAP_SYS_ADMIN) and 2 (nobody). Under 0 and 1 they must pass; under 2 they must be skipped,
 * each with the reason, never fail. The value is restored afterwards, also when a run fails.
 * The classes run are one of each kind: a root-made ring in this JVM, rings made by another
 * user under a memlock limit, a daemon started in this JVM, and {@code doctor}.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class IoUringDisabledTest {
    private static final String[] RING_TESTS = {"org.ringwarden.daemon.grant.CompiledPolicyRingTest",
            "org.ringwarden.daemon.install.MemlockArithmeticTest", "org.ringwarden.daemon.cli.AdminCommandsTest"};

    record Outcome(String test, String status, String reason) {
    }

    private static List<Outcome> runRingTests() {
        List<Outcome> outcomes = new ArrayList<>();
        var request = LauncherDiscoveryRequestBuilder.request();
        for (String c : RING_TESTS) {
            request.selectors(selectClass(c));
        }
        LauncherFactory.create().execute(request.build(), new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                outcomes.add(new Outcome(id.getDisplayName(), "SKIPPED", reason));
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest() && result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
                    return;
                }
                String reason = result.getThrowable().map(t -> t.getClass().getSimpleName() + ": " + t.getMessage()).orElse("");
                // An assumption that fails (TestAbortedException) is a skip with its reason.
                String status = result.getStatus() == TestExecutionResult.Status.ABORTED ? "SKIPPED" : result.getStatus().name();
                outcomes.add(new Outcome(id.getDisplayName(), status, reason));
            }
        });
        return outcomes;
    }

    @Test
    void ringTestsPassUnderZeroAndOneAndAreSkippedWithTheReasonUnderTwo() throws Exception {
        OptionalInt before = IoUringSysctl.disabled();
        assumeTrue(before.isPresent() && Files.isWritable(IoUringSysctl.DISABLED),
                "kernel.io_uring_disabled (Linux 6.6+) must exist and be writable (root)");
        try {
            for (int value : new int[] {0, 1, 2}) {
                IoUringSysctl.set(value);
                List<Outcome> outcomes = runRingTests();
                System.out.printf("kernel.io_uring_disabled=%d: %s%n", value, outcomes);
                assertThat(outcomes).as("under io_uring_disabled=%d, no test fails or aborts: %s", value, outcomes)
                        .allSatisfy(o -> assertThat(o.status()).isIn("SUCCESSFUL", "SKIPPED"));
                if (value < 2) {
                    assertThat(outcomes).as("under %d every ring test runs", value).filteredOn(o -> o.status().equals("SKIPPED"))
                            .isEmpty();
                    assertThat(outcomes).as("under %d the memlock probe ran as another user", value)
                            .anySatisfy(o -> assertThat(o.test()).startsWith("ringsAreChargedAsTheUnitsFormulaSays"));
                } else {
                    assertThat(outcomes).as("under 2 the ring tests are skipped, each saying why")
                            .filteredOn(o -> o.status().equals("SKIPPED")).isNotEmpty()
                            .allSatisfy(o -> assertThat(o.reason()).contains("kernel.io_uring_disabled=2"));
                }
            }
        } finally {
            IoUringSysctl.set(before.getAsInt());
        }
        assertThat(IoUringSysctl.disabled()).as("restored").isEqualTo(before);
    }
}
