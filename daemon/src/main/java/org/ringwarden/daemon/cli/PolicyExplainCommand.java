package org.ringwarden.daemon.cli;

import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.LoadResult;
import org.ringwarden.policy.PolicyExplainer;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code ringwarden policy explain NAME}: what a client can and cannot do, then the exact entries. */
@Command(name = "explain", mixinStandardHelpOptions = true,
        description = "Say in plain words what a client of a policy can and cannot do, then list the exact restriction entries.")
public final class PolicyExplainCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (a mixin)
    @Mixin
    PolicyCliOptions options;

    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (required)
    @Parameters(paramLabel = "NAME", description = "The policy's name.")
    String name;

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
        Optional<CompiledPolicy> found = PolicyShowCommand.find(cl, r.policies().orElseThrow(), name, options);
        if (found.isEmpty()) {
            return 1;
        }
        CompiledPolicy p = found.get();
        PolicyExplainer.Explanation e = PolicyExplainer.explain(p);
        if (options.json) {
            ObjectNode o = PolicyCliOptions.JSON.createObjectNode();
            o.put("name", p.name());
            o.put("source", options.describeSource());
            e.can().forEach(o.putArray("can")::add);
            e.cannot().forEach(o.putArray("cannot")::add);
            o.set("restrictions", PolicyJsonView.restrictions(p));
            PolicyCliOptions.printJson(cl.getOut(), o);
            return 0;
        }
        PrintWriter out = cl.getOut();
        out.println(p.name() + ": " + p.description());
        out.println("from the policies " + options.where());
        out.println();
        out.println("A client of this policy can:");
        e.can().forEach(s -> out.println("  + " + s));
        out.println();
        out.println("It cannot:");
        e.cannot().forEach(s -> out.println("  - " + s));
        out.println();
        out.println("Restriction entries registered with IORING_REGISTER_RESTRICTIONS (" + e.restrictions().size() + "):");
        e.restrictions().forEach(s -> out.println("  " + s));
        out.flush();
        return 0;
    }
}
