package org.ringwarden.daemon.transparent;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs {@code ringwarden run} for real, in its own JVM, as the unprivileged uid 65534, against
 * a {@link TransparentTestDaemon} in this JVM: the class path is copied where that uid can
 * read it (the build's is under /root), and the test program {@code rwprobe.c} is compiled
 * with gcc and liburing.
 */
final class RunHarness implements AutoCloseable {
    static final int NOBODY = 65534;

    /** What a run printed and returned. */
    record Result(int exit, String out, String err, long pid) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    final Path dir;
    final Path probe;
    final String classPath;
    final TransparentTestDaemon daemon;

    RunHarness() throws IOException, InterruptedException {
        dir = Files.createTempDirectory("rw-transparent-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        probe = dir.resolve("rwprobe");
        Path src = dir.resolve("rwprobe.c");
        try (InputStream in = RunHarness.class.getResourceAsStream("rwprobe.c")) {
            Files.copy(in, src);
        }
        Result gcc = exec(List.of("gcc", "-O1", "-Wall", "-o", probe.toString(), src.toString(), "-luring", "-lpthread"), 120);
        if (gcc.exit != 0) {
            throw new IllegalStateException("cannot compile rwprobe.c (gcc and liburing-dev needed): " + gcc);
        }
        classPath = copyClassPath(dir.resolve("cp"));
        daemon = TransparentTestDaemon.start(Files.createDirectories(dir.resolve("daemon")));
    }

    /** {@code ringwarden run --policy POLICY -- PROGRAM...} as uid 65534. */
    Result run(String policy, String... program) {
        return runAs(NOBODY, policy, List.of(program));
    }

    Result runAs(int uid, String policy, List<String> program) {
        List<String> cmd = new ArrayList<>();
        if (uid != 0) {
            cmd.addAll(List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups"));
        }
        cmd.addAll(ringwardenRun(policy));
        cmd.addAll(program);
        return exec(cmd, 120);
    }

    /** {@code ringwarden run} as uid 65534, still running: its stdin, its stdout line by line. */
    Running start(String policy, List<String> extraOptions, String... program) throws IOException {
        return start(daemon.socket, policy, extraOptions, program);
    }

    /** As {@link #start(String, List, String...)} with the daemon at {@code socket}. */
    Running start(Path socket, String policy, List<String> extraOptions, String... program) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups"));
        List<String> run = new ArrayList<>(ringwardenRun(socket, policy));
        run.addAll(run.size() - 1, extraOptions); // before the "--"
        cmd.addAll(run);
        cmd.addAll(List.of(program));
        return new Running(new ProcessBuilder(cmd).start());
    }

    /** A run in progress; every line it printed so far is kept. */
    static final class Running implements AutoCloseable {
        final Process process;
        private final java.util.concurrent.LinkedBlockingQueue<String> lines = new java.util.concurrent.LinkedBlockingQueue<>();
        private final StringBuilder seen = new StringBuilder();
        private final StringBuffer errSoFar = new StringBuffer();
        private final CompletableFuture<String> err;
        private final CompletableFuture<Void> outEnded = new CompletableFuture<>();

        Running(Process p) {
            this.process = p;
            Thread.ofPlatform().daemon().start(() -> {
                try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        lines.add(l);
                    }
                } catch (IOException e) {
                    lines.add("[" + e + "]");
                }
                outEnded.complete(null);
            });
            // A thread of its own, not the common pool: a run lasts as long as the test wants,
            // and the pool (one thread on a 2-CPU machine) also reads exec's outputs.
            err = new CompletableFuture<>();
            Thread.ofPlatform().daemon().start(() -> {
                try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        errSoFar.append(l).append('\n');
                    }
                } catch (IOException e) {
                    errSoFar.append('[').append(e).append("]\n");
                }
                err.complete(errSoFar.toString());
            });
        }

        /** Waits for a line matching {@code regex}; fails the test after {@code seconds}. */
        Matcher awaitLine(String regex, long seconds) throws InterruptedException {
            Pattern pattern = Pattern.compile(regex);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (true) {
                String l = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l == null) {
                    throw new AssertionError("no line matching " + regex + " within " + seconds + " s; printed:\n" + seen
                            + "--- stderr so far:\n" + errSoFar);
                }
                seen.append(l).append('\n');
                Matcher m = pattern.matcher(l);
                if (m.find()) {
                    return m;
                }
            }
        }

        void writeLine(String line) throws IOException {
            process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            process.getOutputStream().flush();
        }

        /** Waits for the exit; fails the test after {@code seconds}. */
        Result awaitExit(long seconds) throws InterruptedException {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new AssertionError("ringwarden run did not exit within " + seconds + " s; printed:\n" + seen);
            }
            try {
                outEnded.get(seconds, TimeUnit.SECONDS); // every line, up to the end of the output
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new AssertionError("the output of ringwarden run did not end; printed:\n" + seen, e);
            }
            StringBuilder out = new StringBuilder(seen);
            for (String l; (l = lines.poll()) != null; ) {
                out.append(l).append('\n');
            }
            return new Result(process.exitValue(), out.toString(), err.join(), process.pid());
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }
    }

    /** The command line of {@code ringwarden run --socket S --policy P --} (without the program). */
    List<String> ringwardenRun(String policy) {
        return ringwardenRun(daemon.socket, policy);
    }

    /** As {@link #ringwardenRun(String)} with the daemon at {@code socket}. */
    List<String> ringwardenRun(Path socket, String policy) {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-cp", classPath, "org.ringwarden.daemon.Main", "run", "--socket", socket.toString(),
                "--policy", policy, "--");
    }

    /**
     * A {@link TransparentTestDaemon} in a process of its own, on {@code dir}'s socket: one
     * that can be killed like a real daemon. Returns once it serves.
     */
    Process startDaemonProcess(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), TransparentTestDaemon.class.getName(), dir.toString(),
                "--print-audit").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.PIPE).start();
        var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        for (String l; (l = out.readLine()) != null; ) {
            seen.append(l).append('\n');
            if (l.startsWith("ready ")) {
                // Keep draining its output (audit lines) so that it never blocks on a full pipe.
                Thread.ofPlatform().daemon().start(() -> {
                    try {
                        out.transferTo(java.io.Writer.nullWriter());
                    } catch (IOException e) {
                        // it was killed
                    }
                });
                return p;
            }
        }
        p.waitFor();
        throw new IllegalStateException("the test daemon did not start: " + seen);
    }

    /**
     * Like {@link #exec} but returns when the process exits, not when its output ends (which
     * waits for every descendant that inherited it: an orphan, the supervisor's stderr).
     */
    static Result execUntilExit(List<String> cmd, Path outputs, long timeoutSeconds) {
        try {
            Path out = Files.createTempFile(outputs, "out-", ".txt");
            Path err = Files.createTempFile(outputs, "err-", ".txt");
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
            }
            return new Result(p.isAlive() ? -1 : p.exitValue(), Files.readString(out), Files.readString(err), p.pid());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static Result exec(List<String> cmd, long timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(cmd).start();
            p.getOutputStream().close();
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> slurp(p.getInputStream()));
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> slurp(p.getErrorStream()));
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor();
                return new Result(-1, out.join(), err.join() + "\n[timed out after " + timeoutSeconds + " s]", p.pid());
            }
            return new Result(p.exitValue(), out.join(), err.join(), p.pid());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String slurp(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "[" + e + "]";
        }
    }

    /** Copies every class path entry under {@code to}, readable by everyone; returns the new class path. */
    private static String copyClassPath(Path to) throws IOException {
        Files.createDirectories(to);
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String e : System.getProperty("java.class.path").split(":")) {
            Path from = Path.of(e);
            if (!Files.exists(from)) {
                continue;
            }
            Path target = to.resolve((i++) + "-" + from.getFileName());
            if (Files.isDirectory(from)) {
                copyTree(from, target);
            } else {
                Files.copy(from, target, StandardCopyOption.REPLACE_EXISTING);
            }
            entries.add(target.toString());
        }
        try (Stream<Path> all = Files.walk(to)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        return String.join(":", entries);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) throws IOException {
                Files.createDirectories(to.resolve(from.relativize(d).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Files.copy(f, to.resolve(from.relativize(f).toString()), StandardCopyOption.REPLACE_EXISTING);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    @Override
    public void close() throws IOException {
        try {
            daemon.close();
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
