package org.ringwarden.daemon.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.abort;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.daemon.cli.RingwardenCommand;

import picocli.CommandLine;

/**
 * The service's SystemCallFilter= against what the daemon's JVM really calls. PID 1 is not
 * systemd here, so the filter cannot be applied; instead the programs run under
 * {@code strace -f -c} and every system call they made (failed ones included) must be in the
 * filter as systemd would expand it.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SystemCallFilterTest {
    /** What delivery needs: rings, seccomp listener ioctls, pidfds, buffers, safe opens, fd passing, transparent mode. */
    private static final List<String> DELIVERY = List.of("io_uring_setup", "io_uring_enter", "io_uring_register", "ioctl",
            "pidfd_open", "memfd_create", "fcntl", "mmap", "munmap", "openat2", "sendmsg", "recvmsg", "getsockopt",
            "accept4", "epoll_wait", "process_vm_readv", "process_vm_writev");
    /** What the daemon must not be able to do, even if subverted. */
    private static final List<String> FORBIDDEN = List.of("seccomp", "ptrace", "pidfd_getfd", "setuid", "setgroups",
            "capset", "mount", "bpf", "init_module", "kexec_load", "reboot", "setrlimit", "perf_event_open");

    @TempDir
    Path scratch;
    StagedInstall staged;
    SystemCallFilter filter;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(ExternalCommand.available("systemd-analyze"), "systemd-analyze is not installed: cannot expand the filter");
        staged = StagedInstall.install(scratch.resolve("root"), "/usr");
        filter = SystemCallFilter.of(UnitFile.read(staged.unit("ringwarden.service")));
    }

    @Test
    void filterAllowsWhatDeliveryNeedsAndNothingPrivileged() {
        System.out.println("SystemCallFilter allows " + filter.size() + " system calls");
        for (String call : DELIVERY) {
            assertThat(filter.allows(call)).as("%s must be allowed (delivery needs it)", call).isTrue();
        }
        for (String call : FORBIDDEN) {
            assertThat(filter.allows(call)).as("%s must be refused", call).isFalse();
        }
    }

    @Test
    void jvmStartThroughTheInstalledLauncherStaysInsideTheFilter() throws Exception {
        Set<String> calls = traced(List.of(staged.launcher().toString(), "--version"), staged.launcherEnvironment(), null);

        assertThat(calls).as("the trace saw the JVM start").contains("execve", "clone3", "mmap", "futex");
        assertInsideFilter("ringwarden --version", calls);
    }

    @Test
    void deliverySyscallsStayInsideTheFilter() throws Exception {
        String classpath = staged.underPrefix("lib/ringwarden") + "/*:" + StagedInstall.REPOSITORY.resolve("daemon/target/test-classes");
        List<String> argv = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", classpath, DeliverySyscallExercise.class.getName(), Files.createDirectories(scratch.resolve("work")).toString());

        Set<String> calls = traced(argv, Map.of(), null);

        assertThat(calls).as("the exercise really made the delivery calls").contains("io_uring_setup", "io_uring_register",
                "io_uring_enter", "memfd_create", "openat2", "pidfd_open", "process_vm_readv", "getsockopt");
        assertInsideFilter("delivery exercise", calls);
    }

    @Test
    void daemonSessionStaysInsideTheFilter() throws Exception {
        CommandLine cli = RingwardenCommand.commandLine();
        CommandLine daemon = cli.getSubcommands().get("daemon");
        if (daemon == null) {
            abort("no `ringwarden daemon` subcommand in this build yet: the JVM start and the delivery calls are traced by the other tests");
        }
        for (String option : List.of("--socket", "--admin-socket", "--policies")) {
            assumeTrue(daemon.getCommandSpec().findOption(option) != null, "`ringwarden daemon` has no " + option + " option");
        }
        Path policies = Files.createDirectories(scratch.resolve("policies.d"));
        Path socket = scratch.resolve("client.sock");
        Path admin = scratch.resolve("admin.sock");
        List<String> argv = new ArrayList<>(List.of(staged.launcher().toString(), "daemon", "--socket", socket.toString(),
                "--admin-socket", admin.toString(), "--policies", policies.toString()));
        if (daemon.getCommandSpec().findOption("--config") != null) {
            // Audit to stdout: the default audit file is under /var/log, which this test must not touch.
            Path config = Files.writeString(scratch.resolve("ringwarden.json"), "{\"audit\":{\"destination\":\"stdout\"}}");
            argv.addAll(List.of("--config", config.toString()));
        }

        Set<String> calls = traced(argv, staged.launcherEnvironment(), tracee -> {
            awaitSocket(socket, Duration.ofSeconds(90));
            askForPolicies(socket);
            tracee.destroy(); // SIGTERM: the daemon's orderly shutdown is part of the session
        });

        assertInsideFilter("ringwarden daemon session", calls);
    }

    private void assertInsideFilter(String what, Set<String> calls) {
        Set<String> outside = new TreeSet<>();
        for (String c : calls) {
            if (!filter.allows(c)) {
                outside.add(c);
            }
        }
        System.out.println(what + ": " + calls.size() + " distinct system calls " + calls);
        assertThat(outside).as("system calls of %s outside the unit's SystemCallFilter (would fail with EPERM)", what).isEmpty();
    }

    /** While the program runs under strace: something to do with the traced process, then it must end. */
    interface Session {
        void run(ProcessHandle tracee) throws Exception;
    }

    /** Runs argv under {@code strace -f -c}; returns the names of every system call made by any thread. */
    private Set<String> traced(List<String> argv, Map<String, String> env, Session session) throws Exception {
        assumeTrue(ExternalCommand.available("strace"), "strace is not installed (apt-get install strace): the trace is skipped");
        Path summary = scratch.resolve("strace-" + System.nanoTime() + ".txt");
        List<String> command = new ArrayList<>(List.of("strace", "-f", "-qq", "-c", "-o", summary.toString(), "--"));
        command.addAll(argv);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(scratch.resolve("strace-program.out").toFile());
        pb.environment().putAll(env);
        Process strace = pb.start();
        try {
            if (session != null) {
                ProcessHandle tracee = awaitChild(strace, Duration.ofSeconds(30));
                try {
                    session.run(tracee);
                } catch (AssertionError | IOException e) {
                    throw new AssertionError(e.getMessage() + "\nprogram output:\n"
                            + Files.readString(scratch.resolve("strace-program.out")), e);
                }
            }
            assertThat(strace.waitFor(3, TimeUnit.MINUTES)).as("%s ends under strace", argv).isTrue();
        } finally {
            strace.descendants().forEach(ProcessHandle::destroyForcibly);
            strace.destroyForcibly();
            strace.waitFor(10, TimeUnit.SECONDS);
        }
        String output = Files.readString(scratch.resolve("strace-program.out"));
        if (session == null) {
            assertThat(strace.exitValue()).as("exit status of %s under strace; output:\n%s", argv, output).isZero();
        }
        return parseSummary(Files.readString(summary));
    }

    /** The syscall column of {@code strace -c}: rows between the two dashed rules. */
    static Set<String> parseSummary(String text) {
        Set<String> calls = new TreeSet<>();
        int rules = 0;
        for (String line : text.lines().toList()) {
            if (line.startsWith("------")) {
                rules++;
                continue;
            }
            if (rules == 1 && !line.isBlank()) {
                String[] columns = line.trim().split("\\s+");
                calls.add(columns[columns.length - 1]);
            }
        }
        if (calls.isEmpty()) {
            throw new AssertionError("no system calls in the strace summary:\n" + text);
        }
        return calls;
    }

    private static ProcessHandle awaitChild(Process strace, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var child = strace.children().findFirst();
            if (child.isPresent()) {
                return child.get();
            }
            if (!strace.isAlive()) {
                throw new AssertionError("strace ended before its program started");
            }
            Thread.sleep(20);
        }
        throw new AssertionError("strace's program did not start within " + timeout);
    }

    private static void awaitSocket(Path socket, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(socket)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the daemon did not create " + socket + " within " + timeout);
            }
            Thread.sleep(50);
        }
    }

    /** One protocol exchange (protocol.md): a framed {@code policies} request and its answer. */
    private static void askForPolicies(Path socket) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            byte[] json = "{\"v\":1,\"op\":\"policies\"}".getBytes(StandardCharsets.UTF_8);
            ch.write(ByteBuffer.allocate(4 + json.length).putInt(json.length).put(json).flip());
            ByteBuffer length = ByteBuffer.allocate(4);
            while (length.hasRemaining() && ch.read(length) >= 0) {
                // a reply may come in pieces
            }
            assertThat(length.hasRemaining()).as("the daemon answered the policies request").isFalse();
        }
    }
}
