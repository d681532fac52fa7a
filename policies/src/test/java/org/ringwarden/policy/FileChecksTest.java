package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.linux.FileType;

/** The load-time checks that look at a policy's files on this machine ({@code Options.checkFiles}). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FileChecksTest {
    static final PolicyLoader CHECKING = new PolicyLoader(new PolicyLoader.Options(false, false, true,
            BrokenPolicyCorpusTest.ACCOUNTS));

    @TempDir
    Path tmp;

    static String withFile(String file) {
        return """
                {
                  "name": "files",
                  "description": "one file",
                  "subjects": { "users": ["alice"] },
                  "sqe": { "ops": ["READ"], "flagsRequired": ["FIXED_FILE"] },
                  "files": [ %s ]
                }
                """.formatted(file);
    }

    static LoadResult load(String json) {
        return CHECKING.parse("files.json", json.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code tmp/NAME} with {@code mode} (sticky bit included), owned by {@code uid}:{@code gid}. */
    Path dir(String name, int mode, int uid, int gid) throws Exception {
        Path d = Files.createDirectory(tmp.resolve(name));
        Files.setAttribute(d, "unix:uid", uid);
        Files.setAttribute(d, "unix:gid", gid);
        Process chmod = new ProcessBuilder("chmod", Integer.toOctalString(mode), d.toString()).inheritIO().start();
        assertThat(chmod.waitFor()).as("chmod %o %s", mode, d).isZero();
        return d;
    }

    static Path file(Path dir, String name, int uid) throws Exception {
        Path f = Files.writeString(dir.resolve(name), "data");
        Files.setAttribute(f, "unix:uid", uid);
        return f;
    }

    static String reading(Path p, String more) {
        return withFile("{ \"name\": \"data\", \"path\": \"" + p + "\", \"access\": \"read\"" + more + " }");
    }

    static java.util.List<String> replaceable(LoadResult r) {
        return r.warnings().stream().filter(w -> w.code() == ProblemCode.REPLACEABLE_FILE).map(PolicyProblem::format).toList();
    }

    @Test
    void aGroupWritableDirectoryOnThePathIsNamedWithItsGroup() throws Exception {
        assumeThat(System.getProperty("user.name")).as("chown needs root").isEqualTo("root");
        Path srv = dir("srv", 0775, 0, 1000);
        Path data = file(srv, "data.bin", 0);
        assertThat(replaceable(load(reading(data, "")))).as("/tmp is sticky and the test's own directory is 0700: only srv")
                .containsExactly("files.json:6:40: warning: `" + srv + "` is writable by group 1000: a member could replace "
                        + "`data.bin` with a FIFO, a symlink or another file [REPLACEABLE_FILE at $.files[0].path]");
    }

    @Test
    void aDirectoryOwnedByAnotherUserOrWritableByEveryoneIsNamed() throws Exception {
        assumeThat(System.getProperty("user.name")).as("chown needs root").isEqualTo("root");
        Path home = dir("home", 0755, 1000, 1000);
        assertThat(replaceable(load(reading(file(home, "data.bin", 0), "")))).singleElement().asString()
                .contains("`" + home + "` is owned by uid 1000: that user could replace `data.bin` with a FIFO");
        Path open = dir("open", 0777, 0, 0);
        assertThat(replaceable(load(reading(file(open, "data.bin", 0), "")))).singleElement().asString()
                .contains("`" + open + "` is writable by everyone: anyone could replace `data.bin` with a FIFO");
    }

    @Test
    void aStickyDirectoryProtectsOnlyAnEntryThatRootOrTheDaemonOwns() throws Exception {
        assumeThat(System.getProperty("user.name")).as("chown needs root").isEqualTo("root");
        Path shared = dir("shared", 01777, 0, 0);
        assertThat(replaceable(load(reading(file(shared, "mine.bin", 0), "")))).as("root's file in a sticky directory")
                .isEmpty();
        assertThat(replaceable(load(reading(file(shared, "theirs.bin", 1000), "")))).singleElement().asString()
                .contains("`" + shared + "` is writable by everyone and `theirs.bin` there is owned by uid 1000: the sticky "
                        + "bit does not stop that user from replacing it with a FIFO, a symlink or another file");
        String log = withFile("{ \"name\": \"log\", \"path\": \"" + shared.resolve("new.log")
                + "\", \"access\": [\"append\", \"create\"] }").replace("\"READ\"", "\"WRITE\"");
        assertThat(replaceable(load(log))).singleElement().asString().contains("`" + shared + "` is writable by "
                + "everyone and `new.log` does not exist there yet: anyone could create it first, as a FIFO, a symlink or another file");
    }

    @Test
    void aSafePathWarnsNothingAndAFollowedSymlinkIsJudgedWhereItLeads() throws Exception {
        assumeThat(System.getProperty("user.name")).as("chown needs root").isEqualTo("root");
        Path safe = dir("safe", 0755, 0, 0);
        assertThat(replaceable(load(reading(file(safe, "data.bin", 0), "")))).isEmpty();
        Path real = dir("real", 0775, 0, 1000);
        file(real, "data.bin", 0);
        Path link = Files.createSymbolicLink(safe.resolve("link"), real);
        assertThat(replaceable(load(reading(link.resolve("data.bin"), ", \"followSymlinks\": true")))).singleElement()
                .asString().contains("`" + real + "` is writable by group 1000: a member could replace `data.bin`");
        assertThat(replaceable(CHECKING.parse("files.json", reading(link.resolve("data.bin"), "")
                .getBytes(StandardCharsets.UTF_8)))).as("not followed: the open fails with ELOOP anyway").isEmpty();
    }

    @Test
    void withoutFileChecksNothingIsRead() throws Exception {
        Path open = dir("open", 0777, 0, 0);
        PolicyLoader quiet = new PolicyLoader(CHECKING.options().withCheckFiles(false));
        assertThat(quiet.parse("files.json", reading(file(open, "data.bin", 0), "").getBytes(StandardCharsets.UTF_8))
                .warnings()).extracting(PolicyProblem::code).doesNotContain(ProblemCode.REPLACEABLE_FILE);
    }

    @Test
    void aFifoWhereThePolicyNamesARegularFileIsNotOpenable() throws Exception {
        Path fifo = tmp.resolve("data");
        Process mk = new ProcessBuilder("mkfifo", "-m", "0600", fifo.toString()).inheritIO().start();
        assertThat(mk.waitFor()).as("mkfifo").isZero();
        LoadResult r = load(withFile("{ \"name\": \"data\", \"path\": \"" + fifo + "\", \"access\": \"read\" }"));
        assertThat(r.warnings()).extracting(PolicyProblem::format).contains("files.json:6:40: warning: the daemon "
                + "cannot open `" + fifo + "` now: it is a FIFO, not a regular file [FILE_NOT_OPENABLE at $.files[0].path]");
    }

    @Test
    void aDeviceThePolicyNamesAsOneLoadsWithItsType() throws PolicyException {
        LoadResult r = load(withFile("{ \"name\": \"null\", \"path\": \"/dev/null\", \"access\": \"read\", \"type\": \"char-device\" }"));
        assertThat(r.warnings()).extracting(PolicyProblem::code).doesNotContain(ProblemCode.FILE_NOT_OPENABLE);
        assertThat(r.orThrow().all().getFirst().files().getFirst().type()).isEqualTo(FileType.CHARACTER_DEVICE);
        LoadResult asBlock = load(withFile("{ \"name\": \"null\", \"path\": \"/dev/null\", \"access\": \"read\", \"type\": \"block-device\" }"));
        assertThat(asBlock.warnings()).extracting(PolicyProblem::message).contains(
                "the daemon cannot open `/dev/null` now: it is a character device, not a block device as its `type` says");
    }
}
