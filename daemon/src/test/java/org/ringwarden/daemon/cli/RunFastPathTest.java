package org.ringwarden.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import picocli.CommandLine;

/** The picocli-free path of {@code ringwarden run} reads a command line exactly as picocli does, or leaves it to picocli. */
@Timeout(30)
class RunFastPathTest {
    private static RunCommand picocli(String... args) {
        CommandLine.ParseResult r = RingwardenCommand.commandLine().parseArgs(args);
        return (RunCommand) r.subcommand().commandSpec().userObject();
    }

    @Test
    void plainCommandLinesAreReadAsPicocliReadsThem() {
        List<String[]> lines = List.of(
                new String[] {"run", "--policy", "fio", "--", "/bin/true"},
                new String[] {"run", "--policy=fio", "/bin/sh", "-c", "exit 3"},
                new String[] {"run", "--socket", "/tmp/s.sock", "--policy", "fio", "fio", "--name=t", "--policy", "x"},
                new String[] {"run", "--daemon-wait", "2.5", "--policy", "p", "--socket=/x", "--", "--weird-program"},
                new String[] {"run", "--policy", "fio", "--daemon-wait=0", "--", "prog", "--", "-x"});
        for (String[] args : lines) {
            RunCommand fast = RunFastPath.parse(args);
            RunCommand slow = picocli(args);
            assertThat(fast).as("%s", List.of(args)).isNotNull();
            assertThat(fast.policy).as("%s", List.of(args)).isEqualTo(slow.policy);
            assertThat(fast.socket).as("%s", List.of(args)).isEqualTo(slow.socket);
            assertThat(fast.daemonWait).as("%s", List.of(args)).isEqualTo(slow.daemonWait);
            assertThat(fast.command).as("%s", List.of(args)).isEqualTo(slow.command);
        }
    }

    @Test
    void helpUnknownOptionsAndIncompleteLinesAreLeftToPicocli() {
        List<String[]> lines = List.of(
                new String[] {"run", "--help"},
                new String[] {"run", "-h", "--policy", "fio", "x"},
                new String[] {"run", "--policy", "fio"},
                new String[] {"run", "--", "/bin/true"},
                new String[] {"run", "--policy"},
                new String[] {"run", "--polciy", "fio", "x"},
                new String[] {"run", "--policy", "a", "--policy", "b", "x"},
                new String[] {"run", "--daemon-wait", "soon", "--policy", "fio", "x"});
        for (String[] args : lines) {
            assertThat(RunFastPath.parse(args)).as("%s", List.of(args)).isNull();
        }
        assertThat(RingwardenCommand.fastPath(new String[] {"status"})).as("other commands").isEmpty();
    }
}
