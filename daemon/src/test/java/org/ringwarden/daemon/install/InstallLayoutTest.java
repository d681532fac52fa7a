package org.ringwarden.daemon.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.daemon.cli.RingwardenCommand;

/** {@code make install} / {@code make uninstall} with DESTDIR and PREFIX, as a packager runs them. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class InstallLayoutTest {
    @TempDir
    Path destdir;

    @Test
    void installPutsEveryPieceUnderDestdirAndUninstallRemovesThemAll() throws Exception {
        StagedInstall staged = StagedInstall.install(destdir, "/usr");
        List<String> files = staged.files();
        System.out.println("installed " + files.size() + " files:\n  " + String.join("\n  ", files));

        assertThat(files).as("the installed layout").contains(
                "/usr/bin/ringwarden",
                "/usr/lib/systemd/system/ringwarden.service",
                "/usr/lib/systemd/system/ringwarden.socket",
                "/usr/lib/systemd/system/ringwarden-admin.socket",
                "/usr/lib/systemd/system/ringwarden-oci-agent.socket",
                "/usr/lib/systemd/system/ringwarden-refusals.service",
                "/usr/lib/sysusers.d/ringwarden.conf",
                "/usr/lib/tmpfiles.d/ringwarden.conf",
                "/usr/share/man/man1/ringwarden.1",
                "/usr/share/bash-completion/completions/ringwarden",
                "/usr/share/doc/ringwarden/install.md",
                "/usr/share/doc/ringwarden/examples/60-ringwarden.conf.example",
                "/usr/share/doc/ringwarden/man-adoc/ringwarden.adoc");
        assertThat(files).as("the daemon jar and its runtime libraries, and nothing used only to build")
                .anyMatch(f -> f.matches("/usr/lib/ringwarden/ringwarden-daemon-[^/]*\\.jar"))
                .anyMatch(f -> f.matches("/usr/lib/ringwarden/picocli-[0-9.]*\\.jar"))
                .anyMatch(f -> f.matches("/usr/lib/ringwarden/ringwarden-native-[^/]*\\.jar"))
                .noneMatch(f -> f.contains("picocli-codegen"))
                .noneMatch(f -> f.contains("junit") || f.contains("assertj") || f.contains("-tests.jar"));
        assertThat(files).as("everything under PREFIX; /etc, /var, /run are the system's to create at runtime")
                .allMatch(f -> f.startsWith("/usr/"));
        assertThat(Files.getPosixFilePermissions(staged.launcher())).as("launcher mode")
                .contains(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OTHERS_EXECUTE);
        List<String> policyExamples = copiedPolicyExamples();
        for (String example : policyExamples) {
            assertThat(files).as("bundled example policy %s", example).contains("/usr/share/doc/ringwarden/examples/policies/" + example);
        }

        ExternalCommand.Result un = StagedInstall.make("uninstall", destdir, "/usr");
        assertThat(un.exitCode()).as("make uninstall:\n%s", un.describe()).isZero();
        assertThat(staged.files()).as("files left after uninstall").isEmpty();
    }

    @Test
    void uninstallRemovesExactlyWhatInstallPutAndNothingAnAdministratorAdded() throws Exception {
        Path mine = destdir.resolve("usr/share/doc/ringwarden/examples/policies/mine.json");
        Path myPage = destdir.resolve("usr/share/man/man1/ringwarden-local.1");
        Path theirs = destdir.resolve("usr/share/man/man1/other.1");
        StagedInstall staged = StagedInstall.install(destdir, "/usr");
        List<String> installed = staged.files();
        Path manifest = destdir.resolve("usr/lib/ringwarden/installed-files");
        assertThat(manifest).as("install writes a manifest").exists();
        assertThat(Files.readAllLines(manifest).stream().filter(l -> l.startsWith("f ")).map(l -> l.substring(2)).sorted()
                .toList()).as("the manifest lists every file install put, and only those").isEqualTo(installed);
        Files.writeString(mine, "{}");
        Files.writeString(myPage, ".TH LOCAL 1");
        Files.writeString(theirs, ".TH OTHER 1");

        StagedInstall.install(destdir, "/usr"); // an upgrade in between
        ExternalCommand.Result un = StagedInstall.make("uninstall", destdir, "/usr");

        assertThat(un.exitCode()).as("make uninstall:\n%s", un.describe()).isZero();
        assertThat(staged.files()).as("only what the administrator added is left")
                .containsExactlyInAnyOrder("/usr/share/doc/ringwarden/examples/policies/mine.json",
                        "/usr/share/man/man1/ringwarden-local.1", "/usr/share/man/man1/other.1");
        assertThat(destdir.resolve("usr/lib/ringwarden")).as("a directory install created and left empty").doesNotExist();
    }

    @Test
    void theInstalledDocsReferOnlyToDocsThatAreInstalled() throws Exception {
        StagedInstall staged = StagedInstall.install(destdir, "/usr");
        Path docdir = destdir.resolve("usr/share/doc/ringwarden");
        java.util.regex.Pattern link = java.util.regex.Pattern.compile("\\]\\(([^)#:]+)(#[^)]*)?\\)");
        java.util.regex.Pattern mention = java.util.regex.Pattern.compile("(?:docs/)?\\b([a-z][a-z-]*\\.md)\\b");
        List<Path> docs;
        try (var s = Files.list(docdir)) {
            docs = s.filter(p -> p.toString().endsWith(".md")).toList();
        }
        assertThat(docs).as("the installed pages").extracting(p -> p.getFileName().toString())
                .contains("install.md", "configuration.md", "daemon.md", "security.md", "policies.md", "protocol.md");
        for (Path doc : docs) {
            String text = Files.readString(doc);
            var m = link.matcher(text);
            while (m.find()) {
                assertThat(doc.resolveSibling(m.group(1)).normalize()).as("%s links %s", doc.getFileName(), m.group(1))
                        .exists().startsWith(docdir);
            }
            var n = mention.matcher(text);
            while (n.find()) {
                if (!n.group(1).equals("README.md") || n.group(0).startsWith("docs/")) {
                    assertThat(docdir.resolve(n.group(1))).as("%s mentions %s", doc.getFileName(), n.group(0)).exists();
                }
            }
        }
        assertThat(staged.files()).as("install.md's files table names the installed docs")
                .contains("/usr/share/doc/ringwarden/configuration.md");
    }

    @Test
    void upgradeLeavesNoJarOfTheOldVersionOnTheClasspath() throws Exception {
        Path lib = destdir.resolve("usr/lib/ringwarden");
        Files.createDirectories(lib);
        Path old = Files.writeString(lib.resolve("ringwarden-daemon-0.0.1.jar"), "an older release");

        StagedInstall.install(destdir, "/usr");

        assertThat(old).as("the launcher's classpath is lib/*: an old jar there would shadow the new classes").doesNotExist();
        assertThat(lib.resolve("picocli-4.7.7.jar")).as("the new libraries").exists();
    }

    @Test
    void prefixIsWrittenIntoTheUnitsAndTheLauncherWithoutDestdir() throws Exception {
        StagedInstall staged = StagedInstall.install(destdir, "/opt/rw");

        String service = Files.readString(staged.unit("ringwarden.service"));
        assertThat(service).as("ExecStart under PREFIX").contains("\nExecStart=/opt/rw/bin/ringwarden daemon --config /etc/ringwarden/ringwarden.json\n")
                .doesNotContain(destdir.toString());
        String launcher = Files.readString(staged.launcher());
        assertThat(launcher).as("launcher's jar directory").contains("lib=${RINGWARDEN_LIB:-/opt/rw/lib/ringwarden}")
                .doesNotContain(destdir.toString()).doesNotContain("@LIBDIR@");
    }

    @Test
    void installedLauncherRunsTheCliFromTheInstalledJars() throws Exception {
        StagedInstall staged = StagedInstall.install(destdir, "/usr");

        ExternalCommand.Result r = ExternalCommand.of(staged.launcher().toString(), "--version")
                .withEnvironment(staged.launcherEnvironment()).run();

        System.out.println("installed launcher --version: " + r.stdout().strip());
        assertThat(r.exitCode()).as("--version through the installed launcher:\n%s", r.describe()).isZero();
        assertThat(r.stdout().lines().findFirst().orElse(""))
                .as("the version the build stamped").isEqualTo("ringwarden " + RingwardenCommand.Version.version());
    }

    @Test
    void launcherRefusesAMissingJarDirectoryWithAReason() throws Exception {
        StagedInstall staged = StagedInstall.install(destdir, "/usr");

        ExternalCommand.Result r = ExternalCommand.of(staged.launcher().toString(), "--version")
                .withEnvironment(Map.of("RINGWARDEN_LIB", destdir.resolve("nowhere").toString(),
                        "JAVA_HOME", System.getProperty("java.home"))).run();

        assertThat(r.exitCode()).as("exit status:\n%s", r.describe()).isEqualTo(1);
        assertThat(r.stderr()).as("message").contains("nowhere is missing");
    }

    @Test
    void installWithDestdirNeedsNoRoot() throws Exception {
        assumeTrue(isWorldReadable(StagedInstall.REPOSITORY.resolve("daemon/target")),
                "the checkout must be readable by nobody to run make as nobody");
        assumeTrue(ExternalCommand.available("setpriv"), "setpriv (util-linux) is needed to drop to nobody");
        Path stage = Files.createDirectories(destdir.resolve("nobody-owned"));
        ExternalCommand.of("chown", "65534:65534", stage.toString()).run();
        Files.setPosixFilePermissions(destdir, java.util.Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.GROUP_EXECUTE));

        ExternalCommand.Result r = new ExternalCommand(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "make", "-s", "-C", StagedInstall.REPOSITORY.toString(), "install", "DESTDIR=" + stage, "PREFIX=/usr"),
                Map.of("JAVA_HOME", System.getProperty("java.home"), "HOME", stage.toString()), null, java.time.Duration.ofMinutes(2)).run();

        assertThat(r.exitCode()).as("make install as nobody:\n%s", r.describe()).isZero();
        assertThat(stage.resolve("usr/bin/ringwarden")).as("launcher installed by nobody").isExecutable();
        assertThat(Files.getOwner(stage.resolve("usr/lib/systemd/system/ringwarden.service")).getName())
                .as("owner of an installed file").isEqualTo("nobody");
    }

    private static boolean isWorldReadable(Path p) throws java.io.IOException {
        for (Path q = p; q != null; q = q.getParent()) {
            if (!Files.getPosixFilePermissions(q).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                return false;
            }
        }
        return Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_READ);
    }

    /** The *.json the policies module ships as examples (none yet is fine: then none must be installed). */
    private static List<String> copiedPolicyExamples() throws java.io.IOException {
        Path dir = StagedInstall.REPOSITORY.resolve("policies/examples");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json")).sorted().toList();
        }
    }
}
