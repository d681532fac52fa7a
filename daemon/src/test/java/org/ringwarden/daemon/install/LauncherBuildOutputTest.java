package org.ringwarden.daemon.install;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source checkout's launcher ({@code ./ringwarden}) builds the jars on first use; what the
 * build prints (Maven 3.8's ANSI resets, which it writes even with {@code -B}, and the docs
 * generator's "wrote N files") is not the command's output and must not show, unless the build
 * fails. Driven with a stand-in {@code mvn} that prints what the real one does and "builds" by
 * copying this checkout's packaged jars, in a copy of the launcher's checkout layout.
 */
class LauncherBuildOutputTest {
    private static final String NOISE = "\u001b[0m\u001b[0mDocsGenerator: wrote 29 files under daemon/target/docs\n";

    private static Path checkout(Path root, String mvnBody) throws IOException, InterruptedException {
        StagedInstall.requireBuild();
        Files.copy(StagedInstall.REPOSITORY.resolve("ringwarden"), root.resolve("ringwarden"));
        Files.createDirectories(root.resolve("tools"));
        Files.copy(StagedInstall.REPOSITORY.resolve("tools/find-jdk"), root.resolve("tools/find-jdk"));
        Files.createDirectories(root.resolve("systemd"));
        Files.copy(StagedInstall.REPOSITORY.resolve("systemd/ringwarden.in"), root.resolve("systemd/ringwarden.in"));
        Files.writeString(root.resolve("pom.xml"), "<project/>\n");
        for (String module : new String[] {"native", "policies", "client", "daemon"}) {
            Files.createDirectories(root.resolve(module));
        }
        Path bin = Files.createDirectories(root.resolve("fake-bin"));
        Path mvn = Files.writeString(bin.resolve("mvn"), "#!/bin/sh\n" + mvnBody);
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
        return root;
    }

    private static ExternalCommand.Result launch(Path root, String... args) throws Exception {
        String[] argv = Stream.concat(Stream.of(root.resolve("ringwarden").toString()), Stream.of(args)).toArray(String[]::new);
        return ExternalCommand.of(argv).withEnvironment(Map.of(
                "PATH", root.resolve("fake-bin") + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"),
                "JAVA_HOME", System.getProperty("java.home"))).run();
    }

    @Test
    void aFirstRunShowsTheCommandsOutputNotTheBuilds(@TempDir Path tmp) throws Exception {
        Path target = StagedInstall.REPOSITORY.resolve("daemon/target");
        Path root = checkout(tmp, "printf '" + NOISE.replace("\u001b", "\\033").replace("\n", "\\n") + "'\n"
                + "mkdir -p daemon/target/lib\n"
                + "cp " + target + "/ringwarden-daemon-*.jar daemon/target/\n"
                + "rm -f daemon/target/*-sources.jar daemon/target/*-javadoc.jar daemon/target/*-tests.jar\n"
                + "cp " + target + "/lib/*.jar daemon/target/lib/\n");

        ExternalCommand.Result r = launch(root, "--version");

        assertThat(r.exitCode()).as("the launcher built and ran:\n%s", r.describe()).isZero();
        assertThat(r.stdout()).as("the command's own output").startsWith("ringwarden ");
        assertThat(r.stdout() + r.stderr()).as("no escape codes, no build chatter:\n%s", r.describe())
                .doesNotContain("\u001b").doesNotContain("DocsGenerator");
        assertThat(r.stderr()).as("one line says a build happened").contains("ringwarden: building");
    }

    @Test
    void aFailedBuildShowsWhatTheBuildSaidWithoutEscapeCodes(@TempDir Path tmp) throws Exception {
        Path root = checkout(tmp, "printf '\\033[1;31mERROR\\033[m Compilation failure: Foo.java:[3,1] boom\\n'\nexit 1\n");

        ExternalCommand.Result r = launch(root, "--version");

        assertThat(r.exitCode()).as("exit").isEqualTo(1);
        assertThat(r.stderr()).as("the build's own words, then the launcher's")
                .contains("ERROR Compilation failure: Foo.java:[3,1] boom").contains("ringwarden: build failed")
                .doesNotContain("\u001b");
    }
}
