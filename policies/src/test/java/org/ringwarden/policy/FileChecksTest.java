package org.ringwarden.policy;

import static org.assertj.core.api.Assertions.assertThat;

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
