package org.ringwarden.daemon.install;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a program to completion with a deadline, capturing its output (tests only). */
record ExternalCommand(List<String> argv, Map<String, String> environment, Path directory, Duration timeout) {
    ExternalCommand {
        argv = List.copyOf(argv);
        environment = Map.copyOf(environment);
        requireNonNull(timeout, "timeout");
    }

    static ExternalCommand of(String... argv) {
        return new ExternalCommand(List.of(argv), Map.of(), null, Duration.ofSeconds(120));
    }

    ExternalCommand withEnvironment(Map<String, String> env) {
        return new ExternalCommand(argv, env, directory, timeout);
    }

    ExternalCommand in(Path dir) {
        return new ExternalCommand(argv, environment, dir, timeout);
    }

    /** What a finished program left. */
    record Result(List<String> argv, int exitCode, String stdout, String stderr) {
        /** For assertion messages: the command, its status and both outputs. */
        String describe() {
            return String.join(" ", argv) + "\n  exit " + exitCode + "\n  stdout: " + stdout.strip() + "\n  stderr: " + stderr.strip();
        }
    }

    Result run() throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().putAll(environment);
        if (directory != null) {
            pb.directory(directory.toFile());
        }
        // Files, not pipes: a chatty program cannot block on a full pipe while we wait for it.
        Path out = Files.createTempFile("rw-cmd", ".out");
        Path err = Files.createTempFile("rw-cmd", ".err");
        try {
            pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError("timed out after " + timeout + ": " + String.join(" ", argv)
                        + "\n  stdout: " + Files.readString(out) + "\n  stderr: " + Files.readString(err));
            }
            return new Result(argv, p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** True if {@code program} is an executable on PATH. */
    static boolean available(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
