package org.ringwarden.daemon.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.ringwarden.policy.LoadResult;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.policy.PolicyProblem;
import org.ringwarden.policy.SubjectResolver;

import picocli.CommandLine.Option;

import org.jspecify.annotations.Nullable;

/** Options every {@code policy} subcommand shares, and how they choose and load the set. */
public final class PolicyCliOptions {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--json", description = "Print one JSON document instead of text.")
    boolean json;

    @Option(names = "--policies", paramLabel = "DIR",
            description = "The policy directory (default: /etc/ringwarden/policies.d if it exists, else the bundled policies).")
    @Nullable Path policies;

    @Option(names = "--insecure-permissions",
            description = "Accept policy files and directories that others may write (development only).")
    boolean insecurePermissions;

    @Option(names = "--no-kernel-check", description = "Do not check opcodes against the running kernel.")
    boolean noKernelCheck;

    @Option(names = "--no-file-check", description = "Do not warn about fixed files the daemon cannot open now.")
    boolean noFileCheck;

    PolicyLoader loader() {
        return new PolicyLoader(new PolicyLoader.Options(!insecurePermissions, !noKernelCheck, !noFileCheck,
                SubjectResolver.system()));
    }

    /** The directory to read; null for the bundled set. */
    @Nullable Path source() {
        if (policies != null) {
            return policies;
        }
        return Files.isDirectory(PolicyLoader.DEFAULT_DIRECTORY) ? PolicyLoader.DEFAULT_DIRECTORY : null;
    }

    /** "policies from DIR" or "bundled policies (no /etc/ringwarden/policies.d)": JSON's {@code source}, and errors. */
    String describeSource() {
        Path s = source();
        return s != null ? "policies from " + s
                : "bundled policies (" + PolicyLoader.DEFAULT_DIRECTORY + " does not exist)";
    }

    /** Where the set comes from, after "N policies" or "the policies": "in DIR" or "bundled with ringwarden (...)". */
    String where() {
        Path s = source();
        return s != null ? "in " + s : "bundled with ringwarden (" + PolicyLoader.DEFAULT_DIRECTORY + " does not exist)";
    }

    LoadResult load() {
        Path s = source();
        return s == null ? loader().loadBundled() : loader().loadDirectory(s);
    }

    /** Prints the problems compiler-style; errors first so they are not lost above warnings. */
    static void printProblems(PrintWriter err, List<PolicyProblem> problems) {
        problems.stream().filter(PolicyProblem::isError).forEach(p -> err.println(p.format()));
        problems.stream().filter(p -> !p.isError()).forEach(p -> err.println(p.format()));
        err.flush();
    }

    static ArrayNode problemsJson(List<PolicyProblem> problems) {
        ArrayNode a = JSON.createArrayNode();
        for (PolicyProblem p : problems) {
            ObjectNode o = a.addObject();
            o.put("file", p.file());
            o.put("line", p.line());
            o.put("column", p.column());
            o.put("path", p.jsonPath());
            o.put("severity", p.severity().label());
            o.put("code", p.code().name());
            o.put("message", p.message());
            if (p.suggestion() == null) {
                o.putNull("suggestion");
            } else {
                o.put("suggestion", p.suggestion());
            }
        }
        return a;
    }

    static void printJson(PrintWriter out, Object node) {
        try {
            out.println(JSON.writeValueAsString(node));
            out.flush();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot render JSON", e);
        }
    }

    /** When the set does not load: the errors (and warnings), and exit code 1. */
    int failLoad(picocli.CommandLine cl, LoadResult r) {
        if (json) {
            ObjectNode o = JSON.createObjectNode();
            o.put("source", describeSource());
            o.put("valid", false);
            o.set("problems", problemsJson(r.problems()));
            printJson(cl.getOut(), o);
        } else {
            cl.getErr().println("ringwarden: cannot load " + describeSource() + ":");
            printProblems(cl.getErr(), r.problems());
        }
        return 1;
    }
}
