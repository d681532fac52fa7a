package org.ringwarden.policy;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The policy set could not be loaded: carries every problem found (errors and warnings), each
 * with its file, line, column and JSON path. This is the only exception the loader lets
 * escape on bad input; anything else is a bug.
 */
public final class PolicyException extends Exception {
    private final List<PolicyProblem> problems;

    public PolicyException(List<PolicyProblem> problems) {
        super(summary(problems));
        this.problems = List.copyOf(problems);
    }

    /** Every problem, in the order found (files in name order, then position in the file). */
    public List<PolicyProblem> problems() {
        return problems;
    }

    /** Only the errors. */
    public List<PolicyProblem> errors() {
        return problems.stream().filter(PolicyProblem::isError).toList();
    }

    private static String summary(List<PolicyProblem> problems) {
        long errors = problems.stream().filter(PolicyProblem::isError).count();
        return errors + " error(s) in policies:\n"
                + problems.stream().filter(PolicyProblem::isError).map(PolicyProblem::format).collect(Collectors.joining("\n"));
    }
}
