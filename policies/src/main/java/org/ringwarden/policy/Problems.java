package org.ringwarden.policy;

import java.util.ArrayList;
import java.util.List;

import org.ringwarden.policy.JsonTree.Location;
import org.ringwarden.policy.PolicyProblem.Severity;

/** Collects the problems of one file while it is read and checked. */
final class Problems {
    private final String file;
    private final List<PolicyProblem> list = new ArrayList<>();

    Problems(String file) {
        this.file = file;
    }

    String file() {
        return file;
    }

    void error(Location at, String path, ProblemCode code, String message, String suggestion) {
        add(Severity.ERROR, at, path, code, message, suggestion);
    }

    void warning(Location at, String path, ProblemCode code, String message, String suggestion) {
        add(Severity.WARNING, at, path, code, message, suggestion);
    }

    /** An error whose message gains "; did you mean `x`?" when there is a suggestion. */
    void unknown(Location at, String path, ProblemCode code, String message, String suggestion) {
        error(at, path, code, suggestion == null ? message : message + "; did you mean `" + suggestion + "`?", suggestion);
    }

    private void add(Severity s, Location at, String path, ProblemCode code, String message, String suggestion) {
        list.add(new PolicyProblem(file, at.line(), at.column(), path, s, code, message, suggestion));
    }

    boolean hasErrors() {
        return list.stream().anyMatch(PolicyProblem::isError);
    }

    List<PolicyProblem> all() {
        return List.copyOf(list);
    }
}
