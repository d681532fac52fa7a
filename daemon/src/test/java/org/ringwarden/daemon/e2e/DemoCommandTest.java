package org.ringwarden.daemon.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringSysctl;

/** {@code ringwarden demo} as a person runs it: a separate process, root, then not root. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@IoUringSysctl.RequiresRings
class DemoCommandTest {

    private static Set<String> demoDirs() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/var/tmp"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("ringwarden-demo-"))
                    .collect(Collectors.toSet());
        }
    }

    private static String run(List<String> prefix, int[] exit) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(prefix);
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "org.ringwarden.daemon.Main", "demo"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(150, TimeUnit.SECONDS)).as("demo finished; output:\n%s", out).isTrue();
        exit[0] = p.exitValue();
        return out;
    }

    @Test
    void theDemoShowsAPrivateFileReadThroughABrokeredRingAndTheKernelsRefusalAndCleansUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "the demo needs root");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "the demo needs setpriv(1)");
        Set<String> before = demoDirs();
        int[] exit = {-1};
        String out = run(List.of(), exit);
        assertThat(exit[0]).as("exit status; output:\n%s", out).isZero();
        assertThat(out).as("the demo's story")
                .contains("1. I run as uid 65534. Opening ")
                .contains("myself fails: EACCES.")
                .contains("4. READ_FIXED through the brokered ring read 113 bytes of it: \"Only root may open this file")
                .contains("5. A plain READ is refused before it reaches the kernel: READ is not allowed by policy"
                        + " 'demo-reader'; allowed: NOP, READ_FIXED.")
                .contains("the kernel itself completes the READ with -EACCES")
                .contains("6. A ring of my own? io_uring_setup answers EPERM")
                .doesNotContain("UNEXPECTED");
        assertThat(out.lines().count()).as("a few clear lines, not a log").isLessThan(20);
        assertThat(demoDirs()).as("the demo removed its directory").isEqualTo(before);
    }

    @Test
    void withoutRootTheDemoExplainsWhyAndExitsOne() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to become another user");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv(1)");
        Path lib = Files.createTempDirectory(Path.of("/var/tmp"), "rw-demo-cp");
        try {
            // The unprivileged run needs a class path it can read.
            int[] exit = {-1};
            Files.setPosixFilePermissions(lib, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            String cp = copyClasspath(lib);
            List<String> cmd = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                    "-cp", cp, "org.ringwarden.daemon.Main", "demo");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            exit[0] = p.exitValue();
            assertThat(exit[0]).as("output:\n%s", out).isEqualTo(1);
            assertThat(out).contains("run it as root").contains("setpriv");
        } finally {
            try (Stream<Path> s = Files.walk(lib)) {
                for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(q);
                }
            }
        }
    }

    private static String copyClasspath(Path lib) throws IOException {
        List<String> out = new java.util.ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path src = Path.of(entry);
            if (entry.isEmpty() || !Files.exists(src)) {
                continue;
            }
            Path dst = lib.resolve((i++) + "-" + src.getFileName());
            if (Files.isDirectory(src)) {
                try (Stream<Path> s = Files.walk(src)) {
                    for (Path q : (Iterable<Path>) s::iterator) {
                        Path t = dst.resolve(src.relativize(q).toString());
                        if (Files.isDirectory(q)) {
                            Files.createDirectories(t);
                        } else {
                            Files.copy(q, t);
                        }
                        Files.setPosixFilePermissions(t, java.nio.file.attribute.PosixFilePermissions.fromString(
                                Files.isDirectory(t) ? "rwxr-xr-x" : "rw-r--r--"));
                    }
                }
            } else {
                Files.copy(src, dst);
                Files.setPosixFilePermissions(dst, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            }
            out.add(dst.toString());
        }
        return String.join(java.io.File.pathSeparator, out);
    }
}
