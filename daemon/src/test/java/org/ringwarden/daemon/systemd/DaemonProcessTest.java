package org.ringwarden.daemon.systemd;

import org.ringwarden.protocol.RefusedException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * The daemon as systemd runs it: a separate JVM ({@code ringwarden daemon}) with
 * {@code NOTIFY_SOCKET}, signals, and socket activation through {@code systemd-socket-activate}.
 */
@Timeout(120)
@IoUringSysctl.RequiresRings
class DaemonProcessTest {
    private Path dir;
    private Process process;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "rwp");
        Files.createDirectory(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/open.json"), """
                {"name":"open","description":"everyone: NOP","subjects":{"everyone":true},"sqe":{"ops":["NOP"]},
                 "limits":{"leasesPerUser":4,"bufferBytesPerUser":"0 B"}}
                """);
        Files.writeString(dir.resolve("daemon.json"), """
                {"socket":{"path":"%s/client.sock"},"adminSocket":{"path":"%s/admin.sock"},
                 "policies":"%s/policies","audit":{"destination":"file","file":"%s/audit.jsonl"}}
                """.formatted(dir, dir, dir, dir));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private List<String> daemonCommand() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return List.of(java, "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), "org.ringwarden.daemon.Main", "daemon", "--config",
                dir.resolve("daemon.json").toString());
    }

    private Process start(List<String> command, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("daemon.log").toFile());
        pb.environment().remove("NOTIFY_SOCKET");
        pb.environment().remove("LISTEN_FDS");
        pb.environment().remove("LISTEN_PID");
        pb.environment().putAll(env);
        return pb.start();
    }

    private String log() throws IOException {
        return Files.exists(dir.resolve("daemon.log")) ? Files.readString(dir.resolve("daemon.log")) : "";
    }

    private static void signal(Process p, String sig) throws Exception {
        assertThat(new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).start().waitFor())
                .as("kill -%s", sig).isZero();
    }

    /** One request over the given socket with a plain JDK channel; returns the answer's JSON. */
    private static String ask(Path socket, String json) throws IOException {
        try (var ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.connect(java.net.UnixDomainSocketAddress.of(socket));
            var out = java.nio.channels.Channels.newOutputStream(ch);
            org.ringwarden.protocol.Frames.write(out, json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            try {
                return new String(org.ringwarden.protocol.Frames.read(java.nio.channels.Channels.newInputStream(ch)),
                        java.nio.charset.StandardCharsets.UTF_8);
            } catch (org.ringwarden.protocol.RefusedException e) {
                throw new IOException(e);
            }
        }
    }

    @Test
    void notifiesReadyReloadingAndStoppingAndRemovesItsSocketsOnSigterm() throws Exception {
        try (NotifyReceiver notify = new NotifyReceiver("rwtest-" + ProcessHandle.current().pid() + "-" + System.nanoTime())) {
            process = start(daemonCommand(), Map.of("NOTIFY_SOCKET", notify.notifySocket()));
            String ready = notify.await("READY=1", 60_000);
            assertThat(ready).as("READY=1 once serving; log:%n%s", log()).isNotNull().contains("STATUS=");
            assertThat(dir.resolve("client.sock")).as("client socket").exists();
            assertThat(ask(dir.resolve("client.sock"), "{\"v\":1,\"op\":\"policies\"}")).as("serving")
                    .contains("\"open\"");

            long before = SdNotify.monotonicMicros();
            signal(process, "HUP");
            String reloading = notify.await("RELOADING=1", 20_000);
            assertThat(reloading).as("RELOADING=1 on SIGHUP; log:%n%s", log()).isNotNull().contains("MONOTONIC_USEC=");
            long usec = Long.parseLong(reloading.lines().filter(l -> l.startsWith("MONOTONIC_USEC="))
                    .findFirst().orElseThrow().substring("MONOTONIC_USEC=".length()));
            assertThat(usec).as("MONOTONIC_USEC is CLOCK_MONOTONIC now").isBetween(before, SdNotify.monotonicMicros());
            assertThat(notify.await("READY=1", 20_000)).as("READY=1 after the reload").isNotNull();

            process.destroy(); // SIGTERM
            assertThat(notify.await("STOPPING=1", 20_000)).as("STOPPING=1 on SIGTERM; log:%n%s", log()).isNotNull();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("exits after SIGTERM").isTrue();
            assertThat(process.exitValue()).as("exit code after SIGTERM; log:%n%s", log()).isZero();
            assertThat(dir.resolve("client.sock")).as("client socket removed").doesNotExist();
            assertThat(dir.resolve("admin.sock")).as("admin socket removed").doesNotExist();
            assertThat(Files.readString(dir.resolve("audit.jsonl"))).as("reload by signal audited")
                    .contains("\"event\":\"reload\"").contains("SIGHUP");
        }
    }

    @Test
    void aStaleSocketFileIsReplacedButALiveDaemonIsNot() throws Exception {
        // A stale socket: bound, then its listener gone (connect gets ECONNREFUSED).
        Path stale = dir.resolve("client.sock");
        try (var s = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            s.bind(java.net.UnixDomainSocketAddress.of(stale));
        }
        assertThat(stale).as("stale socket file left behind").exists();
        try (NotifyReceiver notify = new NotifyReceiver("rwtest-stale-" + System.nanoTime())) {
            process = start(daemonCommand(), Map.of("NOTIFY_SOCKET", notify.notifySocket()));
            assertThat(notify.await("READY=1", 60_000)).as("starts over a stale socket; log:%n%s", log()).isNotNull();
            // A second daemon on the same paths must refuse rather than steal the live socket.
            Process second = new ProcessBuilder(daemonCommand()).redirectErrorStream(true).start();
            assertThat(second.waitFor(60, TimeUnit.SECONDS)).as("second daemon exits").isTrue();
            String out = new String(second.getInputStream().readAllBytes());
            assertThat(second.exitValue()).as("second daemon fails; output:%n%s", out).isEqualTo(1);
            assertThat(out).as("says why").contains("another process is accepting connections");
            assertThat(ask(stale, "{\"v\":1,\"op\":\"policies\"}")).as("first daemon still serving").contains("open");
        }
    }

    @Test
    void socketActivationServesTheInheritedSocket() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-socket-activate")), "needs systemd-socket-activate");
        Path sock = dir.resolve("activated.sock");
        Path adminSock = dir.resolve("activated-admin.sock");
        List<String> cmd = new ArrayList<>(List.of("systemd-socket-activate", "-l", sock.toString(), "-l",
                adminSock.toString(), "--fdname=client:admin"));
        cmd.addAll(daemonCommand());
        process = start(cmd, Map.of());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(sock) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(sock).as("systemd-socket-activate listening").exists();
        // The first connection starts the daemon, which serves it on the inherited socket.
        assertThat(ask(sock, "{\"v\":1,\"op\":\"policies\"}")).as("answer through the activated socket; log:%n%s", log())
                .contains("\"open\"");
        assertThat(ask(adminSock, "{\"v\":1,\"op\":\"status\"}")).as("status through the activated admin socket")
                .contains("\"type\":\"status\"");
        assertThat(dir.resolve("client.sock")).as("no client socket of its own").doesNotExist();
        assertThat(dir.resolve("admin.sock")).as("no admin socket of its own").doesNotExist();
        assertThat(log()).as("log says it serves inherited sockets").contains("client socket fd 3 from systemd")
                .contains("admin socket fd 4 from systemd");
        process.destroy();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("exits on SIGTERM").isTrue();
        assertThat(process.exitValue()).as("exit code; log:%n%s", log()).isZero();
        assertThat(sock).as("the inherited socket belongs to systemd and stays").exists();
        assertThat(adminSock).as("the inherited admin socket stays too").exists();
    }
}
