package org.ringwarden.policy;

import java.util.List;
import java.util.Optional;

/**
 * What a load produced: the policy set when there was no error, and every problem found.
 * Loading is all-or-nothing: a single error anywhere leaves {@link #policies()} empty.
 *
 * @param policies the loaded set, present exactly when {@link #problems()} holds no error
 * @param problems errors and warnings, files in name order, then by position
 */
public record LoadResult(Optional<PolicySet> policies, List<PolicyProblem> problems) {
    public LoadResult {
        problems = List.copyOf(problems);
        if (policies.isPresent() && problems.stream().anyMatch(PolicyProblem::isError)) {
            throw new IllegalArgumentException("a load with errors cannot carry a policy set");
        }
    }

    public boolean ok() {
        return policies.isPresent();
    }

    public List<PolicyProblem> errors() {
        return problems.stream().filter(PolicyProblem::isError).toList();
    }

    public List<PolicyProblem> warnings() {
        return problems.stream().filter(p -> !p.isError()).toList();
    }

    /** The set, or a {@link PolicyException} carrying every problem. */
    public PolicySet orThrow() throws PolicyException {
        if (policies.isEmpty()) {
            throw new PolicyException(problems);
        }
        return policies.get();
    }
}
