package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringDisabled;
import org.ringwarden.daemon.TestCleanup;
import org.ringwarden.daemon.grant.AuditEvent;

/**
 * Netty 4.2's io_uring transport, unmodified (Maven Central's netty-transport-native-io_uring),
 * under {@code ringwarden run --policy netty} with the bundled {@code netty} policy (opened to
 * the test's uid by a drop-in), as uid 65534 on a host where {@code kernel.io_uring_disabled=1}
 * refuses that uid's own rings: an echo server and client exchange 1,000 messages. The sysctl
 * is restored afterwards, also on failure.
 */
@Timeout(300)
class NettyTransparentTest {
    private static RunHarness h;
    private static IoUringDisabled sysctl;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(IoUringDisabled.available(), "kernel.io_uring_disabled (6.6+) is needed");
        h = new RunHarness();
        sysctl = IoUringDisabled.set(1);
    }

    @AfterAll
    static void stop() throws Exception {
        TestCleanup.closeAll(sysctl, h);
    }

    private static List<String> echo(int messages) {
        return List.of(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-cp", h.classPath, NettyEcho.class.getName(), Integer.toString(messages));
    }

    @Test
    void nettysEchoServerAndClientExchangeAThousandMessagesUnderTheBundledNettyPolicy() {
        RunHarness.Result alone = RunHarness.exec(java.util.stream.Stream.concat(
                java.util.stream.Stream.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
                echo(10).stream()).toList(), 120);
        assertThat(alone.exit()).as("without ringwarden, Netty finds no io_uring for this uid: %s", alone).isEqualTo(2);

        RunHarness.Result r = h.runAs(RunHarness.NOBODY, "netty", echo(1000));
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.out()).contains("echoed 1000 messages over io_uring");
        assertThat(h.daemon.audit).as("the rings came from the daemon under the netty policy")
                .anyMatch(e -> e.kind() == AuditEvent.Kind.DELIVER && "netty".equals(e.policy()));
    }
}
