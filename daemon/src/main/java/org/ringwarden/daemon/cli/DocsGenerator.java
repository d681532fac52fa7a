package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.codegen.docgen.manpage.ManPageGenerator;

/**
 * Writes the installed documentation of the {@code ringwarden} command line from its picocli
 * model, so it cannot drift from the code: a roff man page per command, the same pages as
 * AsciiDoc (picocli's {@link ManPageGenerator}, for sites and for asciidoctor where it is
 * available), and the bash completion script ({@link AutoComplete}).
 *
 * <p>Run by the daemon module's build ({@code prepare-package}, exec-maven-plugin) with the
 * output directory as its only argument; {@code make install} copies the result:
 * <pre>
 * target/docs/man/ringwarden.1, ringwarden-daemon.1, ...     -> share/man/man1
 * target/docs/man-adoc/ringwarden.adoc, ...                   -> share/doc/ringwarden/man-adoc
 * target/docs/bash-completion/ringwarden                      -> share/bash-completion/completions
 * </pre>
 * Uses picocli-codegen, a build-time ({@code provided}) dependency that is not installed.
 */
public final class DocsGenerator {
    private DocsGenerator() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: DocsGenerator OUTPUT_DIRECTORY");
            System.exit(2);
        }
        List<Path> written = generate(Path.of(args[0]));
        System.out.println("DocsGenerator: wrote " + written.size() + " files under " + args[0]);
    }

    /** Writes every page and the completion script under {@code outputDirectory}; returns the files written. */
    public static List<Path> generate(Path outputDirectory) throws IOException {
        Objects.requireNonNull(outputDirectory, "outputDirectory");
        CommandLine root = RingwardenCommand.commandLine();
        String version = RingwardenCommand.Version.version();
        Path man = Files.createDirectories(outputDirectory.resolve("man"));
        Path adoc = Files.createDirectories(outputDirectory.resolve("man-adoc"));
        Path completion = Files.createDirectories(outputDirectory.resolve("bash-completion"));
        List<Path> written = new ArrayList<>();
        for (CommandSpec spec : documentedCommands(root.getCommandSpec())) {
            String page = pageName(spec);
            written.add(write(man.resolve(page + ".1"), RoffManPage.render(spec, version)));
            written.add(write(adoc.resolve(page + ".adoc"), asciiDoc(spec)));
        }
        written.add(write(completion.resolve("ringwarden"), AutoComplete.bash(root.getCommandName(), root)));
        return written;
    }

    /** The command and its subcommands, depth first, without hidden ones and picocli's {@code help}. */
    public static List<CommandSpec> documentedCommands(CommandSpec root) {
        List<CommandSpec> out = new ArrayList<>();
        collect(root, out);
        return out;
    }

    private static void collect(CommandSpec spec, List<CommandSpec> out) {
        out.add(spec);
        for (CommandLine sub : spec.subcommands().values()) {
            CommandSpec s = sub.getCommandSpec();
            // Aliases map to the same CommandLine: document each command once.
            if (isDocumented(s) && !out.contains(s) && s.parent() == spec) {
                collect(s, out);
            }
        }
    }

    /** True unless the command is hidden or is picocli's {@code help} (documented by every page's own OPTIONS). */
    public static boolean isDocumented(CommandSpec spec) {
        return !spec.usageMessage().hidden() && !(spec.userObject() instanceof CommandLine.HelpCommand);
    }

    /** {@code ringwarden}, {@code ringwarden-daemon}, {@code ringwarden-policy-check}. */
    public static String pageName(CommandSpec spec) {
        return spec.qualifiedName("-");
    }

    private static String asciiDoc(CommandSpec spec) {
        StringWriter text = new StringWriter();
        try (PrintWriter pw = new PrintWriter(text)) {
            ManPageGenerator.writeSingleManPage(pw, spec);
        }
        return text.toString();
    }

    private static Path write(Path file, String text) throws IOException {
        return Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
