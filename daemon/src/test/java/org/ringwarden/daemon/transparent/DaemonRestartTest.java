package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A program under {@code ringwarden run} outlives a restart of the daemon: {@code ringwarden
 * run} reconnects and attaches the program's listener again, and a call trapped while no
 * daemon is there waits a bounded time, then fails with {@code EAGAIN} and a line on stderr.
 * The daemon runs in a process of its own here, and is killed ({@code SIGKILL}: no goodbye).
 */
@Timeout(300)
class DaemonRestartTest {
    private static RunHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = new RunHarness();
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private static void kill(Process daemon) throws InterruptedException {
        daemon.destroyForcibly();
        daemon.waitFor();
    }

    @Test
    void aProgramMakesANewRingAfterTheDaemonWasKilledAndStartedAgainUnderIt() throws Exception {
        Path dir = h.dir.resolve("restarted");
        Process daemon = h.startDaemonProcess(dir);
        try (RunHarness.Running run = h.start(dir.resolve("ringwarden.sock"), "fio", List.of(), h.probe.toString(), "twice")) {
            run.awaitLine("^first nop res=0$", 60);
            kill(daemon);
            daemon = h.startDaemonProcess(dir);
            run.writeLine("go");
            run.awaitLine("^second nop res=0$", 60);
            RunHarness.Result r = run.awaitExit(60);
            assertThat(r.exit()).as("%s", r).isZero();
            assertThat(r.err()).as("nothing to report: %s", r).isEmpty();
        } finally {
            kill(daemon);
        }
    }

    @Test
    void aCallTrappedWhileNoDaemonIsThereFailsWithEagainAfterTheWaitAndSaysSo() throws Exception {
        Path dir = h.dir.resolve("killed");
        Process daemon = h.startDaemonProcess(dir);
        try (RunHarness.Running run = h.start(dir.resolve("ringwarden.sock"), "fio", List.of("--daemon-wait", "1"),
                h.probe.toString(), "twice")) {
            run.awaitLine("^first nop res=0$", 60);
            kill(daemon);
            run.writeLine("go");
            run.awaitLine("^second queue_init errno=11$", 60);
            RunHarness.Result r = run.awaitExit(60);
            assertThat(r.err()).as("%s", r).contains("did not come back within 1000 ms").contains("fails with EAGAIN");
            assertThat(r.exit()).as("rwprobe's own code for a failed queue_init; %s", r).isEqualTo(3);
        } finally {
            kill(daemon);
        }
    }
}
