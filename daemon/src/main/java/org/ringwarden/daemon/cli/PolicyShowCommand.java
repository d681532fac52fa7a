package org.ringwarden.daemon.cli;

import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.EffectivePolicy;
import org.ringwarden.policy.LoadResult;
import org.ringwarden.policy.PolicySet;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ringwarden policy show NAME}: the compiled policy, field by field. */
@Command(name = "show", mixinStandardHelpOptions = true, description = "Show a compiled policy: ring, files, buffers, limits, restrictions.")
public final class PolicyShowCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (a mixin)
    @Mixin
    PolicyCliOptions options;

    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (required)
    @Parameters(paramLabel = "NAME", description = "The policy's name.")
    String name;

    @Option(names = "--effective", description = "Print the policy as composed from its file, its bases (extends) and its "
            + "drop-ins (NAME.d/*.json), with the file, line and column each value comes from.")
    boolean effective;

    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (injected)
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        LoadResult r = options.load();
        if (!r.ok()) {
            return options.failLoad(cl, r);
        }
        Optional<CompiledPolicy> found = find(cl, r.policies().orElseThrow(), name, options);
        if (found.isEmpty()) {
            return 1;
        }
        if (effective) {
            return printEffective(cl, r.policies().orElseThrow().effective(name).orElseThrow());
        }
        ObjectNode o = PolicyJsonView.policy(found.get());
        if (options.json) {
            o.put("source", options.describeSource());
            PolicyCliOptions.printJson(cl.getOut(), o);
        } else {
            print(cl.getOut(), found.get());
        }
        return 0;
    }

    /**
     * The composed document, each value's origin at the end of its line; with {@code --json}, the
     * document as JSON and the origins by JSON path.
     */
    private int printEffective(CommandLine cl, EffectivePolicy e) {
        if (options.json) {
            ObjectNode o = PolicyCliOptions.JSON.createObjectNode();
            o.put("name", e.name());
            o.putPOJO("files", e.files());
            try {
                o.set("policy", PolicyCliOptions.JSON.readTree(e.document()));
            } catch (com.fasterxml.jackson.core.JsonProcessingException ex) {
                throw new IllegalStateException("the composed document is not JSON: " + ex.getOriginalMessage(), ex);
            }
            o.putPOJO("origins", e.origins());
            o.put("source", options.describeSource());
            PolicyCliOptions.printJson(cl.getOut(), o);
        } else {
            cl.getOut().println("// " + e.name() + ": composed from " + String.join(", ", e.files()));
            cl.getOut().print(e.annotated());
            cl.getOut().flush();
        }
        return 0;
    }

    /** The policy, or an error naming the known ones (exit 1). */
    static Optional<CompiledPolicy> find(CommandLine cl, PolicySet set, String name, PolicyCliOptions options) {
        Optional<CompiledPolicy> p = set.get(name);
        if (p.isEmpty()) {
            String known = String.join(", ", set.all().stream().map(CompiledPolicy::name).toList());
            if (options.json) {
                ObjectNode o = PolicyCliOptions.JSON.createObjectNode();
                o.put("error", "no policy named " + name);
                o.put("source", options.describeSource());
                PolicyCliOptions.printJson(cl.getOut(), o);
            } else {
                cl.getErr().println("ringwarden: no policy named `" + name + "` in " + options.describeSource()
                        + " (policies: " + known + ")");
                cl.getErr().flush();
            }
        }
        return p;
    }

    private static void print(PrintWriter out, CompiledPolicy p) {
        out.println(p.name() + ": " + p.description());
        if (p.complains()) {
            out.println("  mode: complain (the ring gets the ceiling; what the lists leave out is reported, not refused)");
        }
        out.println("  file:        " + p.source());
        out.println("  acquirers:   " + (p.acquirers().everyone() ? "everyone" : "uids " + p.acquirers().uids() + ", gids " + p.acquirers().gids())
                + (p.acquirers().containers().isEmpty() ? "" : "; containers " + p.acquirers().containers()));
        out.println("  ring:        " + p.ring().sqEntries() + " SQ / " + p.ring().cqEntries() + " CQ entries, flags "
                + p.ring().setupFlags() + String.format(" (0x%x; created with 0x%x)", p.ring().setupMask(), p.ring().creationFlags())
                + ", enabled by " + p.ring().enabler().name().toLowerCase(java.util.Locale.ROOT));
        for (int i = 0; i < p.files().size(); i++) {
            var f = p.files().get(i);
            out.println("  file " + i + ":      " + f.name() + " = " + f.path() + "  " + f.describeOpenFlags()
                    + String.format("  resolve 0x%x", f.resolveFlags())
                    + (f.createMode() != 0 ? String.format("  mode %04o", f.createMode()) : ""));
        }
        out.println("  client fds:  " + p.maxClientFds());
        for (int i = 0; i < p.buffers().size(); i++) {
            out.println("  buffer " + i + ":    " + p.buffers().get(i).name() + " = " + p.buffers().get(i).bytes() + " bytes");
        }
        out.println("  limits:      " + p.limits().leasesPerUser() + " leases, " + p.limits().bufferBytesPerUser() + " buffer bytes per user");
        out.println("  SQE ops:     " + String.join(" ", p.allowed().sqeOpNames()));
        out.println("  SQE flags:   allowed " + p.allowed().sqeFlagsAllowedNames() + ", required " + p.allowed().sqeFlagsRequiredNames());
        out.println("  register:    " + String.join(" ", p.allowed().registerOpNames()));
        out.println("  transparent: " + (p.transparent().enabled() ? "yes, up to " + p.transparent().maxSqEntries() + "/"
                + p.transparent().maxCqEntries() + " entries" : "no"));
        out.println("  restrictions (" + p.restrictions().size() + "):");
        p.restrictions().forEach(r -> out.println("    " + r));
        out.flush();
    }
}
