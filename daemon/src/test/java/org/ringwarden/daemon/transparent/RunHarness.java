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
    record Result(int exit, String out, String err) {
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

    /** The command line of {@code ringwarden run --socket S --policy P --} (without the program). */
    List<String> ringwardenRun(String policy) {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-cp", classPath, "org.ringwarden.daemon.Main", "run", "--socket", daemon.socket.toString(),
                "--policy", policy, "--");
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
            return new Result(p.isAlive() ? -1 : p.exitValue(), Files.readString(out), Files.readString(err));
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
                return new Result(-1, out.join(), err.join() + "\n[timed out after " + timeoutSeconds + " s]");
            }
            return new Result(p.exitValue(), out.join(), err.join());
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
