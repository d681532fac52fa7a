package org.ringwarden.daemon.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A {@code make install DESTDIR=...} of this checkout's build (the jars and docs that
 * {@code mvn package} left in daemon/target: these tests run after {@code package}).
 */
final class StagedInstall {
    /** The repository root: the directory holding the Makefile, above the daemon module. */
    static final Path REPOSITORY = findRepository();

    final Path destdir;
    final String prefix;

    private StagedInstall(Path destdir, String prefix) {
        this.destdir = destdir;
        this.prefix = prefix;
    }

    /** Installs into {@code destdir} with {@code PREFIX=prefix}; fails the test if make fails. */
    static StagedInstall install(Path destdir, String prefix) throws IOException, InterruptedException {
        requireBuild();
        ExternalCommand.Result r = make("install", destdir, prefix);
        assertThat(r.exitCode()).as("make install must succeed:\n%s", r.describe()).isZero();
        return new StagedInstall(destdir, prefix);
    }

    /**
     * The jars and generated docs must be there before anything is installed: never let make
     * fall back to building, that would be Maven inside Maven's own test run. In the
     * install-tests execution (after package) a missing piece fails the test; in a run that
     * picked a test by name before package, it skips it.
     */
    static void requireBuild() throws IOException, InterruptedException {
        ExternalCommand.Result built = ExternalCommand.of(REPOSITORY.resolve("tools/install.sh").toString(), "check").run();
        String reason = "the install tests need `mvn package` first (mvn verify runs them after it): " + built.stderr().strip();
        if (Boolean.getBoolean("ringwarden.install-tests.after-package")) {
            assertThat(built.exitCode()).as(reason).isZero();
        } else {
            assumeTrue(built.exitCode() == 0, reason);
        }
    }

    static ExternalCommand.Result make(String target, Path destdir, String prefix) throws IOException, InterruptedException {
        return ExternalCommand.of("make", "-s", "-C", REPOSITORY.toString(), target, "DESTDIR=" + destdir, "PREFIX=" + prefix)
                .withEnvironment(Map.of("JAVA_HOME", System.getProperty("java.home")))
                .run();
    }

    /** {@code relative} (e.g. "bin/ringwarden") under the staged prefix. */
    Path underPrefix(String relative) {
        return destdir.resolve(prefix.substring(1)).resolve(relative);
    }

    /** {@code absolute} (e.g. "/etc/group") inside the staging root. */
    Path inRoot(String absolute) {
        return destdir.resolve(absolute.substring(1));
    }

    Path launcher() {
        return underPrefix("bin/ringwarden");
    }

    Path unit(String name) {
        return underPrefix("lib/systemd/system/" + name);
    }

    /** Environment that makes the staged launcher use the staged jars and the test's JDK. */
    Map<String, String> launcherEnvironment() {
        Map<String, String> env = new HashMap<>();
        env.put("RINGWARDEN_LIB", underPrefix("lib/ringwarden").toString());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        return env;
    }

    /** Every regular file and symlink under the staging root, relative to it. */
    List<String> files() throws IOException {
        try (Stream<Path> s = Files.walk(destdir)) {
            return s.filter(p -> !Files.isDirectory(p)).map(p -> "/" + destdir.relativize(p)).sorted().toList();
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path findRepository() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("Makefile")) && Files.isRegularFile(p.resolve("tools/install.sh"))) {
                return p;
            }
        }
        throw new IllegalStateException("no repository root (Makefile + tools/install.sh) above " + Path.of("").toAbsolutePath());
    }
}
