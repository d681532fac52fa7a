package org.ringwarden.daemon.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A real daemon in its own process (the {@code ringwarden daemon} command, as root) on private
 * sockets, with the bundled policies adapted to this test (files moved to a private directory
 * only root may enter, subjects opened to uid 65534) plus {@code root-only}; and sandboxed
 * clients started as uid 65534 with setpriv, from world-readable copies of the class path.
 * Removes everything it created on {@link #close()}.
 */
final class E2eEnvironment implements AutoCloseable {
    static final int CLIENT_UID = 65534;
    private static final ObjectMapper JSON = new ObjectMapper();

    final Path base;
    final Path priv;
    final Path socket;
    final Path sample;
    final Path appendLog;
    final Path daemonLog;
    private final Path lib;
    private String clientClasspath;
    private Process daemon;

    E2eEnvironment() throws IOException {
        base = Files.createTempDirectory(Path.of("/var/tmp"), "rw-e2e-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        priv = mkdir("private", "rwx------");
        Path run = mkdir("run", "rwx--x--x");
        Path policies = mkdir("policies", "rwxr-xr-x");
        lib = mkdir("lib", "rwxr-xr-x");
        socket = run.resolve("client.sock");
        sample = priv.resolve("sample");
        appendLog = priv.resolve("app.log");
        daemonLog = base.resolve("daemon.log");
        byte[] data = new byte[65536];
        new Random(42).nextBytes(data);
        Files.write(sample, data);
        Files.setPosixFilePermissions(sample, PosixFilePermissions.fromString("rw-------"));
        writePolicies(policies);
        Files.writeString(base.resolve("daemon.json"), """
                {"socket":{"path":"%s"},"adminSocket":{"path":"%s/admin.sock"},
                 "policies":"%s","audit":{"destination":"file","file":"%s/audit.jsonl"}}
                """.formatted(socket, run, policies, priv));
    }

    private Path mkdir(String name, String perms) throws IOException {
        Path p = base.resolve(name);
        Files.createDirectory(p);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
        return p;
    }

    private void writePolicies(Path dir) throws IOException {
        for (String name : List.of("nop", "reader", "appender", "net", "fast-reader", "fio")) {
            ObjectNode p;
            try (InputStream in = getClass().getResourceAsStream("/org/ringwarden/policy/bundled/" + name + ".json")) {
                p = (ObjectNode) JSON.readTree(in);
            }
            // Open to the test's client, and pointed at this test's files.
            ObjectNode subjects = JSON.createObjectNode();
            subjects.putArray("users").add("nobody");
            if (!p.path("subjects").path("everyone").asBoolean(false)) {
                p.set("subjects", subjects);
            }
            if (p.has("files")) {
                for (var f : (ArrayNode) p.get("files")) {
                    ((ObjectNode) f).put("path", name.equals("appender") ? appendLog.toString() : sample.toString());
                }
            }
            write(dir, name, p);
        }
        ObjectNode rootOnly = (ObjectNode) JSON.readTree("""
                {"name":"root-only","description":"only root may see this","subjects":{"users":["root"]},
                 "sqe":{"ops":["NOP"]},"limits":{"leasesPerUser":4,"bufferBytesPerUser":"0 B"}}""");
        write(dir, "root-only", rootOnly);
    }

    private static void write(Path dir, String name, ObjectNode p) throws IOException {
        Path f = dir.resolve(name + ".json");
        Files.writeString(f, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(p));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    }

    /** Starts the daemon and waits until its socket accepts connections. */
    void startDaemon() throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "org.ringwarden.daemon.Main", "daemon", "--config",
                base.resolve("daemon.json").toString())
                .redirectErrorStream(true).redirectOutput(daemonLog.toFile());
        pb.environment().remove("NOTIFY_SOCKET");
        pb.environment().remove("LISTEN_FDS");
        pb.environment().remove("LISTEN_PID");
        daemon = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!daemon.isAlive()) {
                throw new IllegalStateException("the daemon exited with " + daemon.exitValue() + ":\n" + daemonLog());
            }
            if (Files.exists(socket)) {
                try (var ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
                    return;
                } catch (IOException e) {
                    // not accepting yet
                }
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the daemon did not start within 60 s:\n" + daemonLog());
    }

    long daemonPid() {
        return daemon.pid();
    }

    String daemonLog() {
        try {
            return Files.exists(daemonLog) ? Files.readString(daemonLog) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** What a client run printed, and how it ended. */
    record Run(int exit, List<String> lines) {
        String text() {
            return String.join("\n", lines);
        }
    }

    /**
     * Runs {@link ClientScenarios} {@code scenario} as uid 65534; {@code onLine} sees each line
     * as it comes and may write to the client's stdin.
     */
    Run client(String scenario, List<String> args, java.util.function.BiConsumer<String, OutputStream> onLine)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=" + CLIENT_UID, "--regid=" + CLIENT_UID,
                "--clear-groups", "--", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp", clientClasspath(),
                ClientScenarios.class.getName(), scenario, socket.toString()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                lines.add(line);
                if (onLine != null) {
                    onLine.accept(line, p.getOutputStream());
                }
            }
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            lines.add("(killed after 120 s)");
            return new Run(-1, lines);
        }
        return new Run(p.exitValue(), lines);
    }

    Run client(String scenario, String... args) throws Exception {
        return client(scenario, List.of(args), null);
    }

    /** Asserts the run ended well and printed {@code expectedOk} OK lines. */
    static void assertPassed(Run run, int expectedOk) {
        assertThat(run.exit()).as("client exit status; its output:\n%s", run.text()).isZero();
        assertThat(run.lines().stream().filter(l -> l.startsWith("OK ")).count())
                .as("OK lines; output:\n%s", run.text()).isEqualTo(expectedOk);
    }

    private synchronized String clientClasspath() throws IOException {
        if (clientClasspath == null) {
            clientClasspath = org.ringwarden.daemon.cli.DemoCommand.readableClasspath(lib);
        }
        return clientClasspath;
    }

    /** Descriptors open in the daemon. */
    int daemonFds() {
        String[] names = Path.of("/proc", Long.toString(daemon.pid()), "fd").toFile().list();
        return names == null ? -1 : names.length;
    }

    /** Ring and buffer mappings in the daemon. */
    long daemonRingMappings() throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(daemon.pid()), "maps")).stream()
                .filter(l -> l.contains("io_uring") || l.contains("memfd:")).count();
    }

    /** Polls {@code check} until it passes or {@code seconds} elapse (the daemon cleans up asynchronously). */
    static void eventually(int seconds, Runnable check) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            try {
                check.run();
                return;
            } catch (AssertionError e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (daemon != null && daemon.isAlive()) {
                daemon.destroy();
                if (!daemon.waitFor(20, TimeUnit.SECONDS)) {
                    daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        } finally {
            try (Stream<Path> s = Files.walk(base)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException e) {
                        // best effort; reported by the next line's absence check if it matters
                    }
                });
            }
        }
    }

    static Consumer<String> ignore() {
        return s -> { };
    }
}
