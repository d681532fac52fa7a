package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.cli.RingwardenCommand;

import picocli.CommandLine;

@Timeout(10)
class RunCommandLineTest {
    private static List<String> programOf(String... args) {
        CommandLine.ParseResult r = RingwardenCommand.commandLine().parseArgs(args);
        return r.subcommand().matchedPositionalValue(0, List.of());
    }

    @Test
    void everythingAfterTheProgramNameIsTheProgramsEvenWithoutDoubleDash() {
        assertThat(programOf("run", "--policy", "fio", "fio", "--name=t", "--policy", "x"))
                .as("the program's own options are not ringwarden's")
                .containsExactly("fio", "--name=t", "--policy", "x");
        assertThat(programOf("run", "--policy", "fio", "--", "/bin/sh", "-c", "exit 3"))
                .containsExactly("/bin/sh", "-c", "exit 3");
    }

    @Test
    void aPolicyAndAProgramAreRequired() {
        CommandLine cl = RingwardenCommand.commandLine();
        cl.setErr(new java.io.PrintWriter(java.io.Writer.nullWriter()));
        assertThat(cl.execute("run", "--", "/bin/true")).as("no --policy: usage error, env(1)'s 125").isEqualTo(125);
        assertThat(RingwardenCommand.commandLine().setErr(new java.io.PrintWriter(java.io.Writer.nullWriter()))
                .execute("run", "--policy", "fio")).as("no program: usage error").isEqualTo(125);
    }

    @Test
    void programsAreFoundLikeExecvpFindsThem() {
        assertThat(TransparentRun.resolve("sh", "/nonexistent:/bin")).hasToString("/bin/sh");
        assertThat(TransparentRun.resolve("no-such-program-here", "/bin:/usr/bin")).isNull();
        assertThat(TransparentRun.resolve("/bin/sh", null)).hasToString("/bin/sh");
        assertThat(TransparentRun.resolve("", "/bin")).isNull();
    }
}
