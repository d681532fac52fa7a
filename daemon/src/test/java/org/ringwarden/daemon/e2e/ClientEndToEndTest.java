package org.ringwarden.daemon.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * The client library end to end: the real daemon as a separate root process, each client a
 * separate JVM running as uid 65534 ({@link ClientScenarios}), each bundled policy used for what
 * it is for, the refusals, and the lifetimes (rings closed with operations in flight, 200
 * acquire/release cycles that leave nothing behind in either process).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@IoUringSysctl.RequiresRings
class ClientEndToEndTest {
    private E2eEnvironment env;
    private String sampleSha;

    @BeforeAll
    void start() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root: the daemon, and setpriv to uid 65534");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv(1) (util-linux)");
        env = new E2eEnvironment();
        env.startDaemon();
        sampleSha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(env.sample)));
    }

    @AfterAll
    void stop() throws Exception {
        if (env != null) {
            env.close();
            assertThat(env.base).as("the test's directory is gone").doesNotExist();
        }
    }

    @Test
    void readerReadsAFileTheClientCannotOpenThroughFixedBuffersAndTheKernelRefusesWrites() throws Exception {
        E2eEnvironment.assertPassed(env.client("reader", sampleSha), 8);
    }

    @Test
    void fastReaderIsEnabledByTheClientWhoseSubmittingThreadBecomesTheSingleIssuer() throws Exception {
        E2eEnvironment.assertPassed(env.client("fast-reader", sampleSha), 4);
    }

    @Test
    void appenderAppendsThroughWriteFixedAndWriteAndNothingElse() throws Exception {
        Files.deleteIfExists(env.appendLog);
        E2eEnvironment.assertPassed(env.client("appender", env.appendLog.toString()), 4);
        assertThat(Files.readString(env.appendLog)).as("the log the daemon created and the client appended to")
                .isEqualTo("first line, WRITE_FIXED from the registered buffer\n"
                        + "second line, WRITE from the client's memory\n");
        assertThat(Files.getOwner(env.appendLog).getName()).as("the daemon made the file; the client never owned it")
                .isEqualTo("root");
    }

    @Test
    void netRegistersTheClientsOwnSocketsForSendAndRecv() throws Exception {
        E2eEnvironment.assertPassed(env.client("net"), 8);
    }

    @Test
    void nopRunsBatchesLinksAndSkippedSuccesses() throws Exception {
        E2eEnvironment.assertPassed(env.client("nop"), 3);
    }

    @Test
    void everyRefusalArrivesAsItsTypedExceptionWithTheDaemonsMessage() throws Exception {
        E2eEnvironment.assertPassed(env.client("errors"), 12);
    }

    @Test
    void aSeccompFilterThatAlreadyAnswersIoUringSetupMakesConnectRefuseWithTheReason() throws Exception {
        E2eEnvironment.assertPassed(env.client("blocked"), 1);
    }

    @Test
    void aRingThatCannotBeInstalledArrivesAsRingCollectionExceptionAndEndsItsLease() throws Exception {
        E2eEnvironment.assertPassed(env.client("collect-fails"), 3);
    }

    @Test
    void closingRingsWithOperationsInFlightLeavesNothingBehind() throws Exception {
        E2eEnvironment.assertPassed(env.client("in-flight"), 4);
    }

    @Test
    void oneClientSharedByThreadsAcquiresConcurrently() throws Exception {
        E2eEnvironment.assertPassed(env.client("threads"), 1);
    }

    @Test
    void twoHundredAcquireReleaseCyclesLeaveNoDescriptorOrMappingInEitherProcess() throws Exception {
        // Baseline with no client at all, after whatever earlier tests left to settle.
        AtomicInteger fdsBefore = new AtomicInteger();
        AtomicLong mapsBefore = new AtomicLong();
        fdsBefore.set(env.daemonFds());
        mapsBefore.set(env.daemonRingMappings());
        long[] mapsDuring = {-1};
        E2eEnvironment.Run run = env.client("cycles", List.of("200"), (String line, OutputStream stdin) -> {
            if (line.equals("READY-FOR-DAEMON-CHECK")) {
                try {
                    // The client still holds its connection (and its warm-up lease is released): the daemon holds no ring.
                    E2eEnvironment.eventually(10, () -> {
                        try {
                            assertThat(env.daemonRingMappings()).isEqualTo(mapsBefore.get());
                        } catch (IOException e) {
                            throw new AssertionError(e);
                        }
                    });
                    mapsDuring[0] = env.daemonRingMappings();
                    stdin.write('\n');
                    stdin.flush();
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        E2eEnvironment.assertPassed(run, 2);
        assertThat(mapsDuring[0]).as("daemon ring/buffer mappings after 200 cycles, client still connected")
                .isEqualTo(mapsBefore.get());
        E2eEnvironment.eventually(10, () -> assertThat(env.daemonFds())
                .as("daemon descriptors once the client is gone; daemon log:\n%s", env.daemonLog())
                .isEqualTo(fdsBefore.get()));
    }
}
