package org.ringwarden.daemon.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.daemon.cli.DocsGenerator;
import org.ringwarden.daemon.cli.RingwardenCommand;
import org.ringwarden.daemon.cli.RoffManPage;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The man pages and bash completion the build generates from the picocli model. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GeneratedDocsTest {
    private static final Path BUILT_DOCS = StagedInstall.REPOSITORY.resolve("daemon/target/docs");

    @TempDir
    Path scratch;

    @org.junit.jupiter.api.BeforeEach
    void builtDocsExist() throws Exception {
        StagedInstall.requireBuild();
    }

    @Test
    void everyDocumentedCommandHasARoffAndAnAsciiDocPage() {
        List<CommandSpec> commands = DocsGenerator.documentedCommands(RingwardenCommand.commandLine().getCommandSpec());
        System.out.println("documented commands: " + commands.stream().map(DocsGenerator::pageName).toList());

        assertThat(commands).as("at least the root command").isNotEmpty();
        for (CommandSpec c : commands) {
            String page = DocsGenerator.pageName(c);
            assertThat(BUILT_DOCS.resolve("man/" + page + ".1")).as("roff page of %s", c.qualifiedName()).isRegularFile();
            assertThat(BUILT_DOCS.resolve("man-adoc/" + page + ".adoc")).as("AsciiDoc page of %s", c.qualifiedName()).isRegularFile();
        }
    }

    @Test
    void builtManPagesRenderWithoutGroffWarnings() throws Exception {
        assumeTrue(ExternalCommand.available("groff"), "groff is not installed");
        List<Path> pages;
        try (var s = Files.list(BUILT_DOCS.resolve("man"))) {
            pages = s.filter(p -> p.toString().endsWith(".1")).sorted().toList();
        }
        assertThat(pages).as("built man pages").isNotEmpty();
        for (Path page : pages) {
            ExternalCommand.Result r = ExternalCommand.of("groff", "-man", "-Tascii", "-ww", page.toString()).run();
            assertThat(r.exitCode()).as("groff on %s:\n%s", page, r.describe()).isZero();
            assertThat(r.stderr()).as("groff warnings on %s", page).isBlank();
            // groff -Tascii prints bold as overstrike (c BACKSPACE c): read the plain text.
            assertThat(r.stdout().replaceAll(".\b", "")).as("rendered %s", page).contains("NAME", "SYNOPSIS", "OPTIONS", "EXIT STATUS");
        }
    }

    @Test
    void roffPageCarriesOptionsArgumentsSubcommandsAndEscapesRoffSyntax() throws Exception {
        CommandSpec tool = new CommandLine(new Tool()).getCommandSpec();

        String roff = RoffManPage.render(tool, "9.9");

        assertThat(roff).as("NAME from the first description line").contains(".SH NAME\ntool \\- Brokers things\n");
        assertThat(roff).as("option with its parameter").contains("\\fB\\-p\\fR, \\fB\\-\\-policies\\fR=\\fIDIR\\fR");
        assertThat(roff).as("interpolated default value").contains("/etc/ringwarden/policies.d");
        assertThat(roff).as("hidden option left out").doesNotContain("secret");
        assertThat(roff).as("positional parameter").contains(".SH ARGUMENTS\n.TP\n\\fINAME\\fR\n");
        assertThat(roff).as("subcommand with its page").contains("\\fBsub\\fR\nDoes the sub thing. See \\fBtool\\-sub\\fR(1).");
        assertThat(roff).as("hidden subcommand left out").doesNotContain("ghost");
        assertThat(roff).as("a line starting with a dot is not a request").contains("\n\\&.dotfiles are");
        assertThat(roff).as("backslash escaped").contains("C:\\eno");
        assertThat(roff).as("%%n is a line break").contains("first\n.br\nsecond");
        assertThat(DocsGenerator.documentedCommands(tool).stream().map(DocsGenerator::pageName))
                .as("pages: not the hidden command, not picocli's help").containsExactly("tool", "tool-sub");

        assumeTrue(ExternalCommand.available("groff"), "groff is not installed");
        Path page = Files.writeString(scratch.resolve("tool.1"), roff);
        ExternalCommand.Result r = ExternalCommand.of("groff", "-man", "-Tascii", "-ww", page.toString())
                .withEnvironment(Map.of("GROFF_NO_SGR", "1")).run();
        String text = r.stdout().replaceAll(".\b", "");
        assertThat(r.stderr()).as("groff warnings:\n%s", roff).isBlank();
        assertThat(text).as("rendered page:\n%s", text).contains("-p, --policies=DIR", ".dotfiles are", "tool-sub(1)", "C:\\no");
    }

    @Test
    void bashCompletionOffersTheSubcommandsAndOptions() throws Exception {
        assumeTrue(ExternalCommand.available("bash"), "bash is not installed");
        Path script = BUILT_DOCS.resolve("bash-completion/ringwarden");
        List<String> subcommands = RingwardenCommand.commandLine().getSubcommands().values().stream()
                .map(CommandLine::getCommandSpec).filter(s -> !s.usageMessage().hidden()).map(CommandSpec::name).distinct().toList();

        assertThat(complete(script, "")).as("completions of 'ringwarden '").containsAll(subcommands);
        assertThat(complete(script, "--ve")).as("completions of 'ringwarden --ve'").containsExactly("--version");
    }

    private static List<String> complete(Path script, String word) throws Exception {
        String program = "source \"$1\"; COMP_LINE=\"ringwarden $2\"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(ringwarden \"$2\"); "
                + "COMP_CWORD=1; _complete_ringwarden; printf '%s\\n' \"${COMPREPLY[@]}\"";
        ExternalCommand.Result r = ExternalCommand.of("bash", "-c", program, "bash", script.toString(), word).run();
        assertThat(r.exitCode()).as("bash completion run:\n%s", r.describe()).isZero();
        return r.stdout().lines().filter(l -> !l.isBlank()).toList();
    }

    @Command(name = "tool", mixinStandardHelpOptions = true,
            description = {"Brokers things.", "", ".dotfiles are read from C:\\no and first%nsecond"},
            subcommands = {Tool.Sub.class, Tool.Ghost.class, CommandLine.HelpCommand.class})
    static final class Tool implements Runnable {
        @Option(names = {"-p", "--policies"}, paramLabel = "DIR", defaultValue = "/etc/ringwarden/policies.d",
                description = "Where the policies are (default: ${DEFAULT-VALUE}).")
        Path policies;

        @Option(names = "--secret", hidden = true, description = "Not for the page.")
        boolean secret;

        @Parameters(paramLabel = "NAME", arity = "0..1", description = "A policy name.")
        String name;

        @Override
        public void run() {
        }

        @Command(name = "sub", description = "Does the sub thing.")
        static final class Sub implements Runnable {
            @Override
            public void run() {
            }
        }

        @Command(name = "ghost", hidden = true, description = "Never documented.")
        static final class Ghost implements Runnable {
            @Override
            public void run() {
            }
        }
    }
}
