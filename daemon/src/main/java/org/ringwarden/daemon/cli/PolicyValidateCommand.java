package org.ringwarden.daemon.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.ringwarden.daemon.admin.Counted;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.LoadResult;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code ringwarden policy validate [PATH...]}: exit 0 valid, 1 invalid, 2 usage error. With no
 * PATH it checks the set the other policy commands read: {@code --policies DIR}, else the
 * configured directory, else the bundled policies.
 */
@Command(name = "validate", mixinStandardHelpOptions = true,
        description = {"Check policy files or directories, as the daemon would load them together.",
                "With no PATH: the directory of --policies, else /etc/ringwarden/policies.d if it exists, else the "
                        + "policies bundled with ringwarden.",
                "Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage error."})
public final class PolicyValidateCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (a mixin)
    @Mixin
    PolicyCliOptions options;

    @Parameters(arity = "0..*", paramLabel = "PATH",
            description = "Policy files (*.json) or directories (default: --policies, else the configured directory).")
    List<Path> paths = new ArrayList<>();

    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (injected)
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        if (!paths.isEmpty() && options.policies != null) {
            throw new CommandLine.ParameterException(cl, "give either --policies DIR or PATHs, not both");
        }
        LoadResult r = paths.isEmpty() ? options.load() : options.loader().load(paths);
        List<String> names = r.policies().map(s -> s.all().stream().map(CompiledPolicy::name).toList()).orElse(List.of());
        if (options.json) {
            ObjectNode o = PolicyCliOptions.JSON.createObjectNode();
            if (paths.isEmpty()) {
                o.put("source", options.describeSource());
            }
            o.put("valid", r.ok());
            o.put("errors", r.errors().size());
            o.put("warnings", r.warnings().size());
            names.forEach(o.putArray("policies")::add);
            if (names.isEmpty()) {
                o.putArray("policies");
            }
            o.set("problems", PolicyCliOptions.problemsJson(r.problems()));
            PolicyCliOptions.printJson(cl.getOut(), o);
        } else {
            PolicyCliOptions.printProblems(cl.getErr(), r.problems());
            if (r.ok()) {
                cl.getOut().println("valid: " + Counted.of(names.size(), "policy", "policies")
                        + (names.isEmpty() ? "" : " (" + String.join(", ", names) + ")")
                        + (paths.isEmpty() ? " " + options.where() : "")
                        + (r.warnings().isEmpty() ? "" : ", " + r.warnings().size() + " warning(s)"));
            } else {
                cl.getOut().println("invalid: " + r.errors().size() + " error(s), " + r.warnings().size()
                        + " warning(s); nothing would be loaded");
            }
            cl.getOut().flush();
        }
        return r.ok() ? 0 : 1;
    }
}
