package org.ringwarden.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/** README.md's sentence on {@code --json} names exactly the commands that take it, and those that do not. */
class ReadmeJsonSentenceTest {

    @Test
    void theReadmeNamesExactlyTheCommandsThatTakeJson() throws Exception {
        String readme = Files.readString(Path.of("../README.md"));
        Matcher takes = Pattern.compile("The commands that report take `--json`(.*?)\\.\\s*(.*?)do not", Pattern.DOTALL)
                .matcher(readme);
        assertThat(takes.find()).as("README.md has the --json sentence").isTrue();
        TreeSet<String> named = backticked(takes.group(1));
        named.remove("--json");
        TreeSet<String> namedNot = backticked(takes.group(2));

        TreeSet<String> withJson = new TreeSet<>();
        TreeSet<String> without = new TreeSet<>();
        for (CommandSpec spec : leaves(RingwardenCommand.commandLine().getCommandSpec())) {
            String name = spec.qualifiedName(" ").substring("ringwarden ".length());
            (spec.findOption("--json") != null ? withJson : without).add(name);
        }
        assertThat(named).as("the commands README.md says take --json").isEqualTo(withJson);
        assertThat(namedNot).as("the commands README.md says do not").isEqualTo(without);
    }

    private static TreeSet<String> backticked(String text) {
        TreeSet<String> out = new TreeSet<>();
        Matcher m = Pattern.compile("`([^`]+)`").matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** The commands that do something themselves: not the root, not a group, not picocli's help. */
    private static List<CommandSpec> leaves(CommandSpec spec) {
        List<CommandSpec> out = new ArrayList<>();
        for (CommandLine sub : spec.subcommands().values()) {
            CommandSpec s = sub.getCommandSpec();
            if (s.parent() != spec || out.contains(s) || s.userObject() instanceof CommandLine.HelpCommand) {
                continue;
            }
            if (s.subcommands().isEmpty()) {
                out.add(s);
            } else {
                out.addAll(leaves(s));
            }
        }
        return out;
    }
}
