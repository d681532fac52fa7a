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
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompFilter;
import org.ringwarden.protocol.DaemonChannel;
import org.ringwarden.protocol.ProtocolCodec;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import picocli.CommandLine;

/**
 * The training run of the JVM's ahead-of-time cache (JEP 483, 514), made by
 * {@code tools/aot-cache} at {@code make install} and by the {@code ./ringwarden} launcher after
 * a build: it goes through what the CLI's commands load (the command line, a policy
 * validation, an admin call, the transparent path up to the daemon connection) without a
 * daemon and without changing anything outside its own JVM (the filter {@code ringwarden run}
 * installs goes on one thread of this JVM, which ends; nothing is spawned). Its output is
 * thrown away; it exits 0 whatever the steps find.
 */
public final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws IOException {
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
            Path none = dir.resolve("none.sock");
            execute("--help");
            execute("policy", "validate", policy.toString());
            execute("status", "--admin-socket", none.toString());
            execute("run", "--help");
            // ringwarden run's path up to the daemon: refused at the connection (no daemon).
            RunFastPath.parse(new String[] {"run", "--socket", none.toString(), "--policy", "training", "--", "/bin/true"});
            TransparentRun.run(TransparentRun.options(none, "training", 0), List.of("/bin/true"), System.getenv(), quiet);
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

    private static void execute(String... args) {
        CommandLine cl = RingwardenCommand.commandLine();
        cl.setOut(new PrintWriter(Writer.nullWriter()));
        cl.setErr(new PrintWriter(Writer.nullWriter()));
        cl.execute(args);
    }
}
