package org.ringwarden.daemon.cli;

import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.LoadResult;
import org.ringwarden.policy.PolicySet;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code ringwarden policy list}: every policy of the set, one line each. */
@Command(name = "list", mixinStandardHelpOptions = true, description = "List the policies, with their descriptions.")
public final class PolicyListCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (a mixin)
    @Mixin
    PolicyCliOptions options;

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
        PolicySet set = r.policies().orElseThrow();
        if (options.json) {
            ObjectNode o = PolicyCliOptions.JSON.createObjectNode();
            o.put("source", options.describeSource());
            ArrayNode a = o.putArray("policies");
            for (CompiledPolicy p : set.all()) {
                ObjectNode e = a.addObject();
                e.put("name", p.name());
                e.put("description", p.description());
                e.put("file", p.source());
                e.put("enabler", p.ring().enabler().name().toLowerCase(java.util.Locale.ROOT));
                e.put("transparent", p.transparent().enabled());
            }
            o.set("problems", PolicyCliOptions.problemsJson(r.problems()));
            PolicyCliOptions.printJson(cl.getOut(), o);
            return 0;
        }
        PolicyCliOptions.printProblems(cl.getErr(), r.problems());
        cl.getOut().println(org.ringwarden.daemon.admin.Counted.of(set.size(), "policy", "policies") + " " + options.where() + ":");
        int width = set.all().stream().mapToInt(p -> p.name().length()).max().orElse(4);
        for (CompiledPolicy p : set.all()) {
            cl.getOut().printf("  %-" + width + "s  %s%s%n", p.name(), p.description(),
                    p.transparent().enabled() ? " [transparent]" : "");
        }
        cl.getOut().flush();
        return 0;
    }
}
