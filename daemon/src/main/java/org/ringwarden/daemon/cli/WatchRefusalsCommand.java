package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.jspecify.annotations.Nullable;
import org.ringwarden.daemon.config.ConfigException;
import org.ringwarden.daemon.trace.RefusalWatch;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ringwarden watch-refusals}: the refusal reports' privileged half. Root, in its own
 * process ({@code ringwarden-refusals.service}): it reads the kernel's
 * {@code io_uring_req_failed} tracepoint, which the daemon (not root) cannot, and sends the
 * restriction refusals it sees to the daemon's admin socket, which audits those on its rings.
 */
@Command(name = "watch-refusals", mixinStandardHelpOptions = true,
        description = {"Report to the daemon every request the kernel refuses because of a ring's restrictions (EACCES), "
                + "from the kernel's io_uring_req_failed tracepoint: the daemon audits each refusal on one of its rings "
                + "with the program, its pid, the policy and the refused opcode or flags (event sqe-refused). For rings "
                + "of complain-mode policies it traces the submissions of the processes using them and reports what "
                + "the policy's lists leave out (event sqe-complained). Runs until stopped. Root only (tracefs); the daemon does not need to be root for it.",
                "",
                "Exit status: 0 stopped by a signal; 3 tracing could not start (no tracefs, not root)."})
public final class WatchRefusalsCommand implements Callable<Integer> {
    @Option(names = "--admin-socket", paramLabel = "PATH",
            description = "The daemon's admin socket (default: from --config, else $RUNTIME_DIRECTORY/admin.sock or /run/ringwarden/admin.sock).")
    @Nullable Path adminSocket;

    @Option(names = "--config", paramLabel = "FILE", description = "Read the admin socket's path from the daemon's configuration.")
    @Nullable Path config;

    private final AdminClient admin = new AdminClient();
    /** Whether the daemon has answered complain-targets yet (said once on stderr). */
    private volatile boolean answered;

    @Override
    public Integer call() throws Exception {
        admin.adminSocket = adminSocket;
        admin.config = config;
        RefusalWatch watch;
        try {
            watch = RefusalWatch.start(this::send, this::complainTargets);
        } catch (IOException e) {
            System.err.println("ringwarden watch-refusals: cannot trace: " + e.getMessage());
            return 3;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                watch.close();
            } catch (IOException e) {
                System.err.println("ringwarden watch-refusals: " + e.getMessage());
            }
            stop.countDown();
        }));
        System.err.println("ringwarden watch-refusals: reporting restriction refusals to " + admin.socket());
        stop.await();
        return 0;
    }

    /** The tasks using complain-mode rings now; none while the daemon is away (or too old to say). */
    private List<Integer> complainTargets() {
        try {
            if (admin.call(new Request.ComplainTargets()) instanceof Response.ComplainTargets t) {
                if (!answered) {
                    answered = true;
                    System.err.println("ringwarden watch-refusals: the daemon answers; tracing complain-mode rings too");
                }
                return t.tids();
            }
        } catch (IOException | ConfigException | RefusedException e) {
            // the daemon is away: nothing to follow until it is back
        }
        return List.of();
    }

    private void send(List<Request.RefusedSqe> refusals) {
        try {
            Response r = admin.call(new Request.ReportRefusals(refusals));
            if (r instanceof Response.Error e) {
                System.err.println("ringwarden watch-refusals: the daemon refused the report: " + e.code() + ": " + e.message());
            }
        } catch (IOException | ConfigException | RefusedException e) {
            // The daemon is away (a restart): these refusals go unreported, later ones will not.
            System.err.println("ringwarden watch-refusals: " + refusals.size() + " refusal(s) not reported: " + e.getMessage());
        }
    }
}
