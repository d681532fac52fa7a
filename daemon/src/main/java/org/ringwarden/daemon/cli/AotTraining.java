package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.ringwarden.daemon.transparent.TransparentRun;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.UnixSockets;
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompFilter;
import org.ringwarden.protocol.DaemonChannel;
import org.ringwarden.protocol.Frames;
import org.ringwarden.protocol.ProtocolCodec;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import picocli.CommandLine;

/**
 * The training run of the JVM's ahead-of-time cache (JEP 483, 514), made by
 * {@code tools/aot-cache} at {@code make install} and by the {@code ./ringwarden} launcher after
 * a build: it goes through what the CLI's commands load (the command line, a policy
 * validation, an admin call) without a daemon, and through a whole {@code ringwarden run} of
 * {@code /bin/true} against a stand-in for the daemon on a socket of its own that answers the
 * {@code attach} (the run's path is the one whose start-up counts most: bench/run-transparent;
 * training it for real rather than up to a refused connection saved about 45 ms of CPU per
 * run). Nothing outside its own JVM changes: the filter {@code ringwarden run} installs goes on
 * one thread of this JVM and on {@code /bin/true}. Its output is thrown away; it exits 0
 * whatever the steps find.
 *
 * <p>With the argument {@code run}, only the whole {@code ringwarden run}: the training of the
 * second cache, {@code ringwarden-run.aot}, which the launchers give {@code ringwarden run}
 * alone. The JVM maps and links every class of its cache at start, whether the command needs
 * it or not, so a cache of the run's classes only (24 against 28 MB) saved about 40 ms of CPU
 * per run (bench/README.md).
 */
public final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream(), true);
        System.setOut(quiet);
        System.setErr(quiet);
        Path dir = Files.createTempDirectory("ringwarden-aot-");
        try {
            Path policy = Files.writeString(dir.resolve("training.json"), """
                    {
                      "name": "training",
                      "description": "AOT training run",
                      "subjects": { "everyone": true },
                      "sqe": { "ops": ["NOP", "READ"] },
                      "limits": { "leasesPerUser": 4, "bufferBytesPerUser": "0 B" },
                      "transparent": { "enabled": true, "honour": ["CQSIZE"], "refuse": ["SQPOLL"] }
                    }
                    """);
            if (args.length > 0 && args[0].equals("run")) {
                wholeRun(dir); // the cache of ringwarden run alone: nothing else in it to map
            } else {
                everyCommand(dir, policy, quiet);
            }
        } catch (RefusedException | RuntimeException e) {
            // A training run: whatever it loaded is in the cache; failures are not ours to report.
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
        System.exit(0);
    }

    /** What every command loads, and a whole {@code ringwarden run}. */
    private static void everyCommand(Path dir, Path policy, PrintStream quiet)
            throws IOException, RefusedException, InterruptedException {
        Path none = dir.resolve("none.sock");
        execute("--help");
        execute("policy", "validate", policy.toString());
        execute("status", "--admin-socket", none.toString());
        execute("run", "--help");
        // ringwarden run's path up to the daemon: refused at the connection (no daemon).
        TransparentRun.run(TransparentRun.options(none, "training", 0), List.of("/bin/true"), System.getenv(), quiet);
        wholeRun(dir);
        try (DaemonChannel c = DaemonChannel.connect(none)) {
            c.call(new Request.Status());
        } catch (IOException e) {
            // expected: nothing listens there
        }
        for (Request r : List.of(new Request.Attach(1, "training"),
                new Request.TransparentSetup(1, 1, 8, 0, 0, "/bin/true"), new Request.Status())) {
            ProtocolCodec.decodeRequest(ProtocolCodec.encode(r));
        }
        ProtocolCodec.decodeResponse(ProtocolCodec.encode(new Response.TransparentRing(11, -1, null, "training")));
        ProtocolCodec.decodeResponse(ProtocolCodec.encode(new Response.Attached()));
        SeccompFilter.trappingIoUringSetup();
        Seccomp.notifSizes();
        // What ringwarden run loads only once a daemon answered (none does here).
        for (String name : List.of("org.ringwarden.daemon.Main", "org.ringwarden.protocol.Frames",
                "org.ringwarden.linux.Pidfd", "org.ringwarden.daemon.transparent.ProgramParent",
                "org.ringwarden.daemon.transparent.TransparentSupervisor", "org.ringwarden.linux.ProcessMemory",
                "org.ringwarden.linux.seccomp.SeccompNotification", "org.ringwarden.linux.uring.IoUringParams")) {
            try {
                Class.forName(name, false, AotTraining.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                // renamed: the cache just lacks it
            }
        }
    }

    /** A whole {@code ringwarden run} of {@code /bin/true}, attached by a stand-in for the daemon. */
    private static void wholeRun(Path dir) throws InterruptedException {
        Path sock = dir.resolve("daemon.sock");
        Thread daemon = standInDaemon(sock);
        try {
            Class.forName("org.ringwarden.daemon.Main", false, AotTraining.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            // renamed: the cache just lacks it
        }
        RingwardenCommand.fastPath(new String[] {"run", "--socket", sock.toString(), "--policy", "training", "--",
                "/bin/true"});
        daemon.join(5_000);
    }

    /**
     * Listens at {@code sock} and answers one {@code attach} as the daemon does (send-fds, the
     * listener, attached), then hangs up: the listener is closed, so the run's supervisor has
     * nothing to serve and the run ends with {@code /bin/true}.
     */
    private static Thread standInDaemon(Path sock) {
        int listening = UnixSockets.listen(sock.toString(), 1);
        return Thread.ofPlatform().daemon().start(() -> {
            int c = -1;
            try {
                c = UnixSockets.accept(listening);
                byte[] buf = new byte[4096];
                UnixRights.recvFds(c, buf, 0); // the attach
                send(c, new Response.SendFds(1));
                UnixRights.recvFds(c, buf, 1).closeAll(); // the listener
                send(c, new Response.Attached());
                UnixRights.recvFds(c, buf, 0); // until the run hangs up
            } catch (RuntimeException e) {
                // A training run: the run fails without its answers, and that is all.
            } finally {
                Descriptors.closeQuietly(c);
                Descriptors.closeQuietly(listening);
            }
        });
    }

    private static void send(int fd, Response r) {
        UnixRights.sendFds(fd, Frames.frame(ProtocolCodec.encode(r)), new int[0]);
    }

    private static void execute(String... args) {
        CommandLine cl = RingwardenCommand.commandLine();
        cl.setOut(new PrintWriter(Writer.nullWriter()));
        cl.setErr(new PrintWriter(Writer.nullWriter()));
        cl.execute(args);
    }
}
