package org.ringwarden.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Every command and subcommand of the whole picocli tree, hidden ones and picocli's own
 * {@code help} included, answers {@code --help} and {@code -h} with its usage and exit 0 (a
 * command with required options or parameters too: help is asked before they are checked).
 */
class HelpEverywhereTest {

    @TestFactory
    List<DynamicTest> everyCommandAnswersHelpWithExitZero() {
        List<DynamicTest> tests = new ArrayList<>();
        List<List<String>> paths = new ArrayList<>();
        collect(RingwardenCommand.commandLine().getCommandSpec(), new ArrayList<>(), paths);
        assertThat(paths).as("the tree has every command").extracting(p -> String.join(" ", p))
                .contains("", "daemon", "demo", "run", "status", "leases", "reload", "doctor", "policy",
                        "policy validate", "help");
        for (List<String> path : paths) {
            for (String flag : List.of("--help", "-h")) {
                List<String> argv = new ArrayList<>(path);
                argv.add(flag);
                tests.add(DynamicTest.dynamicTest("ringwarden " + String.join(" ", argv), () -> {
                    CommandLine cl = RingwardenCommand.commandLine();
                    StringWriter out = new StringWriter();
                    StringWriter err = new StringWriter();
                    cl.setOut(new PrintWriter(out, true));
                    cl.setErr(new PrintWriter(err, true));
                    int exit = cl.execute(argv.toArray(String[]::new));
                    assertThat(exit).as("exit of %s; stderr: %s", argv, err).isZero();
                    assertThat(out.toString()).as("usage of %s", argv)
                            .contains("Usage: ringwarden" + (path.isEmpty() ? "" : " " + String.join(" ", path)));
                    assertThat(err.toString()).as("nothing on stderr for %s", argv).isEmpty();
                }));
            }
        }
        return tests;
    }

    private static void collect(CommandSpec spec, List<String> path, List<List<String>> out) {
        out.add(List.copyOf(path));
        for (var e : spec.subcommands().entrySet()) {
            CommandSpec sub = e.getValue().getCommandSpec();
            if (!e.getKey().equals(sub.name())) {
                continue; // an alias: the same command under another name
            }
            List<String> p = new ArrayList<>(path);
            p.add(sub.name());
            collect(sub, p, out);
        }
    }
}
