package org.ringwarden.daemon.cli;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Renders one command of the picocli model as a man(7) page in roff. picocli itself emits
 * AsciiDoc only (turned into roff by asciidoctor, which a Java build cannot count on); the
 * model carries everything a man page needs, so this writes the few macros directly.
 */
public final class RoffManPage {
    private RoffManPage() {
    }

    /**
     * The page of {@code spec} (NAME, SYNOPSIS, DESCRIPTION, OPTIONS, ARGUMENTS, COMMANDS,
     * EXIT STATUS, SEE ALSO), its footer naming {@code version}.
     */
    public static String render(CommandSpec spec, String version) {
        Objects.requireNonNull(spec, "spec");
        StringBuilder out = new StringBuilder(4096);
        String page = DocsGenerator.pageName(spec);
        out.append(".\\\" Generated from the picocli model by DocsGenerator; edit the command's annotations instead.\n");
        out.append(".TH \"").append(escape(page.toUpperCase(Locale.ROOT))).append("\" \"1\" \"\" \"ringwarden ")
                .append(escape(version)).append("\" \"ringwarden manual\"\n");

        out.append(".SH NAME\n").append(escape(page)).append(" \\- ").append(escape(summary(spec))).append('\n');

        out.append(".SH SYNOPSIS\n.nf\n");
        CommandLine.Help help = new CommandLine.Help(spec, CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        for (String line : help.synopsis(0).strip().split("\n")) {
            out.append(escapeLine(line.stripTrailing())).append('\n');
        }
        out.append(".fi\n");

        String[] description = spec.usageMessage().description();
        if (description.length > 0) {
            out.append(".SH DESCRIPTION\n");
            paragraphs(out, description);
        }

        List<OptionSpec> options = spec.options().stream().filter(o -> !o.hidden()).toList();
        if (!options.isEmpty()) {
            out.append(".SH OPTIONS\n");
            for (OptionSpec o : options) {
                out.append(".TP\n").append(optionHeading(o)).append('\n');
                argDescription(out, o);
            }
        }

        List<PositionalParamSpec> positionals = spec.positionalParameters().stream().filter(p -> !p.hidden()).toList();
        if (!positionals.isEmpty()) {
            out.append(".SH ARGUMENTS\n");
            for (PositionalParamSpec p : positionals) {
                out.append(".TP\n\\fI").append(escape(plain(p.paramLabel()))).append("\\fR\n");
                argDescription(out, p);
            }
        }

        List<CommandSpec> subcommands = spec.subcommands().values().stream()
                .map(CommandLine::getCommandSpec)
                .filter(s -> s.parent() == spec)
                .distinct()
                .filter(s -> !s.usageMessage().hidden())
                .toList();
        if (!subcommands.isEmpty()) {
            out.append(".SH COMMANDS\n");
            for (CommandSpec s : subcommands) {
                out.append(".TP\n\\fB").append(escape(s.name())).append("\\fR\n").append(escapeLine(summary(s))).append('.');
                if (DocsGenerator.isDocumented(s)) {
                    out.append(" See \\fB").append(escape(DocsGenerator.pageName(s))).append("\\fR(1).");
                }
                out.append('\n');
            }
        }

        out.append(".SH EXIT STATUS\n");
        var exitCodes = spec.usageMessage().exitCodeList();
        if (exitCodes.isEmpty()) {
            out.append(".TP\n0\nSuccess.\n.TP\n1\nThe command failed; the message on standard error says why.\n")
                    .append(".TP\n2\nUsage error: an unknown option, a missing or malformed argument.\n");
        } else {
            exitCodes.forEach((code, text) -> out.append(".TP\n").append(escape(plain(code).strip())).append('\n')
                    .append(escapeLine(plain(text).strip())).append('\n'));
        }

        out.append(".SH SEE ALSO\n");
        StringBuilder see = new StringBuilder();
        if (spec.parent() != null) {
            see.append("\\fB").append(escape(DocsGenerator.pageName(spec.parent()))).append("\\fR(1), ");
        }
        for (CommandSpec s : subcommands.stream().filter(DocsGenerator::isDocumented).toList()) {
            see.append("\\fB").append(escape(DocsGenerator.pageName(s))).append("\\fR(1), ");
        }
        see.append("\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), \\fBio_uring\\fR(7)");
        out.append(see).append('\n');
        return out.toString();
    }

    /** The first description line, without a trailing period, for NAME and COMMANDS. */
    private static String summary(CommandSpec spec) {
        String[] d = spec.usageMessage().description();
        String first = d.length == 0 ? spec.name() : plain(d[0]).strip().replace('\n', ' ');
        return first.endsWith(".") ? first.substring(0, first.length() - 1) : first;
    }

    private static String optionHeading(OptionSpec o) {
        StringBuilder b = new StringBuilder();
        for (String name : o.names()) {
            if (!b.isEmpty()) {
                b.append(", ");
            }
            b.append("\\fB").append(escape(name)).append("\\fR");
        }
        if (o.arity().max() > 0) {
            b.append("=\\fI").append(escape(plain(o.paramLabel()))).append("\\fR");
        }
        return b.toString();
    }

    private static void argDescription(StringBuilder out, ArgSpec arg) {
        String[] d = arg.description();
        if (d.length == 0) {
            out.append("(no description)\n");
            return;
        }
        for (int i = 0; i < d.length; i++) {
            if (i > 0) {
                out.append(".br\n");
            }
            out.append(escapeLine(plain(d[i]).strip())).append('\n');
        }
    }

    /** Description lines; an empty line starts a new paragraph. */
    private static void paragraphs(StringBuilder out, String[] lines) {
        boolean open = false;
        for (String line : lines) {
            String text = plain(line).strip();
            if (text.isEmpty()) {
                open = false;
                continue;
            }
            if (!open) {
                out.append(".PP\n");
                open = true;
            }
            out.append(escapeLine(text)).append('\n');
        }
    }

    /**
     * picocli markup ({@code @|bold x|@}) removed and its format escapes applied ({@code %n} a
     * line break, {@code %%} a percent sign); variables are already interpolated by the model.
     */
    private static String plain(String text) {
        return text == null ? "" : CommandLine.Help.Ansi.OFF.string(text).replace("%n", "\n").replace("%%", "%");
    }

    /**
     * Text that roff must not take for requests: each line (a {@code %n} in a description
     * makes several) escaped, guarded against a leading dot or quote, joined by {@code .br}.
     */
    static String escapeLine(String text) {
        StringBuilder b = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            if (!b.isEmpty()) {
                b.append("\n.br\n");
            }
            String e = escape(line.strip());
            b.append(e.startsWith(".") || e.startsWith("'") ? "\\&" + e : e);
        }
        return b.toString();
    }

    /** Backslashes and hyphens as roff wants them ({@code \-} is a real minus: copyable options). */
    static String escape(String text) {
        return text.replace("\\", "\\e").replace("-", "\\-");
    }
}
